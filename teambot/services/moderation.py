"""Moderation rules: who may be banned, and what a ban or an unban changes."""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum
from typing import Any

from teambot.adapters.database import Database
from teambot.data import moderation


class Outcome(Enum):
    DONE = "done"
    UNCHANGED = "unchanged"  # already banned / not banned
    NO_SUCH_USER = "no_such_user"
    REFUSED = "refused"  # admins cannot be banned


async def ban(database: Database, user_id: int, admin_ids: Collection[int]) -> Outcome:
    """A banned user disappears from search, their pending invitations are cancelled, and
    they are told once; everything they send afterwards is ignored."""
    if user_id in admin_ids:
        return Outcome.REFUSED
    return _outcome(await database.run(moderation.set_banned, user_id, True))


async def unban(database: Database, user_id: int) -> Outcome:
    return _outcome(await database.run(moderation.set_banned, user_id, False))


def _outcome(changed: bool | None) -> Outcome:
    if changed is None:
        return Outcome.NO_SUCH_USER
    return Outcome.DONE if changed else Outcome.UNCHANGED


async def stats(database: Database) -> dict[str, Any]:
    return await database.run(moderation.stats)
