"""The ranked search: one candidate at a time, filtered and scored inside PostgreSQL.

The rules are teambot/services/fit.py's (its docstring states them; the tests compare this
module with it): must-haves filter both ways, quick filters and the skill filter narrow,
and candidates come in the order score desc, last active desc, id, where

    score = 2 × |their skills ∩ my wants| + |their wants ∩ my skills|
          + 2 × (my nice-to-haves they fit) − (1 when last active over 14 days ago).

The criteria are SQL functions (migration 0012, `fit_*`), inlined by the planner.

Freshness windows: the searching people are taken in windows of WINDOW (1 000) by recency
(users_search_recent_idx: the most recently active first); each window is ranked by score,
and the next window comes after it. So the order is (window, score desc, last active desc,
id), and a search reads one window of rows for the first cards, however many people there
are: ranking everyone by score costs a heap visit per visible person (0.6 s at a million,
measured), and no index can hand out the best scores of a sum of tag and preference fits.
At a hackathon's scale (a few thousand people) one window holds everyone: the order is the
score's. At a million the first window is the people active in the last minutes to hours,
the best of them first: fresh pools, as the issue asks. A search reaches REACH windows (the
50 000 most recently active) at most: at a million, one that nobody fits would otherwise
read everyone.

An event's pool is walked the same way, among its members: event_members_recent_idx
(migration 0020) gives them most recently active first, each member row carrying its
person's last_active (migration 0019's triggers copy it when a person joins and whenever it
changes), and each is read from users by key. Ranking a pool of ~2 900 whole read all of
them for every search (34 ms p95 at a million); a window reads 1 000.

With quick filters or a skill filter, the windows are counted among the people who pass
them. A skill of the curated list (teambot/services/skills.py) has an index of its own
(migration 0020: its holders, most recently active first), read as the recency index is
without a filter. Otherwise the walk reads their ids from an index of migration 0016 (one
that holds only those of a role focus, or of an hours band; or all of them with their work
mode and skills, tested in the index without a visit to the table), then ranks just those
rows, each read by key. Counting the windows among everyone instead, a restrictive filter
left a few eligible rows a window and the walk read (and tested) up to 50 000 table rows
for one card: 177 ms p95 at a million.
The reach is then the 50 000 most recently active of those who pass (with a skill, the
10 000 most recently active of its holders: SKILL_REACH says why). A test in the index
skips the table only on pages the visibility map marks all-visible (vacuumed since their
last change): the rows of people active since the last vacuum are read from the table, as
every row was before. A quick filter against a must-have of mine (a role focus I do not
want) shows nobody: the search ends before any walk.

Left out, read once per search (with my matching fields and my current event): the people
I hid, those I have a pending invitation with either way (they are in /invitations, not
new), my own team and its members. The total is what the windows read so far hold (exact
once the walk reaches the end, "+" when it stops at REACH), shown up to a cap (500, or the
next multiple of 500 past the offset) with "+" when there may be more.

The buttons under a card name it by a reference of mine (`search_cards`), never by the
person's Telegram id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Final

from teambot.adapters.database import Connection
from teambot.domain import MUST_HAVE, NICE_TO_HAVE, Candidate, CardTarget
from teambot.services.fit import (
    CRITERIA,
    NO_FILTERS,
    Criterion,
    Filters,
    Person,
    applies,
    contradicts,
    level,
)
from teambot.services.skills import CURATED

TOTAL_CAP: Final = 500
# the size of a freshness window: how many of the most recently active are ranked together
WINDOW: Final = 1000
# how many windows a search reaches at most: the 50 000 most recently active (at a million
# a search that nobody fits would otherwise read everyone, seconds of work)
REACH: Final = 50
# with a skill filter, the windows are of the skill's holders (one in nine people, often):
# 10 of them, the 10 000 most recently active holders, reach further back than the ~5 500
# holders among the 50 000 most recently active that REACH gave before (migration 0016),
# and bound a search nobody fits (a curated skill's window, from its own index, costs what
# a window of everyone does; a free tag's, twice as much: tested in an index, then by key)
SKILL_REACH: Final = 10

# the columns of a person the rules read (fit.Person's fields, but tags)
MATCHING = (
    "hours_per_week",
    "utc_offset",
    "work_mode",
    "city",
    "role_focus",
    "stage",
    "languages",
    "want_commitment",
    "want_time_zone",
    "time_zone_hours",
    "want_work_mode",
    "want_role",
    "wanted_roles",
    "want_stage",
    "wanted_stages",
    "want_language",
    "last_active",
)

_EXCLUDED = f"""
select array(select hidden_id from hidden_users where user_id = %(me)s) as hidden,
       array(select recipient_id from invitations where sender_id = %(me)s and status = 'pending'
             union all
             select sender_id from invitations where recipient_id = %(me)s and status = 'pending'
       ) as pending,
       array(select mate.user_id from team_members mine
             join team_members mate on mate.team_id = mine.team_id
             where mine.user_id = %(me)s) as team,
       exists(select from search_cards where id = %(ref)s and viewer_id = %(me)s) as ref_mine,
       {", ".join(f"me.{column}" for column in MATCHING)},
       ev.id as event_id, ev.name as event_name
