"""The SQL ranking (teambot/data/search.py) against the plain-Python rules
(teambot/services/fit.py): random people with random fields, preferences and tags, several
searchers, with and without quick filters, a relaxed must-have and a skill filter; the whole
order is compared, with everyone in one freshness window and across several."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.data import search
from teambot.domain import HOURS_PER_WEEK, ROLE_FOCUSES, STAGES, WORK_MODES
from teambot.services import fit
from teambot.services.matching import visible_types

TAGS = ["python", "ml", "go", "design", "sales", "law", "rust", "ops"]
CITIES = ["Berlin", "berlin", "Paris", None]
LANGUAGES = ["en", "ru", "de"]


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as connection:
        yield connection


@pytest.fixture(params=[(2000, 50), (25, 50), (7, 50), (7, 9)])
def window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """One window for everyone (a hackathon's scale), or several (a million's, in small),
    and a reach short of everyone."""
    size, reach = request.param
    monkeypatch.setattr(search, "WINDOW", size)
    monkeypatch.setattr(search, "REACH", reach)
    # a skill's holders are reached less far (one window, where the reach is short)
    monkeypatch.setattr(search, "SKILL_REACH", max(1, reach // 5))
    return size, reach


def maybe(rng: random.Random, value: Any, filled: float = 0.7) -> Any:
    return value if rng.random() < filled else None


def random_person(rng: random.Random, now: datetime) -> tuple[str, fit.Person]:
    user_type = rng.choice(["participant", "cofounder", "team"])
    base = rng.randrange(len(TAGS))
    skills = list(dict.fromkeys(TAGS[(base + rng.choice([0, 1, 3])) % 8] for _ in range(2)))
    # whole hours or days apart, never near the 14-day edge of staleness
    days = rng.choice([0, 0, 1, 2, 5, 9, 20, 25])
    person = fit.Person(
        skills=tuple(skills),
        looking_for=tuple(rng.sample(TAGS, rng.choice([0, 1, 2]))),
        hours_per_week=maybe(rng, rng.choice(HOURS_PER_WEEK)),
        utc_offset=maybe(rng, rng.choice([-300, 0, 60, 120, 180, 330])),
        work_mode=maybe(rng, rng.choice(WORK_MODES)),
        city=maybe(rng, rng.choice(CITIES)),
        role_focus=maybe(rng, rng.choice(ROLE_FOCUSES)),
        stage=maybe(rng, rng.choice(STAGES)),
        languages=tuple(rng.sample(LANGUAGES, rng.choice([0, 1, 1, 2]))),
        want_commitment=rng.choice([0, 0, 1, 2]),
        want_time_zone=rng.choice([0, 0, 1, 2]),
        time_zone_hours=rng.choice([0, 1, 3]),
        want_work_mode=rng.choice([0, 0, 1, 2]),
        want_role=rng.choice([0, 1, 2]),
        wanted_roles=tuple(rng.sample(ROLE_FOCUSES, rng.choice([0, 1, 2]))),
        want_stage=rng.choice([0, 0, 1, 2]),
        wanted_stages=tuple(rng.sample(STAGES, rng.choice([0, 1, 2]))),
        want_language=rng.choice([0, 0, 1, 2]),
        last_active=now - timedelta(days=days, hours=rng.choice([0, 1, 2, 3])),
    )
    return user_type, person


def insert(
    conn: psycopg.Connection[dict[str, Any]], user_id: int, user_type: str, p: fit.Person
) -> None:
    conn.execute(
        """
        insert into users (id, display_name, user_type, skills, looking_for, last_active,
                           is_searching, registered_at, hours_per_week, utc_offset, work_mode,
                           city, role_focus, stage, languages, want_commitment, want_time_zone,
                           time_zone_hours, want_work_mode, want_role, wanted_roles, want_stage,
                           wanted_stages, want_language)
        values (%s, %s, %s, %s, %s, %s, true, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                %s, %s, %s, %s, %s, %s)
        """,
        (
            user_id,
            f"user {user_id}",
            user_type,
            list(p.skills),
            list(p.looking_for),
            p.last_active,
            p.hours_per_week,
            p.utc_offset,
            p.work_mode,
            p.city,
            p.role_focus,
            p.stage,
            list(p.languages),
            p.want_commitment,
            p.want_time_zone,
            p.time_zone_hours,
            p.want_work_mode,
            p.want_role,
            list(p.wanted_roles),
            p.want_stage,
            list(p.wanted_stages),
            p.want_language,
        ),
    )


def browse(
    conn: psycopg.Connection[dict[str, Any]],
    me: int,
    user_type: str,
    person: fit.Person,
    skill: str | None,
    filters: fit.Filters,
) -> list[int]:
    seen = []
    for offset in range(300):
        found = search.find(
            conn,
            me=me,
            skills=list(person.skills),
            wants=list(person.looking_for),
            types=visible_types(user_type),
            skill=skill,
            offset=offset,
            filters=filters,
        )
        if found is None:
            break
        seen.append(found.candidate.id)
    return seen


def test_the_sql_ranking_is_the_plain_python_sort(
    conn: psycopg.Connection[dict[str, Any]], window: tuple[int, int]
) -> None:
    rng = random.Random(12)
    now = datetime.now(UTC)
    people = {user_id: random_person(rng, now) for user_id in range(1, 121)}
    for user_id, (user_type, person) in people.items():
        insert(conn, user_id, user_type, person)
    searching = {user_id: person for user_id, (_, person) in people.items()}
    searches = [
        fit.Filters(),
        fit.Filters(role="technical"),
        fit.Filters(remote=True, hours="full_time"),
        fit.Filters(hours="20_40"),
        fit.Filters(remote=True),
        fit.Filters(role="business", remote=True),
        fit.Filters(relaxed=frozenset({"commitment", "role"})),
    ]
    compared = 0
    for me in range(1, 9):
        my_type, mine = people[me]
        for filters in searches:
            for skill in (None, "python"):
                expected = fit.ranking(
                    mine,
                    searching,
                    now,
                    window=window[0],
                    reach=search.SKILL_REACH if skill else window[1],
                    filters=filters,
                    skill=skill,
                    visible=lambda user_id: (
                        user_id != me  # noqa: B023
                        and people[user_id][0] in visible_types(my_type)  # noqa: B023
                    ),
                )
                assert browse(conn, me, my_type, mine, skill, filters) == expected, (
                    me,
                    filters,
                    skill,
                )
                compared += len(expected)
    assert compared > 300  # the searches were not (nearly) empty


def test_an_event_pool_is_ranked_by_the_same_rules(
    conn: psycopg.Connection[dict[str, Any]], window: tuple[int, int]
) -> None:
    """In an event, the search walks its members' freshness windows (their recency kept on
    the member rows by migration 0019's triggers, also when it changes after they joined):
    the same order as the Python rules over the pool."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    people = {user_id: random_person(rng, now) for user_id in range(1, 121)}
    for user_id, (user_type, person) in people.items():
        insert(conn, user_id, user_type, person)
    members = {user_id for user_id in people if user_id % 4 != 0}
    event = conn.execute(
        "insert into events (slug, name, starts_on, ends_on)"
        " values ('demo', 'Demo', current_date, current_date + 1) returning id"
    ).fetchone()
    assert event is not None
    conn.execute(
        "insert into event_members (event_id, user_id) select %s, unnest(%s::bigint[])",
        (event["id"], sorted(members)),
    )
    # active again after joining: their member rows follow (a few move to the first window)
    for user_id in range(5, 121, 7):
        user_type, person = people[user_id]
        people[user_id] = (user_type, replace_(person, last_active=now - timedelta(minutes=5)))
        conn.execute(
            "update users set last_active = %s where id = %s",
            (people[user_id][1].last_active, user_id),
        )
    stale = conn.execute(
        "select count(*) as n from event_members m join users u on u.id = m.user_id"
        " where m.last_active is distinct from u.last_active"
    ).fetchone()
    assert stale == {"n": 0}
    searching = {user_id: person for user_id, (_, person) in people.items()}
    compared = 0
    for me in sorted(members)[:12]:
        my_type, mine = people[me]
        for filters in (fit.Filters(), fit.Filters(role="technical"), fit.Filters(remote=True)):
            for skill in (None, "python"):
                expected = fit.ranking(
                    mine,
                    searching,
                    now,
                    window=window[0],
                    reach=window[1],  # an event's pool: REACH windows, with a skill too
                    filters=filters,
                    skill=skill,
                    pool=members,
                    visible=lambda user_id: (
                        user_id != me  # noqa: B023
                        and people[user_id][0] in visible_types(my_type)  # noqa: B023
                    ),
                )
                assert browse(conn, me, my_type, mine, skill, filters) == expected, (
                    me,
                    filters,
                    skill,
                )
                compared += len(expected)
    assert compared > 120  # the searches were not (nearly) empty


