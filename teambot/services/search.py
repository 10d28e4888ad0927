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

What fits, and in which order: teambot/services/fit.py (the rules) and
teambot/data/search.py (the same in SQL). A search is a `Query`: the skill typed after
/search, the quick filters pressed (must-haves for this search), my must-haves relaxed for
it, and whether it looks at everyone or only at my current event's pool (the default while
I am in an event that has not ended). When nothing fits and a must-have of mine is why, the
empty answer names the one that leaves out most of the recently active (`blocker`), so the
person can search once without it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial

from teambot.adapters.database import Connection, Database
from teambot.data import search
from teambot.domain import Candidate, CardTarget, UserRow
from teambot.services import fit
from teambot.services.matching import visible_types
from teambot.services.moderation import Report, report_in


@dataclass(frozen=True)
class Query:
    """What a search asks for besides who I am (kept in the dialogue's state, so Next and
    Hide go on with it)."""

    skill: str | None = None
    filters: fit.Filters = field(default_factory=fit.Filters)
    everyone: bool = False  # everyone, though I am in an event (its pool is the default)


@dataclass(frozen=True)
class Shown:
    candidate: Candidate
    ref: int  # what the card's buttons carry instead of the candidate's Telegram id
    offset: int
    event: str | None = None  # my current event's name, if I am in one
    scoped: bool = False  # the card comes from that event's pool


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
    blocker: fit.Criterion | None = None  # my must-have that leaves out most, if one does
    event: str | None = None  # my current event's name, if I am in one
    scoped: bool = False  # the search looked at that event's pool only


def hint(me: UserRow) -> Hint:
    """The digest (teambot/data/matches.py) goes to searching people, about new profiles
    that have what they look for."""
    if not me.is_searching:
        return Hint.PAUSED
    if not me.looking_for:
        return Hint.ADD_WANTS
    return Hint.WAIT


def _card_at(
    conn: Connection, me: UserRow, query: Query, offset: int, shown_ref: int | None = None
) -> Shown | None:
    found = _find(conn, me, query, offset, shown_ref)
    if found is None:
        return None
    candidate = replace(found.candidate, reasons=tuple(fit.reasons(found.me, found.them)))
    return Shown(candidate, candidate.ref, offset, found.event_name, found.scoped)


def _find(
    conn: Connection, me: UserRow, query: Query, offset: int, shown_ref: int | None = None
) -> search.Found | None:
    return search.find(
        conn,
        me=me.id,
        skills=me.skills,
        wants=me.looking_for,
        types=visible_types(me.user_type or ""),
        skill=query.skill,
        offset=offset,
        shown_ref=shown_ref,
        filters=query.filters,
        everyone=query.everyone,
    )


def _page(conn: Connection, me: UserRow, query: Query, offset: int) -> Shown | Empty:
    shown = _card_at(conn, me, query, offset)
    if shown is None and offset > 0:  # the last one went (hidden, say): from the top again
        shown = _card_at(conn, me, query, 0)
    return _why_empty(conn, me, query) if shown is None else shown


async def page(database: Database, me: UserRow, query: Query, offset: int) -> Shown | Empty:
    """The card at `offset` of my ranking (from 0); past the end the first one; with nobody
    to show, why."""
    return await database.run(_page, me, query, offset)


class NoCard(Enum):
    STALE = "stale"  # not one of my card references
    END = "end"  # the card pressed was the last one


def _next_card(
    conn: Connection, me: UserRow, ref: int, query: Query, offset: int
) -> Shown | NoCard:
    try:  # the reference is checked with the ranking, in the same round trip
        return _card_at(conn, me, query, offset + 1, shown_ref=ref) or NoCard.END
    except search.ForeignCard:
        return NoCard.STALE


async def next_card(
    database: Database, me: UserRow, ref: int, query: Query, offset: int
) -> Shown | NoCard:
    """The card after mine at `offset`, for Next on my card `ref`."""
    return await database.run(_next_card, me, ref, query, offset)


def _why_empty(conn: Connection, me: UserRow, query: Query) -> Empty:
    types = visible_types(me.user_type or "")
    mine = search.seeker(conn, me.id)
    scoped = mine.event_id is not None and not query.everyone
    where = partial(Empty, event=mine.event_name, scoped=scoped)
    hidden, pending = search.count_left_out(conn, me=me.id, types=types, skill=query.skill)
    if hidden or pending:
        return where(Emptiness.LEFT_OUT, hint(me), hidden=hidden, pending=pending)
    if query.skill is not None:
        if _find(conn, me, replace(query, skill=None), 0) is not None:
            return where(Emptiness.FILTERED, hint(me))
        return _why_empty(conn, me, replace(query, skill=None))
    counts = search.blockers(
        conn,
        me=me.id,
        skills=me.skills,
        wants=me.looking_for,
        types=types,
        skill=query.skill,
        filters=query.filters,
    )
    blocker = max(counts, key=lambda criterion: counts[criterion], default=None)
    if blocker is not None and counts[blocker] == 0:
        blocker = None
    return where(Emptiness.NOBODY, hint(me), blocker=blocker)


async def target(database: Database, me: UserRow, ref: int) -> CardTarget | None:
    """The person behind one of my card references; None for anyone else's or a forged one."""
    return await database.run(search.card_target, me.id, ref)


def _hide(
    conn: Connection, me: UserRow, ref: int, query: Query, offset: int
) -> Shown | Empty | None:
    if search.hide(conn, me.id, ref) is None:
        return None
    return _page(conn, me, query, offset)  # the one hidden leaves: the next takes its place


async def hide(
    database: Database, me: UserRow, ref: int, query: Query, offset: int
) -> Shown | Empty | None:
    """Hide the person on my card `ref`; what the card shows now. None: not one of my card
    references."""
    return await database.run(_hide, me, ref, query, offset)


@dataclass(frozen=True)
class Reported:
    page: Shown | Empty  # what the card shows now
    report: Report | None  # for the moderators: my first report of them, of a live profile


def _report(
    conn: Connection,
    me: UserRow,
    ref: int,
    query: Query,
    offset: int,
    admin_ids: Collection[int],
) -> Reported | None:
    reported = search.report(conn, me.id, ref)
    if reported is None:
        return None
    person, first = reported
    report = report_in(conn, me.id, person, admin_ids) if first else None
    return Reported(_page(conn, me, query, offset), report)


async def report(
    database: Database,
    me: UserRow,
    ref: int,
    query: Query,
    offset: int,
    admin_ids: Collection[int],
) -> Reported | None:
    """Report and hide the person on my card `ref` (the moderators hear of my first report
    of them); None: not one of my card references."""
    return await database.run(_report, me, ref, query, offset, admin_ids)