from (select) one
left join users me on me.id = %(me)s
left join lateral (
    -- my current event: the most recently joined one that has not ended
    select e.id, e.name from event_members m join events e on e.id = m.event_id
    where m.user_id = %(me)s and e.ended_at is null and e.ends_on >= current_date
    order by m.joined_at desc, e.id desc limit 1) ev on true
"""


@dataclass(frozen=True)
class LeftOut:
    hidden: list[int]
    pending: list[int]  # a pending invitation either way
    team: list[int]  # my team: its owner (the team's card) and its members, me among them

    @property
    def all(self) -> list[int]:
        return [*self.hidden, *self.pending, *self.team]


@dataclass(frozen=True)
class Seeker:
    """Me, as my search reads me: who I leave out, my matching fields, my current event."""

    left_out: LeftOut
    person: Person
    event_id: int | None = None
    event_name: str | None = None


class ForeignCard(Exception):
    """The card reference a press carried is not one of the viewer's (forged, or not theirs)."""


def person_of(row: dict[str, Any], skills: list[str], wants: list[str]) -> Person:
    values = {column: row[column] for column in MATCHING if row.get(column) is not None}
    return Person(skills=tuple(skills), looking_for=tuple(wants), **values)


def seeker(
    conn: Connection,
    me: int,
    shown_ref: int | None = None,
    *,
    skills: list[str] = (),  # type: ignore[assignment]
    wants: list[str] = (),  # type: ignore[assignment]
) -> Seeker:
    """Who my search leaves out, my fields and my current event, in one round trip; with
    `shown_ref` (the card a press came from), ForeignCard unless it is one of mine."""
    row = conn.execute(_EXCLUDED, {"me": me, "ref": shown_ref}).fetchone()
    assert row is not None
    if shown_ref is not None and not row["ref_mine"]:
        raise ForeignCard(shown_ref)
    return Seeker(
        LeftOut(hidden=row["hidden"], pending=row["pending"], team=row["team"]),
        person_of(row, list(skills), list(wants)),
        row["event_id"],
        row["event_name"],
    )


def left_out(conn: Connection, me: int, shown_ref: int | None = None) -> LeftOut:
    """Who my search leaves out (see `seeker`)."""
    return seeker(conn, me, shown_ref).left_out


# the predicate of users_search_recent_idx
_RECENT = (
    "u.is_searching and u.deleted_at is null and not u.is_banned and u.registered_at is not null"
)


def _visible(skill: bool) -> str:
    """Who may be shown at all: searching, registered, of a type I see, not left out."""
    return (
        f"u.user_type = any(%(types)s::text[]) and {_RECENT}"
        " and u.unreachable_since is null"  # Telegram refused our last message to them
        " and u.id <> all(%(excluded)s::bigint[])"
        + (" and u.skills @> array[%(skill)s::text]" if skill else "")
    )


