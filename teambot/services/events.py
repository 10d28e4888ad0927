"""Events: an organizer's cohort, hackathon or demo day, and its pool of people.

- An admin creates one (name, dates, an optional team size limit); its link is
  t.me/<bot>?start=ev_<slug>, the slug made from the name (Russian transliterated) and
  unique. Opening it puts a registered person into the event with one tap; a newcomer
  registers first and lands in it. A person may be in several events.
- An event is open until an organizer ends it or its last day has passed; an ended event
  takes nobody new and stops matching (search scopes to the current event elsewhere).
- **Auto-fill**: an organizer asks for teams for the people still without one. The bot
  groups them (`propose_groups`), asks everyone in a group, and forms the team only when
  all of them accept; one decline and the group does not form. Nobody is placed without
  saying yes. A group not all of whom answered within the invitations' time expires
  (`expire`, the cleanup job) and frees its people. Knows nothing of Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, auto

from teambot.adapters.database import Connection, Database
from teambot.data import events, users
from teambot.domain import MUST_HAVE, EventPerson, EventRow, TeamRow, UserRow
from teambot.services import teams as team_rules

LINK_PREFIX = "ev_"
MAX_NAME = 100
MAX_TEAM_SIZE = 50  # the schema's bounds for team_size_limit
MIN_TEAM_SIZE = 2
# a group's size when the event sets no limit: large enough for the usual mix of roles
DEFAULT_GROUP_SIZE = 4
LISTED = 10  # events an organizer sees in /events, the newest first

# the schema's slug: ^[a-z0-9][a-z0-9-]{2,40}$; room is kept for a "-N" to make it unique
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{2,40}")
_SLUG_BASE = 36
_RUSSIAN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", (
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
    "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
), strict=True))  # fmt: skip
_DATES = (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"))


class Refusal(Enum):
    GONE = auto()  # no such event (or proposal), or not one's own
    ENDED = auto()  # ended by an organizer or past its last day
    ALREADY = auto()  # done before: in the event already, ended already, answered already
    DECIDED = auto()  # the proposal's group formed or failed meanwhile
    NOBODY = auto()  # auto-fill found no group to propose
    EXPIRED = auto()  # the proposal's group went unanswered too long (`expire`)


# --- input: names, slugs, dates


def clean_name(raw: str) -> str | None:
    name = " ".join(raw.split())
    return name if 1 <= len(name) <= MAX_NAME else None


def slug_base(name: str) -> str:
    """The name in lower-case Latin letters, digits and hyphens (Russian transliterated,
    other letters dropped), at most _SLUG_BASE characters, at least three ("event" when
    nothing is left)."""
    latin = "".join(_RUSSIAN.get(char, char) for char in name.lower())
    words = re.findall(r"[a-z0-9]+", latin)
    base = ""
    for word in words:
        joined = f"{base}-{word}" if base else word
        if len(joined) > _SLUG_BASE:
            base = base or word[:_SLUG_BASE]
            break
        base = joined
    return base if len(base) >= 3 else (f"event-{base}" if base else "event")


def free_slug(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def slug_from_payload(payload: str) -> str | None:
    """The slug of a /start payload `ev_<slug>`: None when the payload is no event link,
    "" when it is one but malformed (no event has it)."""
    if not payload.startswith(LINK_PREFIX):
        return None
    slug = payload.removeprefix(LINK_PREFIX)
    return slug if _SLUG.fullmatch(slug) else ""


def parse_date(raw: str) -> date | None:
    """2026-12-10 or 10.12.2026; None for anything else, or a day that does not exist."""
    text = raw.strip()
    for number, pattern in enumerate(_DATES):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        parts = [int(part) for part in found.groups()]
        year, month, day = parts if number == 0 else parts[::-1]
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


# --- events


def _create(
    conn: Connection,
    user_id: int,
    name: str,
    starts_on: date,
    ends_on: date,
    team_size_limit: int | None,
) -> EventRow:
    base = slug_base(name)
    while True:
        slug = free_slug(base, events.slugs_like(conn, base))
        created = events.create(
            conn,
            slug=slug,
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            team_size_limit=team_size_limit,
            created_by=user_id,
        )
        if created is not None:  # else another organizer took the slug meanwhile
            return created


async def create(
    database: Database,
    user_id: int,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    team_size_limit: int | None,
) -> EventRow:
    if clean_name(name) != name or ends_on < starts_on:
        raise ValueError("event name or dates out of bounds")
    if team_size_limit is not None and not MIN_TEAM_SIZE <= team_size_limit <= MAX_TEAM_SIZE:
        raise ValueError("team size limit out of bounds")
    return await database.run(_create, user_id, name, starts_on, ends_on, team_size_limit)


async def listing(database: Database) -> list[EventRow]:
    """The newest events, each with its member count (for organizers)."""
    return await database.run(events.listing, LISTED)


async def mine(database: Database, user_id: int) -> list[EventRow]:
    """The events a person is in, the most recently joined first."""
    return await database.run(events.of_user, user_id)


def _end(conn: Connection, event_id: int) -> EventRow | Refusal:
    event = events.get(conn, event_id, lock=True)
    if event is None:
        return Refusal.GONE
    if event.ended_at is not None:
        return Refusal.ALREADY
    ended = events.end(conn, event_id)
    assert ended is not None  # its row is locked
    return ended


async def end(database: Database, event_id: int) -> EventRow | Refusal:
    """An organizer ends the event: it takes nobody new and stops matching."""
    return await database.run(_end, event_id)


@dataclass(frozen=True)
class LinkTarget:
    event: EventRow | None
    member: bool = False


async def link_target(database: Database, user_id: int, slug: str) -> LinkTarget:
    """Where an event link leads, without acting: the event, and whether they are in it."""
    if not slug:
        return LinkTarget(None)
    event, member = await database.run(events.with_membership, slug, user_id)
    return LinkTarget(event, member)


def _join(conn: Connection, user_id: int, event_id: int | None, slug: str) -> EventRow | Refusal:
    event = (
        events.get(conn, event_id)
        if event_id is not None
        else events.with_membership(conn, slug, user_id)[0]
        if slug
        else None
    )
    if event is None:
        return Refusal.GONE
    if not event.open:
        return Refusal.ENDED
    if not events.add_member(conn, event.id, user_id):
        return Refusal.ALREADY
    return event


async def join(database: Database, user_id: int, event_id: int) -> EventRow | Refusal:
    """A registered person joins an open event (the Join button)."""
    return await database.run(_join, user_id, event_id, "")


async def join_by_slug(database: Database, user_id: int, slug: str) -> EventRow | Refusal:
    """A newcomer who registered from an event's link lands in it."""
    return await database.run(_join, user_id, None, slug)


