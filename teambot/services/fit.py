"""The matching rules, in plain Python: who may be shown to whom, in which order, and why.

teambot/data/search.py implements the same rules in SQL (the ranking must run in PostgreSQL
through indexes); this module is the reference the tests compare it with, and what the
card's reasons are computed from. No Telegram, no SQL.

Six criteria, each with a level of the seeker's: 0 don't care, 1 nice to have, 2 must-have.

- commitment: the hours-a-week bands (under 10, 10–20, 20–40, full time) are at most one
  step apart;
- time zone: |their UTC offset − mine| ≤ my `time_zone_hours`;
- work mode: both can work remotely (remote or either), or both can work on site (on site
  or either) in the same city (case-insensitive);
- role: their role focus is one of my wanted roles;
- stage: their stage is one of my wanted stages;
- language: we share a language.

A criterion applies only when my own side says something: my hours, my offset, my work
mode (on site needs a city), my wanted roles, my wanted stages, my languages. A preference
about nothing (a must-have role with no role named) counts as don't care. A field the
*other* person has not filled fails a must-have and scores nothing as a nice-to-have.

Must-haves filter, both ways: a candidate is shown to me only when they fit my must-haves
and I fit theirs (mutual fit). Quick filters (/search buttons) are must-haves for one
search: their role focus, their hours band, remote (they can work remotely).

Score (higher first) = 2 × |their skills ∩ what I look for|
                     + 1 × |what they look for ∩ my skills|      (the tag overlap, as before)
                     + 2 × (my nice-to-haves they fit)            (each counts like a tag they
                                                                   have that I look for)
                     − 1 when they were last active more than 14 days ago (STALE_DAYS).
Ties: the most recently active first, then the smaller id. So a stale profile ranks below a
fresh one with the same fit, and below a fresh one half a tag-match worse.

Freshness windows (`ranking`): everyone searching is taken in windows of `window` people by
recency, most recent first; the order is window by window, each ranked as above, as far as
`reach` windows. With quick filters or a skill filter, the windows are counted among those
who pass them (whatever else keeps them from me: type, must-haves, hidden): a filter narrows
the walk, it does not thin each window out. In an event's pool, the windows are counted
among its members the same way (the pool is "everyone searching" then). At a few thousand
people one window holds all of them; at a million the best of the most recently active
come first (teambot/data/search.py says why it is so).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from teambot.domain import HOURS_PER_WEEK, MUST_HAVE, NICE_TO_HAVE, Reason

Criterion = Literal["commitment", "time_zone", "work_mode", "role", "stage", "language"]
CRITERIA: Final[tuple[Criterion, ...]] = (
    "commitment",
    "time_zone",
    "work_mode",
    "role",
    "stage",
    "language",
)
STALE_DAYS: Final = 14
TAG_HAVE, TAG_WANT, NICE = 2, 1, 2  # the score's weights


@dataclass(frozen=True)
class Person:
    """What the rules read of a person: their fields and their preferences."""

    skills: Sequence[str] = ()
    looking_for: Sequence[str] = ()
    hours_per_week: str | None = None
    utc_offset: int | None = None  # minutes east of UTC
    work_mode: str | None = None
    city: str | None = None
    role_focus: str | None = None
    stage: str | None = None
    languages: Sequence[str] = ()
    want_commitment: int = 0
    want_time_zone: int = 0
    time_zone_hours: int = 3
    want_work_mode: int = 0
    want_role: int = 0
    wanted_roles: Sequence[str] = ()
    want_stage: int = 0
    wanted_stages: Sequence[str] = ()
    want_language: int = 0
    last_active: datetime | None = None


@dataclass(frozen=True)
class Filters:
    """Quick filters: must-haves for one search, on top of the saved preferences."""

    role: str | None = None  # their role focus
    hours: str | None = None  # their hours band
    remote: bool = False  # they can work remotely
    relaxed: frozenset[Criterion] = field(default_factory=frozenset)  # my must-haves dropped


NO_FILTERS: Final = Filters()


def level(person: Person, criterion: Criterion) -> int:
    return {
        "commitment": person.want_commitment,
        "time_zone": person.want_time_zone,
        "work_mode": person.want_work_mode,
        "role": person.want_role,
        "stage": person.want_stage,
        "language": person.want_language,
    }[criterion]


def near_hours(band: str | None) -> list[str]:
    """The bands at most one step from `band` (itself included)."""
    if band not in HOURS_PER_WEEK:
        return []
    at = HOURS_PER_WEEK.index(band)
    return list(HOURS_PER_WEEK[max(0, at - 1) : at + 2])


def can_remote(person: Person) -> bool:
    return person.work_mode in ("remote", "either")


def site_city(person: Person) -> str | None:
    """The city they can work on site in (lower case), if any."""
    if person.work_mode in ("on_site", "either") and person.city:
        return person.city.lower()
    return None


def applies(seeker: Person, criterion: Criterion) -> bool:
    """Whether the seeker's own side of a criterion says something to compare with."""
    match criterion:
        case "commitment":
            return seeker.hours_per_week in HOURS_PER_WEEK
        case "time_zone":
            return seeker.utc_offset is not None
        case "work_mode":
            return can_remote(seeker) or site_city(seeker) is not None
        case "role":
            return bool(seeker.wanted_roles)
        case "stage":
            return bool(seeker.wanted_stages)
        case "language":
            return bool(seeker.languages)