# criterion -> (does the candidate fit my side, do I fit the candidate's side)
_FITS: Final[dict[Criterion, tuple[str, str]]] = {
    "commitment": (
        "fit_commitment(%(my_hours)s::text, u.hours_per_week)",
        "fit_commitment(u.hours_per_week, %(my_hours)s::text)",
    ),
    "time_zone": (
        "fit_time_zone(%(my_offset)s::int, %(my_tz_hours)s::int, u.utc_offset)",
        "fit_time_zone(u.utc_offset, u.time_zone_hours, %(my_offset)s::int)",
    ),
    "work_mode": (
        "fit_work_mode(%(my_mode)s::text, %(my_city)s::text, u.work_mode, u.city)",
        "fit_work_mode(u.work_mode, u.city, %(my_mode)s::text, %(my_city)s::text)",
    ),
    "role": (
        "fit_one_of(%(my_roles)s::text[], u.role_focus)",
        "fit_one_of(u.wanted_roles, %(my_role)s::text)",
    ),
    "stage": (
        "fit_one_of(%(my_stages)s::text[], u.stage)",
        "fit_one_of(u.wanted_stages, %(my_stage)s::text)",
    ),
    "language": (
        "fit_language(%(my_languages)s::text[], u.languages)",
        "fit_language(u.languages, %(my_languages)s::text[])",
    ),
}
_LEVEL_COLUMN: Final[dict[Criterion, str]] = {
    "commitment": "want_commitment",
    "time_zone": "want_time_zone",
    "work_mode": "want_work_mode",
    "role": "want_role",
    "stage": "want_stage",
    "language": "want_language",
}


# the same, between two people's rows: {s} the seeker's alias, {o} the other's
_ROW_FITS: Final[dict[Criterion, str]] = {
    "commitment": "fit_commitment({s}.hours_per_week, {o}.hours_per_week)",
    "time_zone": "fit_time_zone({s}.utc_offset, {s}.time_zone_hours, {o}.utc_offset)",
    "work_mode": "fit_work_mode({s}.work_mode, {s}.city, {o}.work_mode, {o}.city)",
    "role": "fit_one_of({s}.wanted_roles, {o}.role_focus)",
    "stage": "fit_one_of({s}.wanted_stages, {o}.stage)",
    "language": "fit_language({s}.languages, {o}.languages)",
}


def must_haves_met(seeker: str, other: str) -> str:
    """SQL over two rows: `other` fails none of `seeker`'s must-haves (teambot/services/fit.py)."""
    return " and ".join(
        f"({seeker}.{_LEVEL_COLUMN[criterion]} < 2"
        f" or {fits.format(s=seeker, o=other)} is not false)"
        for criterion, fits in _ROW_FITS.items()
    )


def mutual() -> str:
    """I fit every must-have of theirs (one that applies to them)."""
    return " and ".join(
        f"(u.{_LEVEL_COLUMN[criterion]} < 2 or {theirs} is not false)"
        for criterion, (_, theirs) in _FITS.items()
    )


@dataclass(frozen=True)
class Shape:
    """What decides the statements of one search: how many wants and skills I have (each
    tag is a parameter of its own), my must-haves and nice-to-haves that apply, the skill
    filter and the quick filters."""

    wants: int
    skills: int
    skill: bool
    musts: tuple[Criterion, ...] = ()
    nices: tuple[Criterion, ...] = ()
    role: bool = False
    hours: bool = False
    remote: bool = False
    # the skill has an index of its own (migration 0020: one per curated skill)
    skill_index: bool = False


def shape_of(me: Person, skill: str | None, filters: Filters, *, wants: int, skills: int) -> Shape:
    return Shape(
        wants=wants,
        skills=skills,
        skill=skill is not None,
        musts=tuple(
            criterion
            for criterion in CRITERIA
            if level(me, criterion) == MUST_HAVE
            and applies(me, criterion)
            and criterion not in filters.relaxed
        ),
        nices=tuple(
            criterion
            for criterion in CRITERIA
            if level(me, criterion) == NICE_TO_HAVE and applies(me, criterion)
        ),
        role=filters.role is not None,
        hours=filters.hours is not None,
        remote=filters.remote,
        skill_index=skill in CURATED,
    )


def _passing(shape: Shape) -> str:
    """The quick filters and the skill filter: a must-have of theirs that the indexes of
    migration 0016 hold, so a walk reads only those who pass (or tests them in the index)."""
    parts = []
    if shape.role:
        parts.append("u.role_focus = %(f_role)s::text")
    if shape.hours:
        parts.append("u.hours_per_week = %(f_hours)s::text")
    if shape.remote:
        parts.append("u.work_mode in ('remote', 'either')")
    if shape.skill:
        parts.append("u.skills @> array[%(skill)s::text]")
    return " and ".join(parts) or "true"