# --- auto-fill: the grouping rule


@dataclass(frozen=True)
class Group:
    """A proposed team: its people in order (a team's owner first), and the team they
    would join (None: a new one, founded by the first)."""

    members: tuple[int, ...]
    team_id: int | None = None


def _tags(values: Sequence[str]) -> set[str]:
    return {value.casefold() for value in values}


def _insists_on(a: EventPerson, b: EventPerson) -> bool:
    """Whether `b` meets every must-have of `a` that clearly applies to them: unknown
    values (a field left empty) never conflict."""
    role = b.role_focus
    if a.want_role == MUST_HAVE and a.wanted_roles and role and role not in a.wanted_roles:
        return False
    mine, theirs = a.utc_offset, b.utc_offset
    if a.want_time_zone == MUST_HAVE and mine is not None and theirs is not None:
        return abs(mine - theirs) <= a.time_zone_hours * 60 and _other_must_haves(a, b)
    return _other_must_haves(a, b)


def _other_must_haves(a: EventPerson, b: EventPerson) -> bool:
    if a.want_work_mode == MUST_HAVE and {a.work_mode, b.work_mode} == {"remote", "on_site"}:
        return False
    return not (
        a.want_language == MUST_HAVE
        and a.languages
        and b.languages
        and not set(a.languages) & set(b.languages)
    )


def compatible(a: EventPerson, b: EventPerson) -> bool:
    """Neither has a must-have the other fails."""
    return _insists_on(a, b) and _insists_on(b, a)


def propose_groups(people: Sequence[EventPerson], size_limit: int | None) -> list[Group]:
    """Greedy grouping of an event's people still without a team.

    - A group holds at most `size_limit` people (DEFAULT_GROUP_SIZE when the event sets
      none), counting the members a seed's team already has.
    - Seeds, in turn: first the owners of teams with room left, then everyone else, each in
      the order given (the longest in the event first). Owners are only seeds: they already
      have a team, so they are never added to another group.
    - The group's wants are what its people look for and none of them offers. The person
      added next is the one whose skills cover most of those wants (ties: whose own wants
      the group covers most, then the order given), provided they cover at least one,
      their role focus is not in the group yet (an empty one always differs), and they and
      every member meet each other's must-haves where those clearly apply (`compatible`:
      role, time zone, work mode, language; an empty field never conflicts).
    - A group that found nobody for its seed is not proposed; its seed may still join a
      later group. Each person is in at most one group.
    """
    capacity = size_limit or DEFAULT_GROUP_SIZE
    owners = [p for p in people if p.team_id is not None and p.team_members < capacity]
    loners = [_Tagged(p) for p in people if p.team_id is None]
    # who offers each skill and is still free: only they can cover a group's wants
    offering: dict[str, set[int]] = {}
    for position, candidate in enumerate(loners):
        for tag in candidate.skills:
            offering.setdefault(tag, set()).add(position)
    positions = {candidate.person.id: position for position, candidate in enumerate(loners)}
    placed: set[int] = set()
    groups: list[Group] = []
    for seed in [*map(_Tagged, owners), *loners]:
        if seed.person.id in placed:
            continue
        group = [seed]
        room = capacity - (seed.person.team_members if seed.person.team_id is not None else 1)
        while room > 0:
            added = _best_addition(group, loners, offering, placed)
            if added is None:
                break
            group.append(added)
            room -= 1
        if len(group) > 1:
            groups.append(Group(tuple(t.person.id for t in group), seed.person.team_id))
            for taken in group:
                placed.add(taken.person.id)
                for tag in taken.skills:
                    offering.get(tag, set()).discard(positions.get(taken.person.id, -1))
    return groups


