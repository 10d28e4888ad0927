"""Moderation rules: who may be banned, and what a ban or an unban changes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any

from teambot.adapters.database import Connection, Database
from teambot.data import invitations, moderation
from teambot.domain import LiveMessage
from teambot.services.teams import Departure, leave_for_good


class Outcome(Enum):
    DONE = "done"
    UNCHANGED = "unchanged"  # already banned / not banned
    NO_SUCH_USER = "no_such_user"
    REFUSED = "refused"  # admins cannot be banned


@dataclass(frozen=True)
class Banned:
    outcome: Outcome
    departure: Departure | None = None  # the team they owned (deleted) or were in (left)
    messages: tuple[LiveMessage, ...] = ()  # of their invitations the ban cancelled


def _ban(conn: Connection, user_id: int) -> Banned:
    changed = moderation.set_banned(conn, user_id, True)
    if not changed:
        return Banned(_outcome(changed))
    departure = leave_for_good(conn, user_id)
    messages = tuple(invitations.closed_messages_of(conn, user_id))
    return Banned(_outcome(changed), departure, messages)


async def ban(database: Database, user_id: int, admin_ids: Collection[int]) -> Banned:
    """A banned user disappears from search, their pending invitations are cancelled, their
    team is deleted (if they owned it) or left, and they are told once; everything they send
    afterwards is ignored."""
    if user_id in admin_ids:
        return Banned(Outcome.REFUSED)
    return await database.run(_ban, user_id)


async def unban(database: Database, user_id: int) -> Outcome:
    return _outcome(await database.run(moderation.set_banned, user_id, False))


def _outcome(changed: bool | None) -> Outcome:
    if changed is None:
        return Outcome.NO_SUCH_USER
    return Outcome.DONE if changed else Outcome.UNCHANGED


async def stats(database: Database) -> dict[str, Any]:
    return await database.run(moderation.stats)