def _eligible(shape: Shape, *, musts: bool = True) -> str:
    """Visible, the quick filters, my must-haves (unless `musts` is false) and mutual fit:
    the cheap and narrow tests first (`and` stops at the first false)."""
    parts = [_visible(shape.skill)]
    if shape.role:
        parts.append("u.role_focus = %(f_role)s::text")
    if shape.hours:
        parts.append("u.hours_per_week = %(f_hours)s::text")
    if shape.remote:
        parts.append("u.work_mode in ('remote', 'either')")
    if musts:
        parts += [_FITS[criterion][0] for criterion in shape.musts]
    return " and ".join([*parts, mutual()])


def _score(shape: Shape) -> str:
    """2 per want of mine among their skills + 1 per skill of mine among their wants + 2 per
    nice-to-have of mine they fit − 1 when stale."""
    have = " + ".join(f"(%(w{i})s::text = any(u.skills))::int" for i in range(shape.wants))
    want = " + ".join(f"(%(s{i})s::text = any(u.looking_for))::int" for i in range(shape.skills))
    nice = " + ".join(f"({_FITS[criterion][0]} is true)::int" for criterion in shape.nices)
    parts = [f"2 * ({have})" if have else "", want, f"2 * ({nice})" if nice else ""]
    fit = " + ".join(part for part in parts if part) or "0"
    return f"({fit} - (u.last_active < now() - interval '14 days')::int)"


def _older(active: str, key: str) -> str:
    """After the edge (the last row the windows read so far) in recency order."""
    return f"({active} < %(edge_active)s or ({active} = %(edge_active)s and {key} > %(edge_id)s))"


_OLDER = _older("u.last_active", "u.id")


