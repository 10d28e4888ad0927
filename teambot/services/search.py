"""Search rules: the card at a place in my ranking, what its buttons may still do, and why
a search came back empty (so the answer can fit the person's state).

Who is left out, and why (teambot/data/search.py does it in SQL):
- myself, my own team and the people in it: there is nothing to ask them;
- people I hid;
- people I have a pending invitation with, either way. They are skipped rather than shown
  marked "waiting": a search is for finding someone new, the pending ones are listed in
  /invitations with what can be done about them (cancel, accept, decline), and a card that
  can only say "still waiting" would take a place in the list every time. When nobody else
  is left, the empty answer says that the ones who fit are waiting (or hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from teambot.adapters.database import Connection, Database
from teambot.data import search
from teambot.domain import Candidate, CardTarget, UserRow
from teambot.services.matching import visible_types


@dataclass(frozen=True)
class Shown:
    candidate: Candidate
    ref: int  # what the card's buttons carry instead of the candidate's Telegram id
    offset: int


class Hint(Enum):
    """What a person with no (more) matches can do next, as things stand for them."""

    WAIT = "wait"  # the daily digest tells them when someone new matches what they look for
    ADD_WANTS = "add_wants"  # no digest without looking-for tags: add some in /profile
    PAUSED = "paused"  # no digest while their own search is paused


class Emptiness(Enum):
    FILTERED = "filtered"  # nobody has that skill, but there are others without the filter
    LEFT_OUT = "left_out"  # everyone who fits is hidden or has a pending invitation with me
    NOBODY = "nobody"  # nobody who fits is searching right now


@dataclass(frozen=True)
class Empty:
    why: Emptiness
    hint: Hint
    hidden: int = 0
    pending: int = 0


def hint(me: UserRow) -> Hint:
    """The digest (teambot/data/matches.py) goes to searching people, about new profiles
    that have what they look for."""
    if not me.is_searching:
        return Hint.PAUSED
    if not me.looking_for:
        return Hint.ADD_WANTS
    return Hint.WAIT


def _card_at(
    conn: Connection, me: UserRow, skill: str | None, offset: int, shown_ref: int | None = None
) -> Shown | None:
    candidate = _ranked(conn, me, skill, offset, shown_ref)
    if candidate is None:
        return None
    return Shown(candidate, candidate.ref, offset)


def _ranked(
    conn: Connection, me: UserRow, skill: str | None, offset: int, shown_ref: int | None = None
) -> Candidate | None:
    return search.ranked(
        conn,
        me=me.id,
        skills=me.skills,
        wants=me.looking_for,
        types=visible_types(me.user_type or ""),
        skill=skill,
        offset=offset,
        shown_ref=shown_ref,
    )


async def card_at(database: Database, me: UserRow, skill: str | None, offset: int) -> Shown | None:
    """The card at `offset` of my ranking (from 0), or None past the end."""
    return await database.run(_card_at, me, skill, offset)


def _why_empty(conn: Connection, me: UserRow, skill: str | None) -> Empty:
    types = visible_types(me.user_type or "")
    hidden, pending = search.count_left_out(conn, me=me.id, types=types, skill=skill)
    if hidden or pending:
        return Empty(Emptiness.LEFT_OUT, hint(me), hidden=hidden, pending=pending)
    if skill is not None:
        if _ranked(conn, me, None, 0) is not None:
            return Empty(Emptiness.FILTERED, hint(me))
        return _why_empty(conn, me, None)
    return Empty(Emptiness.NOBODY, hint(me))


async def why_empty(database: Database, me: UserRow, skill: str | None) -> Empty:
    """Why the search (with `skill`, or without) has nobody to show."""
    return await database.run(_why_empty, me, skill)


async def target(database: Database, me: UserRow, ref: int) -> CardTarget | None:
    """The person behind one of my card references; None for anyone else's or a forged one."""
    return await database.run(search.card_target, me.id, ref)


async def hide(database: Database, me: UserRow, ref: int) -> bool:
    """False: not one of my card references."""
    return await database.run(search.hide, me.id, ref) is not None


async def report(database: Database, me: UserRow, ref: int) -> tuple[int, bool] | None:
    """Report and hide the person on my card: their id and whether it is my first report of
    them (the moderators hear once); None: not one of my card references."""
    return await database.run(search.report, me.id, ref)
