"""The ranked search at the data layer: the exact order (score, then recency, then id) across
the levels it is built from, who is left out, paging past the overlapping candidates into the
rest, the skill filter and the capped total; and on the card, "N of 500+"."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from teambot.config import Settings
from teambot.data import search
from teambot.services.matching import visible_types
from tests.conftest import running
from tests.fake_telegram import FakeTelegram

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
ME = 1


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as connection:
        yield connection


@pytest.fixture
def walk() -> None:
    """Everyone here is in one freshness window (teambot/data/search.py), so the order is
    the score's; tests/test_ranking.py compares several windows with the rules."""


def add(
    conn: psycopg.Connection[dict[str, Any]],
    user_id: int,
    user_type: str,
    skills: list[str],
    wants: list[str],
    hours: float = 0,
    **flags: Any,
) -> None:
    values = {
        "is_searching": True,
        "is_banned": False,
        "registered_at": NOW,
        "deleted_at": None,
        **flags,
    }
    conn.execute(
        "insert into users (id, display_name, user_type, skills, looking_for, last_active,"
        " is_searching, is_banned, registered_at, deleted_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            user_id,
            f"user {user_id}",
            user_type,
            skills,
            wants,
            NOW - timedelta(hours=hours),
            values["is_searching"],
            values["is_banned"],
            values["registered_at"],
            values["deleted_at"],
        ),
    )


def invite(
    conn: psycopg.Connection[dict[str, Any]], sender: int, recipient: int, status: str
) -> None:
    conn.execute(
        "insert into invitations (sender_id, recipient_id, kind, status, expires_at)"
        " values (%s, %s, 'connect', %s, now() + interval '1 day')",
        (sender, recipient, status),
    )


def hide(conn: psycopg.Connection[dict[str, Any]], user_id: int, hidden_id: int) -> None:
    conn.execute(
        "insert into hidden_users (user_id, hidden_id) values (%s, %s)", (user_id, hidden_id)
    )


def browse(
    conn: psycopg.Connection[dict[str, Any]],
    *,
    me: int = ME,
    user_type: str = "team",
    skills: list[str],
    wants: list[str],
    skill: str | None = None,
    limit: int = 100,
) -> list[search.Candidate]:
    """Next, Next, Next... until the search runs out."""
    seen = []
    for offset in range(limit):
        found = search.find(
            conn,
            me=me,
            skills=skills,
            wants=wants,
            types=visible_types(user_type),
            skill=skill,
            offset=offset,
        )
        if found is None:
            break
        seen.append(found.candidate)
    return seen


MY_SKILLS = ["design", "sales"]
MY_WANTS = ["python", "ml"]


@pytest.fixture
def people(conn: psycopg.Connection[dict[str, Any]]) -> None:
    add(conn, ME, "team", MY_SKILLS, MY_WANTS)
    # score = 2 × (their skills ∩ my wants) + (their wants ∩ my skills)
    add(conn, 10, "participant", ["ml", "go", "python"], ["sales", "design"], hours=9)  # 6
    add(conn, 11, "cofounder", ["python"], ["design", "sales"], hours=8)  # 4
    add(conn, 12, "participant", ["ml"], ["sales"], hours=1)  # 3
    add(conn, 13, "participant", ["python"], [], hours=2)  # 2
    add(conn, 14, "participant", ["go"], ["design", "sales"], hours=1)  # 2, more recent
    add(conn, 15, "participant", ["go"], ["sales"], hours=0.5)  # 1
    add(conn, 16, "participant", ["go"], ["law"], hours=0)  # 0, the most recent
    add(conn, 17, "cofounder", ["rust"], [], hours=5)  # 0
    add(conn, 18, "participant", [], [], hours=6)  # 0, a tie broken by id
    add(conn, 19, "participant", [], [], hours=6)  # 0
    # left out
    add(conn, 20, "team", ["python"], ["design"])  # teams don't see teams
    add(conn, 21, "participant", ["python"], ["design"], deleted_at=NOW)
    add(conn, 22, "participant", ["python"], ["design"], is_banned=True)
    add(conn, 23, "participant", ["python"], ["design"], registered_at=None)
    add(conn, 24, "participant", ["python"], ["design"], is_searching=False)
    add(conn, 25, "participant", ["python"], ["design"])  # I hid them
    add(conn, 26, "participant", ["python"], ["design"])  # my invitation is pending
    add(conn, 27, "cofounder", ["python"], ["design"])  # theirs to me is pending
    # still shown: an answered invitation, and someone who hid me (hiding is one way)
    add(conn, 28, "participant", ["ml"], [], hours=3)  # 2
    add(conn, 29, "participant", [], ["design"], hours=7)  # 1
    # my team's members: a participant and a co-founder who would match
    add(conn, 30, "participant", ["python", "ml"], ["design"])
    add(conn, 31, "cofounder", ["python"], ["sales"])
    hide(conn, ME, 25)
    hide(conn, 29, ME)
    invite(conn, ME, 26, "pending")
    invite(conn, 27, ME, "pending")
    invite(conn, ME, 28, "declined")
    team_of(conn, ME, 30, 31)


