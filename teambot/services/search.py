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

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from teambot.adapters.database import Connection, Database
from teambot.data import search
from teambot.domain import Candidate, CardTarget, UserRow
from teambot.services.matching import visible_types
from teambot.services.moderation import Report, report_in


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


def _page(conn: Connection, me: UserRow, skill: str | None, offset: int) -> Shown | Empty:
    shown = _card_at(conn, me, skill, offset)
    if shown is None and offset > 0:  # the last one went (hidden, say): from the top again
        shown = _card_at(conn, me, skill, 0)
    return _why_empty(conn, me, skill) if shown is None else shown


async def page(database: Database, me: UserRow, skill: str | None, offset: int) -> Shown | Empty:
    """The card at `offset` of my ranking (from 0); past the end the first one; with nobody
    to show, why."""
    return await database.run(_page, me, skill, offset)


class NoCard(Enum):
    STALE = "stale"  # not one of my card references
    END = "end"  # the card pressed was the last one


def _next_card(
    conn: Connection, me: UserRow, ref: int, skill: str | None, offset: int
) -> Shown | NoCard:
    try:  # the reference is checked with the ranking, in the same round trip
        return _card_at(conn, me, skill, offset + 1, shown_ref=ref) or NoCard.END
    except search.ForeignCard:
        return NoCard.STALE


async def next_card(
    database: Database, me: UserRow, ref: int, skill: str | None, offset: int
) -> Shown | NoCard:
    """The card after mine at `offset`, for Next on my card `ref`."""
    return await database.run(_next_card, me, ref, skill, offset)


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


async def target(database: Database, me: UserRow, ref: int) -> CardTarget | None:
    """The person behind one of my card references; None for anyone else's or a forged one."""
    return await database.run(search.card_target, me.id, ref)


def _hide(
    conn: Connection, me: UserRow, ref: int, skill: str | None, offset: int
) -> Shown | Empty | None:
    if search.hide(conn, me.id, ref) is None:
        return None
    return _page(conn, me, skill, offset)  # the one hidden leaves: the next takes its place


async def hide(
    database: Database, me: UserRow, ref: int, skill: str | None, offset: int
) -> Shown | Empty | None:
    """Hide the person on my card `ref`; what the card shows now. None: not one of my card
    references."""
    return await database.run(_hide, me, ref, skill, offset)


@dataclass(frozen=True)
class Reported:
    page: Shown | Empty  # what the card shows now
    report: Report | None  # for the moderators: my first report of them, of a live profile


def _report(
    conn: Connection,
    me: UserRow,
    ref: int,
    skill: str | None,
    offset: int,
    admin_ids: Collection[int],
) -> Reported | None:
    reported = search.report(conn, me.id, ref)
    if reported is None:
        return None
    person, first = reported
    report = report_in(conn, me.id, person, admin_ids) if first else None
    return Reported(_page(conn, me, skill, offset), report)


async def report(
    database: Database,
    me: UserRow,
    ref: int,
    skill: str | None,
    offset: int,
    admin_ids: Collection[int],
) -> Reported | None:
    """Report and hide the person on my card `ref` (the moderators hear of my first report
    of them); None: not one of my card references."""
    return await database.run(_report, me, ref, skill, offset, admin_ids)