@lru_cache(maxsize=512)
def queries(shape: Shape) -> dict[str, str]:
    """The statements for one shape of search."""
    eligible = _eligible(shape)
    score = _score(shape)
    # the score only of those who may be shown (a few in a window, often)
    ranked_row = f"""
        select u.id, u.last_active, case when {eligible} then {score} end as score,
               (row_number() over (order by u.last_active desc, u.id) - 1)
                   / %(window)s::bigint as win"""
    narrowed = shape.role or shape.hours  # an index of migration 0016 holds only those
    if (shape.skill and (narrowed or not shape.skill_index)) or (
        shape.remote and not narrowed and not shape.skill
    ):
        # a skill without an index of its own (a free tag), a skill beside a role focus or
        # an hours band, or remote alone: the windows are counted among those who pass the
        # filters, their ids in recency order first from an index of migration 0016 that
        # tests the filters itself (an index-only scan: no table visit for those who fail),
        # then the table rows of just those, by key, to rank them
        walked = f"""
            picked as materialized (
                select u.id from users u
                where {_RECENT} and {_passing(shape)} and {_OLDER}
                order by u.last_active desc, u.id limit %(window)s::bigint * %(windows)s::bigint),
            walked as materialized (
                {ranked_row}
                -- each by key (offset 0 keeps it a lookup per id: a join may choose to
                -- read the whole table when it guesses many ids)
                from picked p cross join lateral (
                    select * from users u where u.id = p.id offset 0) u)"""
    else:
        # no filter, a role focus or an hours band (an index of migration 0016 holds only
        # those), or a curated skill (its own index, migration 0020), in recency order: each
        # row the index gives is one of the window, read once; the other quick filters are
        # tested on the row, a few rows read for nothing
        walked = f"""
            walked as materialized (
                {ranked_row}
                from users u
                where {_RECENT} and {_passing(shape)} and {_OLDER}
                order by u.last_active desc, u.id limit %(window)s::bigint * %(windows)s::bigint)"""
    # an event's pool: its members in recency order from event_members_recent_idx (migration
    # 0020; each member row carries its person's last_active, 0019's triggers keep it), the
    # windows counted among those who pass the filters (tested on the row: a pool is small)
    event_walked = f"""
            walked as materialized (
                select u.id, m.last_active, case when {eligible} then {score} end as score,
                       (row_number() over (order by m.last_active desc, m.user_id) - 1)
                           / %(window)s::bigint as win
                from event_members m cross join lateral (
                    -- each by key, in the walk's order (offset 0 keeps it a lookup per
                    -- member: a join may read the whole table when the pool is a big
                    -- share of it, and lose the order)
                    select * from users u
                    where u.id = m.user_id and {_RECENT} and {_passing(shape)} offset 0) u
                where m.event_id = %(event)s and {_older("m.last_active", "m.user_id")}
                order by m.last_active desc, m.user_id
                limit %(window)s::bigint * %(windows)s::bigint)"""
    # `windows` freshness windows: the next `window` × `windows` most recently active (of
    # those who pass the filters) after the edge (the last row read before), how many of
    # them may be shown, and the one at `pos` in their order (window, score desc, last
    # active desc, id)
    pick = """,
            edge as (
                select count(*) as scanned, count(score) as eligible,
                       (array_agg(last_active order by last_active, id desc))[1] as edge_active,
                       (array_agg(id order by last_active, id desc))[1] as edge_id
                from walked)
            select edge.*, (select id from walked where score is not null
                            order by win, score desc, last_active desc, id
                            offset %(pos)s limit 1) as id
            from edge"""
    found = {"window": f"with {walked}{pick}", "event": f"with {event_walked}{pick}"}
    # the card, and the reference its buttons carry (made on first showing: `made` returns
    # it then, the select after it every time after)
    found["card"] = f"""
        with made as (
            insert into search_cards (viewer_id, candidate_id) values (%(me)s, %(id)s)
            on conflict (viewer_id, candidate_id) do nothing returning id)
        select (select id from made union all
                select id from search_cards where viewer_id = %(me)s and candidate_id = %(id)s
                limit 1) as ref,
               c.id, c.user_type, c.display_name, c.username, c.skills, c.looking_for,
               c.bio, c.links, t.name as team_name, t.description as team_description,
               {", ".join(f"c.{column}" for column in MATCHING)},
               array(select s from unnest(c.skills) with ordinality as x(s, n)
                     where s = any(%(wants)s::text[]) order by n) as they_have,
               array(select s from unnest(c.looking_for) with ordinality as x(s, n)
                     where s = any(%(skills)s::text[]) order by n) as they_want
        from users c left join teams t on t.owner_id = c.id
        where c.id = %(id)s"""
    # Of the most recently active who would be shown but for my must-haves: how many each
    # must-have of mine leaves out (the empty answer offers to search once without the one
    # that leaves out most).
    if shape.musts:
        counts = ", ".join(
            f"count(*) filter (where {_FITS[criterion][0]} is not true) as {criterion}"
            for criterion in shape.musts
        )
        found["blockers"] = f"""
            select {counts} from (
                select u.* from users u where {_eligible(shape, musts=False)}
                order by u.last_active desc, u.id limit %(window)s) u"""
    return found


@dataclass(frozen=True)
class Found:
    """A candidate, with what the reasons are made of: me and them as the rules see us."""

    candidate: Candidate
    me: Person
    them: Person
    event_name: str | None = None  # my current event's, if I am in one
    scoped: bool = False  # the pool searched was my event's
    path: str = "window 1"  # how it was found: in the n-th window ("event window n": a pool's)


@dataclass(frozen=True)
class Search:
    """What one search asks for, besides who I am."""

    skill: str | None = None
    filters: Filters = field(default_factory=Filters)
    everyone: bool = False  # everyone's pool, though I am in an event


def parameters(
    *,
    skills: list[str],
    wants: list[str],
    types: list[str],
    skill: str | None,
    excluded: list[int],
    me: Person | None = None,
    filters: Filters = NO_FILTERS,
) -> dict[str, Any]:
    """The values the statements of `queries` share (each of them adds its own)."""
    person = me or Person()
    return {
        "types": types,
        "skill": skill,
        "excluded": excluded,
        "my_hours": person.hours_per_week,
        "my_offset": person.utc_offset,
        "my_tz_hours": person.time_zone_hours,
        "my_mode": person.work_mode,
        "my_city": person.city,
        "my_roles": list(person.wanted_roles),
        "my_role": person.role_focus,
        "my_stages": list(person.wanted_stages),
        "my_stage": person.stage,
        "my_languages": list(person.languages),
        "f_role": filters.role,
        "f_hours": filters.hours,
        **{f"w{i}": tag for i, tag in enumerate(wants)},
        **{f"s{i}": tag for i, tag in enumerate(skills)},
    }


