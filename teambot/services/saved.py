"""Saved profiles: a person keeps someone from a search card for later, sees them in
/saved (at most LIMIT at a time, the latest first), invites them from there or removes
them. Saving twice, or removing twice, changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from teambot.adapters.database import Connection, Database
from teambot.data import saved
from teambot.domain import SavedPerson, UserRow
from teambot.services.matching import visible_types

# one message: a line and a row of buttons each
LIMIT: Final = 20


class Saving(Enum):
    SAVED = "saved"
    ALREADY = "already"
    STALE = "stale"  # not one of my card references


@dataclass(frozen=True)
class SavedList:
    people: list[SavedPerson]
    more: int  # how many more there are past the list


async def save(database: Database, me: UserRow, ref: int) -> Saving:
    """Save the person on my search card `ref`."""
    added = await database.run(saved.save, me.id, ref)
    if added is None:
        return Saving.STALE
    return Saving.SAVED if added else Saving.ALREADY


def _listing(conn: Connection, me: UserRow) -> SavedList:
    people, total = saved.listed(conn, me.id, visible_types(me.user_type or ""), LIMIT)
    return SavedList(people, total - len(people))


async def listing(database: Database, me: UserRow) -> SavedList:
    """The people I saved who could be invited now: searching, neither banned nor deleted,
    of a kind I see (after a change of role, the others wait until it changes back)."""
    return await database.run(_listing, me)


@dataclass(frozen=True)
class Removed:
    removed: bool  # False: not on the list any more (removed before)
    listing: SavedList  # the list as it is now


def _remove(conn: Connection, me: UserRow, ref: int) -> Removed | None:
    removed = saved.remove(conn, me.id, ref)
    return None if removed is None else Removed(removed, _listing(conn, me))


async def remove(database: Database, me: UserRow, ref: int) -> Removed | None:
    """Take the person on my card `ref` off my list; None: not one of my card references."""
    return await database.run(_remove, me, ref)