class _Tagged:
    """A person with their tags as sets, compared case-insensitively."""

    def __init__(self, person: EventPerson) -> None:
        self.person = person
        self.skills = _tags(person.skills)
        self.wants = _tags(person.looking_for)


def _best_addition(
    group: list[_Tagged], loners: list[_Tagged], offering: dict[str, set[int]], placed: set[int]
) -> _Tagged | None:
    offered = set().union(*(t.skills for t in group))
    wants = set().union(*(t.wants for t in group)) - offered
    roles = {t.person.role_focus for t in group if t.person.role_focus is not None}
    inside = {t.person.id for t in group}
    best: _Tagged | None = None
    best_key = (0, 0, 0)  # what they cover, what covers them, then the earlier the better
    for position in {p for tag in wants for p in offering.get(tag, ())}:
        candidate = loners[position]
        person = candidate.person
        if person.id in placed or person.id in inside:
            continue
        if person.role_focus is not None and person.role_focus in roles:
            continue
        key = (len(candidate.skills & wants), len(candidate.wants & offered), -position)
        if key > best_key and all(compatible(person, t.person) for t in group):
            best, best_key = candidate, key
    return best


# --- auto-fill: proposing, answering


@dataclass(frozen=True)
class Proposed:
    """One group as its members read it."""

    proposal_id: int
    number: int
    members: list[UserRow]


@dataclass(frozen=True)
class Autofill:
    event: EventRow
    run: int
    groups: list[Proposed]
    counts: dict[str, int]  # for the organizer's report (data.events.run_counts)


def _autofill(conn: Connection, organizer_id: int, event_id: int) -> Autofill | Refusal:
    event = events.get(conn, event_id, lock=True)  # two organizers at once: one run each
    if event is None:
        return Refusal.GONE
    if not event.open:
        return Refusal.ENDED
    people = events.pool(conn, event_id)
    groups = propose_groups(people, event.team_size_limit)
    if not groups:
        return Refusal.NOBODY
    placed = sum(len(group.members) for group in groups)
    run, proposals = events.start_autofill(
        conn,
        event_id,
        organizer_id,
        [(g.team_id, list(g.members)) for g in groups],
        len(people) - placed,
    )
    rows = users.get_many(conn, [person for g in groups for person in g.members])
    proposed = [
        Proposed(proposal, number, [rows[person] for person in group.members])
        for number, (proposal, group) in enumerate(zip(proposals, groups, strict=True), 1)
    ]
    return Autofill(event, run, proposed, events.run_counts(conn, run))


async def autofill(database: Database, organizer_id: int, event_id: int) -> Autofill | Refusal:
    """Group the event's people still without a team and record the proposals (the
    router sends them, then `remember_messages`)."""
    return await database.run(_autofill, organizer_id, event_id)


async def remember_messages(
    database: Database, run: int, report: int | None, shown: list[tuple[int, int, int]]
) -> None:
    """The organizer's report message, and each (proposal, person, message) sent."""
    await database.run(events.remember_messages, run, report, shown)


@dataclass(frozen=True)
class Report:
    """How a run stands, for the organizer's report message."""

    organizer: UserRow | None
    message_id: int | None
    event: EventRow
    counts: dict[str, int]


@dataclass(frozen=True)
class Answered:
    """What one answer did to its group: still waiting, formed (the team) or failed
    (`declined`: someone said no; else someone was no longer free)."""

    actor: UserRow
    accepted: bool
    event: EventRow
    number: int
    status: str  # pending, formed, failed
    members: list[UserRow]
    messages: dict[int, int] = field(default_factory=dict)  # person → their proposal message
    team: TeamRow | None = None
    report: Report | None = None