def test_the_rules() -> None:
    """The rules as the issue states them, one example each."""
    me = fit.Person(
        hours_per_week="20_40",
        utc_offset=180,
        time_zone_hours=1,
        work_mode="on_site",
        city="Berlin",
        role_focus="design",
        wanted_roles=("technical",),
        languages=("ru",),
        want_commitment=2,
        want_time_zone=1,
    )
    other = fit.Person(
        hours_per_week="full_time", utc_offset=120, work_mode="either", city="BERLIN"
    )
    assert fit.fits(me, other, "commitment") and fit.fits(me, other, "time_zone")
    assert fit.fits(me, other, "work_mode")  # on site in the same city, whatever the case
    assert fit.fits(me, other, "role") is False  # no role focus of theirs: no fit
    assert fit.fits(me, replace_(other, role_focus="technical"), "role")
    assert not fit.fits(me, replace_(other, hours_per_week="under_10"), "commitment")  # 2 steps
    assert not fit.fits(me, replace_(other, utc_offset=60), "time_zone")  # 2 h, I allow 1
    assert fit.fits(fit.Person(), other, "commitment") is None  # my side says nothing
    assert fit.shown(me, other)
    assert not fit.shown(me, replace_(other, hours_per_week=None))  # a must-have unfilled
    # mutual: their must-have language, which I do not speak
    assert not fit.shown(me, replace_(other, languages=("en",), want_language=2))
    # a nice-to-have counts like a tag I look for: 2; stale costs 1
    now = datetime.now(UTC)
    assert fit.score(me, other, now) == 2
    assert fit.score(me, replace_(other, last_active=now - timedelta(days=15)), now) == 1
    reasons = fit.reasons(me, replace_(other, wanted_roles=("design",), want_role=1))
    assert [reason.code for reason in reasons] == ["hours", "time_zone", "needs_you"]


def test_a_quick_filter_against_a_must_have_finds_nobody() -> None:
    """The search skips its walk then: the rules show nobody, whoever is searching."""
    me = fit.Person(want_role=2, wanted_roles=("design",), hours_per_week="20_40")
    assert fit.contradicts(me, fit.Filters(role="technical"))
    assert not fit.contradicts(me, fit.Filters(role="design"))
    assert not fit.contradicts(me, fit.Filters(role="technical", relaxed=frozenset({"role"})))
    picky = replace_(me, want_commitment=2)
    assert fit.contradicts(picky, fit.Filters(hours="under_10"))  # two bands from mine
    assert not fit.contradicts(picky, fit.Filters(hours="full_time"))
    assert not fit.contradicts(fit.Person(), fit.Filters(role="technical", hours="under_10"))
    other = fit.Person(role_focus="technical", hours_per_week="under_10")
    assert not fit.shown(me, other, fit.Filters(role="technical"))


def replace_(person: fit.Person, **changes: Any) -> fit.Person:
    from dataclasses import replace

    return replace(person, **changes)