def fits(seeker: Person, other: Person, criterion: Criterion) -> bool | None:
    """Whether `other` fits the seeker's criterion; None when it does not apply."""
    if not applies(seeker, criterion):
        return None
    match criterion:
        case "commitment":
            return other.hours_per_week in near_hours(seeker.hours_per_week)
        case "time_zone":
            assert seeker.utc_offset is not None
            return (
                other.utc_offset is not None
                and abs(other.utc_offset - seeker.utc_offset) <= seeker.time_zone_hours * 60
            )
        case "work_mode":
            city = site_city(seeker)
            return (can_remote(seeker) and can_remote(other)) or (
                city is not None and site_city(other) == city
            )
        case "role":
            return other.role_focus in seeker.wanted_roles
        case "stage":
            return other.stage in seeker.wanted_stages
        case "language":
            return bool(set(seeker.languages) & set(other.languages))


def passes(seeker: Person, other: Person, relaxed: frozenset[Criterion] = frozenset()) -> bool:
    """`other` fails none of the seeker's must-haves (but those relaxed)."""
    return all(
        fits(seeker, other, criterion) is not False
        for criterion in CRITERIA
        if level(seeker, criterion) == MUST_HAVE and criterion not in relaxed
    )


def filtered(other: Person, filters: Filters) -> bool:
    return (
        (filters.role is None or other.role_focus == filters.role)
        and (filters.hours is None or other.hours_per_week == filters.hours)
        and (not filters.remote or can_remote(other))
    )


def contradicts(me: Person, filters: Filters) -> bool:
    """A quick filter that nobody who fits my must-haves passes (a role focus I do not
    want, an hours band too far from mine): the search is empty, whoever is searching."""

    def must(criterion: Criterion) -> bool:
        return (
            level(me, criterion) == MUST_HAVE
            and applies(me, criterion)
            and criterion not in filters.relaxed
        )

    return (filters.role is not None and must("role") and filters.role not in me.wanted_roles) or (
        filters.hours is not None
        and must("commitment")
        and filters.hours not in near_hours(me.hours_per_week)
    )


def shown(me: Person, other: Person, filters: Filters = NO_FILTERS) -> bool:
    """Mutual fit: they fit my must-haves and the quick filters, and I fit theirs."""
    return passes(me, other, filters.relaxed) and passes(other, me) and filtered(other, filters)


def stale(other: Person, now: datetime) -> bool:
    return other.last_active is not None and other.last_active < now - timedelta(days=STALE_DAYS)