def _answer(conn: Connection, user_id: int, proposal_id: int, accept: bool) -> Answered | Refusal:
    proposal = events.lock_proposal(conn, proposal_id)
    rows = events.proposal_members(conn, proposal_id) if proposal else []
    mine = next((row for row in rows if row["user_id"] == user_id), None)
    if proposal is None or mine is None:
        return Refusal.GONE
    if mine["answer"] != "pending":
        return Refusal.ALREADY
    if proposal["status"] == "expired":
        return Refusal.EXPIRED
    if proposal["status"] != "pending":
        return Refusal.DECIDED
    event = events.get(conn, proposal["event_id"])
    if event is None:
        return Refusal.GONE
    if not event.open:  # an ended event forms no more teams; its proposals hold nobody
        return Refusal.ENDED
    events.set_answer(conn, proposal_id, user_id, "accepted" if accept else "declined")
    answers = {row["user_id"]: row["answer"] for row in rows} | {
        user_id: "accepted" if accept else "declined"
    }
    ids = [int(row["user_id"]) for row in rows]
    organizer_id = proposal["organizer_id"]
    people = users.get_many(conn, [*ids, *([organizer_id] if organizer_id else [])])
    status, team = "pending", None
    if not accept:
        status = "failed"
    elif all(answer == "accepted" for answer in answers.values()):
        # an account deleted or banned since it accepted is no teammate
        here = all(i in people and people[i].registered and not people[i].is_banned for i in ids)
        name = f"{event.name} · {proposal['number']}"
        if here:
            team = team_rules.form_in(conn, ids, proposal["team_id"], name, event.team_size_limit)
        status = "formed" if team is not None else "failed"
    if status != "pending":
        events.decide(conn, proposal_id, status, team.id if team else None)
    organizer = people.get(organizer_id) if organizer_id else None
    report = Report(
        organizer,
        proposal["report_message_id"],
        event,
        events.run_counts(conn, proposal["autofill_id"]),
    )
    return Answered(
        actor=people[user_id],
        accepted=accept,
        event=event,
        number=int(proposal["number"]),
        status=status,
        members=[people[i] for i in ids if i in people],
        messages={
            int(row["user_id"]): int(row["message_id"])
            for row in rows
            if row["message_id"] is not None
        },
        team=team,
        report=report,
    )


async def answer(
    database: Database, user_id: int, proposal_id: int, *, accept: bool
) -> Answered | Refusal:
    """A proposed member accepts or declines. The group's row is locked, so answers run
    one after the other: the last acceptance forms the team (services.teams.form_in), the
    first decline fails the group; a second press is refused (ALREADY, DECIDED), and so
    is any press once the event has ended (ENDED)."""
    return await database.run(_answer, user_id, proposal_id, accept)


@dataclass(frozen=True)
class ExpiredGroup:
    """A group nobody finished answering in time, as its members read it."""

    proposal_id: int
    event: EventRow
    number: int
    members: list[UserRow]
    messages: dict[int, int]  # person → their proposal message


@dataclass(frozen=True)
class Expiry:
    """One batch of expired groups, and the reports of their runs as they stand now."""

    groups: list[ExpiredGroup]
    reports: list[Report]


def expire(conn: Connection, hours: int, batch: int) -> Expiry:
    """One batch of groups still unanswered `hours` after their run (the invitations'
    time) dissolved: their people are free for the next auto-fill, their messages are to be
    closed, their runs' reports to be brought up to date."""
    due = events.expire_due(conn, hours, batch)
    if not due:
        return Expiry([], [])
    members = {int(row["id"]): events.proposal_members(conn, int(row["id"])) for row in due}
    ids = {int(m["user_id"]) for rows in members.values() for m in rows}
    organizers = {int(row["organizer_id"]) for row in due if row["organizer_id"] is not None}
    people = users.get_many(conn, [*ids, *organizers])
    found = {int(row["event_id"]): events.get(conn, int(row["event_id"])) for row in due}
    groups: list[ExpiredGroup] = []
    runs: dict[int, Report] = {}
    for row in due:
        event = found[int(row["event_id"])]
        if event is None:
            continue
        rows = members[int(row["id"])]
        groups.append(
            ExpiredGroup(
                int(row["id"]),
                event,
                int(row["number"]),
                [people[int(m["user_id"])] for m in rows if int(m["user_id"]) in people],
                {int(m["user_id"]): int(m["message_id"]) for m in rows if m["message_id"]},
            )
        )
        run, organizer = int(row["autofill_id"]), row["organizer_id"]
        if run not in runs:
            runs[run] = Report(
                people.get(int(organizer)) if organizer is not None else None,
                row["report_message_id"],
                event,
                events.run_counts(conn, run),
            )
    return Expiry(groups, list(runs.values()))