def team_of(conn: psycopg.Connection[dict[str, Any]], owner: int, *members: int) -> None:
    row = conn.execute(
        "insert into teams (owner_id, name) values (%s, %s) returning id", (owner, f"t{owner}")
    ).fetchone()
    assert row is not None
    for user_id in (owner, *members):
        conn.execute(
            "insert into team_members (team_id, user_id) values (%s, %s)", (row["id"], user_id)
        )


ORDER = [10, 11, 12, 14, 13, 28, 15, 29, 16, 17, 18, 19]


@pytest.mark.usefixtures("people", "walk")
def test_order_exclusions_and_paging_into_the_rest(
    conn: psycopg.Connection[dict[str, Any]],
) -> None:
    seen = browse(conn, skills=MY_SKILLS, wants=MY_WANTS)
    assert [c.id for c in seen] == ORDER
    assert {c.total for c in seen} == {len(ORDER)}
    assert not any(c.more for c in seen)
    first = seen[0]
    # in the order of the candidate's own arrays
    assert (first.they_have, first.they_want) == (["ml", "python"], ["sales", "design"])
    rest = {c.id: (c.they_have, c.they_want) for c in seen}
    assert rest[14] == ([], ["design", "sales"])
    assert rest[16] == ([], [])


@pytest.mark.usefixtures("people", "walk")
def test_my_own_team_and_its_members_are_left_out(
    conn: psycopg.Connection[dict[str, Any]],
) -> None:
    # a member sees other teams, not their own (team 1, whose member they are)
    member = browse(conn, me=30, user_type="participant", skills=["python"], wants=["design"])
    assert [c.id for c in member] == [20]
    # a co-founder in the team: other co-founders and teams, not the team nor its members
    cofounder = browse(conn, me=31, user_type="cofounder", skills=["python"], wants=["sales"])
    assert {c.id for c in cofounder} == {11, 17, 20, 27}
    assert {c.total for c in cofounder} == {4}
    # and the team's owner does not see its members (test_order_... has the whole order)
    owner = browse(conn, skills=MY_SKILLS, wants=MY_WANTS)
    assert not {30, 31} & {c.id for c in owner}


@pytest.mark.usefixtures("people", "walk")
def test_the_skill_filter(conn: psycopg.Connection[dict[str, Any]]) -> None:
    # a skill I look for: everyone left overlaps
    wanted = browse(conn, skills=MY_SKILLS, wants=MY_WANTS, skill="python")
    assert [c.id for c in wanted] == [10, 11, 13]
    # another skill: the overlapping ones first, then the rest by recency
    other = browse(conn, skills=MY_SKILLS, wants=MY_WANTS, skill="go")
    assert [c.id for c in other] == [10, 14, 15, 16]
    assert {c.total for c in other} == {4}
    assert browse(conn, skills=MY_SKILLS, wants=MY_WANTS, skill="cobol") == []


@pytest.mark.usefixtures("people", "walk")
def test_no_tags_of_my_own_means_by_recency(conn: psycopg.Connection[dict[str, Any]]) -> None:
    seen = browse(conn, skills=[], wants=[])
    by_recency = [16, 15, 12, 14, 13, 28, 17, 18, 19, 29, 11, 10]
    assert [c.id for c in seen] == by_recency
    # skills only: two of them wanted is score 2, one is 1
    seen = browse(conn, skills=MY_SKILLS, wants=[])
    assert [c.id for c in seen] == [14, 11, 10, 15, 12, 29, 16, 13, 28, 17, 18, 19]


