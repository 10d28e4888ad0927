"""Digests of new matches: who is told, how often, and in which language."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from teambot.data.matches import claim_digests
from teambot.services.matching import visibility_pairs
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import register, settle

pytestmark = pytest.mark.anyio

DELAY = 0.2


def texts(telegram: FakeTelegram, user: int) -> list[str]:
    return [message.text for message in telegram.messages(user)]


async def quiet(telegram: FakeTelegram) -> None:
    """Long enough for a digest batch to be gathered and sent."""
    await settle(telegram)
    await anyio.sleep(DELAY * 5)


async def test_people_who_would_find_a_new_profile_get_one_digest_a_day(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = make_settings(telegram, database_url, digest_delay_seconds=DELAY)
    async with running(settings) as app:
        await register(telegram, 10, role="team", skills="design", wants="python")
        await register(telegram, 11, role="team", skills="design", wants="python", lang="ru")
        await register(telegram, 12, role="team", skills="design", wants="sales")
        await quiet(telegram)
        before = {user: len(telegram.messages(user)) for user in (10, 11, 12)}
        await register(telegram, 1, role="participant", skills="python", wants="design")
        await telegram.wait_for_messages(10, before[10] + 1)
        await telegram.wait_for_messages(11, before[11] + 1)
        await quiet(telegram)
        first_digests = (texts(telegram, 10)[-1], texts(telegram, 11)[-1])
        # another match the same day: no second digest
        await register(telegram, 2, role="participant", skills="python", wants="design")
        await quiet(telegram)
        after = {user: len(telegram.messages(user)) for user in (10, 11, 12)}
    assert first_digests == (
        "New profiles match you: 1 participant. Take a look: /search",
        "Вам подходят новые профили: 1 участник. Посмотрите: /search",
    )
    assert after == {10: before[10] + 1, 11: before[11] + 1, 12: before[12]}
    metric = app.metrics.registry.get_sample_value
    assert metric("teambot_digests_sent_total") == 2
    assert metric("teambot_digest_runs_total", {"result": "ok"}) >= 2  # both newcomers' passes
    assert metric("teambot_digest_runs_total", {"result": "failed"}) == 0
    # the newcomers themselves were not sent digests: registration ends with /search advice
    assert not any("New profiles" in t for t in texts(telegram, 1) + texts(telegram, 2))


async def test_no_digest_for_paused_users_or_people_who_cannot_see_the_newcomer(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = make_settings(telegram, database_url, digest_delay_seconds=DELAY)
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python")
        await register(telegram, 20, role="participant", skills="design", wants="python")
        telegram.send_text(10, "/profile")
        await settle(telegram)
        telegram.press(10, "Pause searching")
        await quiet(telegram)
        before = {user: len(telegram.messages(user)) for user in (10, 20)}
        # a participant: the paused team would see them, another participant would not
        await register(telegram, 1, role="participant", skills="python", wants="design")
        await quiet(telegram)
        after = {user: len(telegram.messages(user)) for user in (10, 20)}
    assert after == before


async def test_a_resumed_profile_is_announced(telegram: FakeTelegram, database_url: str) -> None:
    settings = make_settings(telegram, database_url, digest_delay_seconds=DELAY)
    async with running(settings):
        await register(telegram, 1, role="participant", skills="python", wants="design")
        telegram.send_text(1, "/profile")
        await settle(telegram)
        telegram.press(1, "Pause searching")
        await settle(telegram)
        await register(telegram, 10, role="team", skills="design", wants="python")
        await quiet(telegram)
        before = len(telegram.messages(10))
        telegram.send_text(1, "/profile")
        await settle(telegram)
        telegram.press(1, "Resume searching")
        messages = await telegram.wait_for_messages(10, before + 1)
    assert messages[-1].text == "New profiles match you: 1 participant. Take a look: /search"


def _person(
    conn: psycopg.Connection, user_id: int, user_type: str, skills: list[str], wants: list[str]
) -> None:
    conn.execute(
        "insert into users (id, user_type, display_name, skills, looking_for, is_searching,"
        " registered_at) values (%s, %s, %s, %s, %s, true, now())",
        (user_id, user_type, f"U{user_id}", skills, wants),
    )


def test_one_digest_counts_every_new_match_of_the_batch(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]
        _person(conn, 1, "participant", ["go"], ["python", "design"])
        _person(conn, 2, "cofounder", ["go"], ["python"])
        for team in (10, 11, 12):
            _person(conn, team, "team", ["python"], [])
        _person(conn, 13, "cofounder", ["design"], [])
        conn.execute("insert into hidden_users values (2, 12)")
        digests = claim_digests(conn, [10, 11, 12, 13], visibility_pairs())
        again = claim_digests(conn, [10, 11, 12, 13], visibility_pairs())
    by_user = {d.user_id: d.new_matches for d in digests}
    # participant 1 sees teams only (not cofounder 13); cofounder 2 hid team 12
    assert by_user == {1: {"team": 3}, 2: {"team": 2}}
    assert again == []


def test_no_digest_about_ones_own_team_or_teammates(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]
        _person(conn, 10, "team", ["design"], ["python"])
        _person(conn, 1, "participant", ["python"], ["design"])  # in team 10
        _person(conn, 2, "cofounder", ["python"], ["design"])  # in team 10
        _person(conn, 3, "cofounder", ["python"], ["design"])  # outside
        team = conn.execute(
            "insert into teams (owner_id, name) values (10, 'Rocket') returning id"
        ).fetchone()
        assert team is not None
        conn.execute(
            "insert into team_members (team_id, user_id) values (%(t)s, 10), (%(t)s, 1),"
            " (%(t)s, 2)",
            {"t": team["id"]},
        )
        members_changed = claim_digests(conn, [1, 2, 3], visibility_pairs())
        team_changed = claim_digests(conn, [10], visibility_pairs())
    # the team hears of the outsider only; of the team, only the outsider hears
    assert {d.user_id: d.new_matches for d in members_changed} == {10: {"cofounder": 1}}
    assert {d.user_id: d.new_matches for d in team_changed} == {3: {"team": 1}}