def score(me: Person, other: Person, now: datetime) -> int:
    tags = TAG_HAVE * len(set(other.skills) & set(me.looking_for)) + TAG_WANT * len(
        set(other.looking_for) & set(me.skills)
    )
    nice = sum(
        1
        for criterion in CRITERIA
        if level(me, criterion) == NICE_TO_HAVE and fits(me, other, criterion)
    )
    return tags + NICE * nice - int(stale(other, now))


def order_key(me: Person, other: Person, other_id: int, now: datetime) -> tuple[int, float, int]:
    """Sort ascending by this: score desc, last active desc, id."""
    active = other.last_active.timestamp() if other.last_active else 0.0
    return (-score(me, other, now), -active, other_id)


def reasons(me: Person, other: Person, limit: int = 3) -> list[Reason]:
    """At most `limit` reasons, strongest first: my preferences they fit (must-haves, then
    nice-to-haves) and the tags they have that I look for weigh 2 each; their preferences
    I fit and the tags they look for that I have, 1."""
    found: list[Reason] = []
    for criterion in CRITERIA:
        if level(me, criterion) and fits(me, other, criterion):
            found.append(_reason(me, other, criterion, 2 + level(me, criterion)))
    have = [tag for tag in other.skills if tag in me.looking_for]
    if have:
        found.append(Reason("they_have", ", ".join(have), TAG_HAVE * len(have)))
    if other.want_role and me.role_focus and me.role_focus in other.wanted_roles:
        found.append(Reason("needs_you", me.role_focus, 1 + other.want_role))
    want = [tag for tag in other.looking_for if tag in me.skills]
    if want:
        found.append(Reason("they_want", ", ".join(want), TAG_WANT * len(want)))
    # sorted is stable: equal weights keep the order above
    return sorted(found, key=lambda reason: -reason.weight)[:limit]


def _reason(me: Person, other: Person, criterion: Criterion, weight: int) -> Reason:
    match criterion:
        case "commitment":
            assert other.hours_per_week is not None
            same = other.hours_per_week == me.hours_per_week
            return Reason("both_hours" if same else "hours", other.hours_per_week, weight)
        case "time_zone":
            assert other.utc_offset is not None and me.utc_offset is not None
            hours = abs(other.utc_offset - me.utc_offset) / 60
            return Reason("time_zone", f"{hours:g}", weight)
        case "work_mode":
            if can_remote(me) and can_remote(other):
                return Reason("both_remote", "", weight)
            return Reason("same_city", other.city or "", weight)
        case "role":
            return Reason("role", other.role_focus or "", weight)
        case "stage":
            return Reason("stage", other.stage or "", weight)
        case "language":
            shared = [code for code in other.languages if code in me.languages]
            return Reason("language", ", ".join(shared), weight)


def ranking(
    me: Person,
    searching: dict[int, Person],
    now: datetime,
    *,
    window: int,
    reach: int,
    visible: Callable[[int], bool],
    filters: Filters = NO_FILTERS,
    skill: str | None = None,
    pool: Collection[int] | None = None,
) -> list[int]:
    """My whole search, in order: of `searching` (everyone searching, also those I do not
    see: they take places in the windows), those `visible` to me and `shown` to me. With
    quick filters or a skill filter, only those who pass them take places in the windows;
    with a `pool` (an event's members), only its members."""

    def recency(person_id: int) -> tuple[float, int]:
        active = searching[person_id].last_active
        return (-(active.timestamp() if active else 0.0), person_id)

    walked = [
        person_id
        for person_id, other in searching.items()
        if filtered(other, filters)
        and (skill is None or skill in other.skills)
        and (pool is None or person_id in pool)
    ]
    place = {person_id: at // window for at, person_id in enumerate(sorted(walked, key=recency))}
    return sorted(
        (
            person_id
            for person_id, other in searching.items()
            if person_id in place
            and place[person_id] < reach
            and visible(person_id)
            and shown(me, other, filters)
        ),
        key=lambda person_id: (
            place[person_id],
            *order_key(me, searching[person_id], person_id, now),
        ),
    )