def find(
    conn: Connection,
    *,
    me: int,
    skills: list[str],
    wants: list[str],
    types: list[str],
    skill: str | None,
    offset: int,
    shown_ref: int | None = None,
    filters: Filters = NO_FILTERS,
    everyone: bool = False,
) -> Found | None:
    """The candidate at `offset` of my ranking, with the reference my card's buttons carry
    (made on first showing; `shown_ref`: see `seeker`), and me and them as the rules see us
    (for the reasons)."""
    skills, wants = list(dict.fromkeys(skills)), list(dict.fromkeys(wants))
    mine = seeker(conn, me, shown_ref, skills=skills, wants=wants)
    if contradicts(mine.person, filters):
        # nobody passes both: no walk through windows of people who all fail a must-have
        return None
    shape = shape_of(mine.person, skill, filters, wants=len(wants), skills=len(skills))
    statements = queries(shape)
    params = parameters(
        skills=skills,
        wants=wants,
        types=types,
        skill=skill,
        excluded=[*mine.left_out.all, me],
        me=mine.person,
        filters=filters,
    )
    event = None if everyone else mine.event_id

    def run(name: str, **extra: Any) -> list[dict[str, Any]]:
        # planned with the values every time: a generic plan cannot tell a rare tag from a
        # common one, which decides between the GIN index and the recency walk
        return conn.execute(statements[name], {**params, **extra}, prepare=False).fetchall()

    if event is not None:
        # an event's pool: REACH windows of its members (a pool is smaller, often)
        at, counted, end, path = _windows(partial(run, "event", event=event), offset, REACH)
        path = f"event {path}"
    else:
        walk = partial(run, "window")
        at, counted, end, path = _windows(walk, offset, SKILL_REACH if skill else REACH)
    if at is None:
        return None
    cap = TOTAL_CAP * (offset // TOTAL_CAP + 1)
    cards = run("card", id=at, wants=wants, skills=skills, me=me)
    if not cards:
        return None
    card = cards[0]
    them = person_of(card, card["skills"], card["looking_for"])
    fields = {name: card[name] for name in Candidate.__dataclass_fields__ if name in card}
    candidate = Candidate(**fields, total=min(counted, cap), more=counted > cap or not end)
    return Found(candidate, mine.person, them, mine.event_name, event is not None, path)


def _windows(run: Any, offset: int, reach: int) -> tuple[int | None, int, bool, str]:
    """The one at `offset`, window after window: its id (None past the end), how many the
    windows read so far may show, whether they reached the end, and how many windows were
    read. One window first (enough unless few may be shown to me), then as many as the
    share shown so far says the place needs (half as many again, at least one more; eight
    times as many when none was shown): a rare fit costs a few statements, not one per
    window, nor a batch far past the place."""
    pos, counted, edge_active, edge_id, read, windows = offset, 0, "infinity", 0, 0, 1
    while True:
        row = run(
            pos=pos,
            window=WINDOW,
            windows=windows,
            edge_active=edge_active,
            edge_id=edge_id,
        )[0]
        counted += row["eligible"]
        read += windows
        end = row["scanned"] < WINDOW * windows  # past the least recently active
        if row["id"] is not None or end or read >= reach:  # at the reach: "N+", not "N"
            return row["id"], counted, end, f"window {read}"
        pos -= row["eligible"]
        edge_active, edge_id = row["edge_active"], row["edge_id"]
        needed = math.ceil(1.5 * (pos + 1) * read / counted) if counted else 8 * windows
        windows = min(max(1, needed), reach - read)


def blockers(
    conn: Connection,
    *,
    me: int,
    skills: list[str],
    wants: list[str],
    types: list[str],
    skill: str | None,
    filters: Filters = NO_FILTERS,
) -> dict[Criterion, int]:
    """Of the most recently active who would be shown but for my must-haves, how many each
    of my must-haves leaves out (none: I have no must-have that applies)."""
    skills, wants = list(dict.fromkeys(skills)), list(dict.fromkeys(wants))
    mine = seeker(conn, me, skills=skills, wants=wants)
    shape = shape_of(mine.person, skill, filters, wants=len(wants), skills=len(skills))
    statement = queries(shape).get("blockers")
    if statement is None:
        return {}
    params = parameters(
        skills=skills,
        wants=wants,
        types=types,
        skill=skill,
        excluded=[*mine.left_out.all, me],
        me=mine.person,
        filters=filters,
    )
    row = conn.execute(statement, {**params, "window": WINDOW}, prepare=False).fetchone()
    assert row is not None
    return {criterion: int(row[criterion]) for criterion in shape.musts}


def count_left_out_sql(skill: bool) -> str:
    """Of the visible (`_visible`: the same rule as the ranking), those I hid or have a
    pending invitation with; `excluded` holds only my team and me here."""
    return f"""
        select count(*) filter (where u.id = any(%(hidden)s::bigint[])) as hidden,
               count(*) filter (where u.id <> all(%(hidden)s::bigint[])) as pending
        from users u
        where u.id = any(%(left_out)s::bigint[]) and {_visible(skill)}"""


def count_left_out(
    conn: Connection, *, me: int, types: list[str], skill: str | None
) -> tuple[int, int]:
    """Of those the search would show but leaves out: how many I hid, and how many have a
    pending invitation with me (someone both counts as hidden)."""
    mine = left_out(conn, me)
    row = conn.execute(
        count_left_out_sql(skill is not None),
        {
            "hidden": mine.hidden,
            "left_out": mine.hidden + mine.pending,
            "excluded": [*mine.team, me],
            "types": types,
            "skill": skill,
        },
    ).fetchone()
    assert row is not None
    return int(row["hidden"]), int(row["pending"])


_CARD_TARGET = """
select c.candidate_id as id,
       (u.is_searching and u.deleted_at is null and not u.is_banned
        and u.registered_at is not null) as available,
       p.sender_id is not null as pending,
       coalesce(p.sender_id = c.candidate_id, false) as theirs_pending,
       exists(select 1 from team_members mine
              join team_members theirs on theirs.team_id = mine.team_id
              where mine.user_id = c.viewer_id and theirs.user_id = c.candidate_id) as teammate
from search_cards c join users u on u.id = c.candidate_id
-- one pending invitation per pair at most (invitations_one_pending_per_pair_idx)
left join invitations p on p.status = 'pending'
     and least(p.sender_id, p.recipient_id) = least(c.viewer_id, c.candidate_id)
     and greatest(p.sender_id, p.recipient_id) = greatest(c.viewer_id, c.candidate_id)
where c.id = %(ref)s and c.viewer_id = %(viewer)s
"""


def card_target(conn: Connection, viewer: int, ref: int) -> CardTarget | None:
    """None unless `ref` is one of the viewer's own card references."""
    row = conn.execute(_CARD_TARGET, {"ref": ref, "viewer": viewer}).fetchone()
    return None if row is None else CardTarget(**row)


def hide(conn: Connection, viewer: int, ref: int) -> int | None:
    """Hide the person on one of the viewer's cards; their id, or None for a reference that
    is not the viewer's."""
    row = conn.execute(
        "insert into hidden_users (user_id, hidden_id)"
        " select viewer_id, candidate_id from search_cards where id = %s and viewer_id = %s"
        " on conflict (user_id, hidden_id) do update set hidden_id = excluded.hidden_id"
        " returning hidden_id",
        (ref, viewer),
    ).fetchone()
    return None if row is None else int(row["hidden_id"])


def report(conn: Connection, viewer: int, ref: int) -> tuple[int, bool] | None:
    """Report (and hide) the person on one of the viewer's cards: their id, and whether this
    is the viewer's first report of them; None for a reference that is not the viewer's."""
    reported = hide(conn, viewer, ref)
    if reported is None:
        return None
    cur = conn.execute(
        "insert into reports (reporter_id, reported_id) values (%s, %s) on conflict do nothing",
        (viewer, reported),
    )
    return reported, cur.rowcount == 1