@pytest.mark.usefixtures("people")
def test_the_total_is_counted_up_to_a_cap(
    conn: psycopg.Connection[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "TOTAL_CAP", 5)
    seen = browse(conn, skills=MY_SKILLS, wants=MY_WANTS)
    assert [c.id for c in seen] == ORDER  # the cap changes the count, not who is shown
    # 12 candidates, counted up to 5, then 10, then 15 as the offset passes each cap
    assert [(c.total, c.more) for c in seen] == [(5, True)] * 5 + [(10, True)] * 5 + [
        (12, False)
    ] * 2


@pytest.mark.usefixtures("walk")
def test_the_order_is_a_plain_sort_of_everyone(conn: psycopg.Connection[dict[str, Any]]) -> None:
    """Random people, tags that go together, ties in recency, hides and invitations: the
    levels give exactly what scoring and sorting everyone would."""
    rng = random.Random(7)
    tags = ["python", "ml", "go", "design", "sales", "law", "rust", "ops"]
    people: dict[int, dict[str, Any]] = {}
    for user_id in range(1, 161):
        user_type = rng.choice(["participant", "cofounder", "team"])
        base = rng.randrange(len(tags))  # neighbouring tags often go together
        skills = list(dict.fromkeys(tags[(base + rng.choice([0, 1, 3])) % 8] for _ in range(3)))
        wants = rng.sample(tags, rng.choice([0, 1, 1, 2, 3]))
        flags = {
            "is_searching": rng.random() > 0.1,
            "is_banned": rng.random() < 0.03,
            "deleted_at": NOW if rng.random() < 0.03 else None,
            "registered_at": NOW if rng.random() > 0.05 else None,
        }
        hours = rng.choice([0, 1, 2, 2, 3, 5, 8])  # many ties
        add(conn, user_id, user_type, skills, wants, hours=hours, **flags)
        people[user_id] = {"type": user_type, "skills": skills, "wants": wants, "hours": hours}
        people[user_id].update(flags)
    searchers = [1, 2, 3, 4, 5, 6]
    left_out: dict[int, set[int]] = {me: {me} for me in searchers}
    # teams with members: a searcher's own team and teammates are left out
    free = [user_id for user_id, p in people.items() if p["type"] != "team"]
    rng.shuffle(free)
    for owner in [user_id for user_id, p in people.items() if p["type"] == "team"][:15]:
        members = [free.pop() for _ in range(rng.randint(0, 3))]
        team_of(conn, owner, *members)
        for me in {owner, *members} & set(searchers):
            left_out[me] |= {owner, *members}
    for me in searchers:
        for other in rng.sample(range(1, 161), 12):
            if other == me or other in left_out[me]:
                continue
            match rng.choice(["hide", "hidden by", "sent", "received", "answered"]):
                case "hide":
                    hide(conn, me, other)
                    left_out[me].add(other)
                case "hidden by":
                    hide(conn, other, me)
                case "sent" if other not in searchers:
                    invite(conn, me, other, "pending")
                    left_out[me].add(other)
                case "received" if other not in searchers:
                    invite(conn, other, me, "pending")
                    left_out[me].add(other)
                case _:
                    invite(conn, me, other, "declined")

    def expected(me: int, skill: str | None) -> list[int]:
        mine = people[me]
        shown = [
            user_id
            for user_id, p in people.items()
            if p["type"] in visible_types(mine["type"])
            and p["is_searching"]
            and not p["is_banned"]
            and p["deleted_at"] is None
            and p["registered_at"] is not None
            and user_id not in left_out[me]
            and (skill is None or skill in p["skills"])
        ]

        def score(user_id: int) -> int:
            p = people[user_id]
            return 2 * len(set(p["skills"]) & set(mine["wants"])) + len(
                set(p["wants"]) & set(mine["skills"])
            )

        return sorted(
            shown, key=lambda user_id: (-score(user_id), people[user_id]["hours"], user_id)
        )

    for me in searchers:
        mine = people[me]
        if mine["type"] is None:
            continue
        for skill in (None, mine["wants"][0] if mine["wants"] else "ops", "python"):
            seen = browse(
                conn,
                me=me,
                user_type=mine["type"],
                skills=mine["skills"],
                wants=mine["wants"],
                skill=skill,
                limit=200,
            )
            order = expected(me, skill)
            assert [c.id for c in seen] == order, (me, skill)
            assert {c.total for c in seen} <= {len(order)}


@pytest.mark.anyio
async def test_the_card_says_when_there_are_more_than_counted(
    telegram: FakeTelegram, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_conversations import register, settle

    monkeypatch.setattr(search, "TOTAL_CAP", 1)
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python", lang="ru")
        await register(telegram, 1, role="participant", skills="python", wants="design")
        await register(telegram, 2, role="participant", skills="sales", wants="legal")
        telegram.send_text(10, "/search")
        await settle(telegram)
        first = telegram.last_message(10).text
        telegram.press(10, "Дальше ▶")
        await settle(telegram)
        second = telegram.last_message(10).text
    assert first.startswith("User1") and first.endswith("1 из 1+")
    assert second.startswith("User2") and second.endswith("2 из 2")
