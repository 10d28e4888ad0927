"""Moderation: reports reach the admins with the profile, /ban, /unban and /stats."""

from __future__ import annotations

import psycopg
import pytest
from loguru import logger

from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_conversations import register, settle
from tests.test_teams import join, seed

pytestmark = pytest.mark.anyio

ADMIN = 900


@pytest.mark.parametrize("admin_lang", ["en", "ru"])
async def test_a_report_reaches_admins_who_can_ban_from_it(
    telegram: FakeTelegram, database_url: str, admin_lang: str
) -> None:
    settings = make_settings(telegram, database_url, admin_ids=str(ADMIN))
    async with running(settings):
        telegram.send_text(ADMIN, "/language", language_code=admin_lang)
        await settle(telegram)
        await register(telegram, 10, role="team", skills="design", wants="python")
        await register(telegram, 1, role="participant", name="<i>Mallory</i>", skills="python")
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Report")
        await settle(telegram)
        report = telegram.last_message(ADMIN)
        # someone who is not an admin cannot use the button (forged or forwarded)
        telegram.press_button(
            10, report.message_id, report.callback_data(report.buttons[0]), chat_id=ADMIN
        )
        await settle(telegram)
        telegram.press(ADMIN, report.buttons[0])
        await settle(telegram)
        after_ban = telegram.last_message(ADMIN)
        told_before = len(telegram.messages(1))
        telegram.send_text(1, "/search")
        telegram.send_text(1, "/profile")
        await settle(telegram)
        banned_view = [m.text for m in telegram.messages(1)[told_before:]]
        telegram.send_text(10, "/search")
        await settle(telegram)
        team_view = telegram.last_message(10).text
    if admin_lang == "en":
        assert report.text.startswith("⚠️ User 10 reported this profile (id 1):")
        assert report.buttons == ["Ban"]
    else:
        assert report.text.startswith("⚠️ Пользователь 10 пожаловался на этот профиль (id 1):")
        assert report.buttons == ["Заблокировать"]
    assert "<i>Mallory</i> · " in report.text  # the name arrives as text, not markup
    assert after_ban.buttons == []  # the Ban button is gone once used
    assert banned_view == ["Your account is blocked by the moderators."]  # once, then silence
    assert "Mallory" not in team_view
    with psycopg.connect(database_url) as conn:
        banned = conn.execute("select is_banned, ban_notified from users where id = 1").fetchone()
        answers = telegram.callback_answers
    assert banned == (True, True)
    assert any(text is not None and "no longer active" in text for _, text, _ in answers)


async def test_ban_and_unban_commands(telegram: FakeTelegram, database_url: str) -> None:
    settings = make_settings(telegram, database_url, admin_ids=f"{ADMIN},901")
    async with running(settings):
        await register(telegram, 1, role="participant")
        await register(telegram, 10, role="team", skills="design", wants="python")
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Invite to team")
        await settle(telegram)
        telegram.press(10, "Send without a note")
        await settle(telegram)
        sent = telegram.last_message(10)
        replies = []
        for command in ("/ban", "/ban abc", "/ban 999999", "/ban 901", "/ban 1", "/ban 1"):
            telegram.send_text(ADMIN, command)
            await settle(telegram)
            replies.append(telegram.last_message(ADMIN).text)
        told_before = len(telegram.messages(1))
        telegram.send_text(1, "/profile")
        telegram.send_text(1, "/search")
        await settle(telegram)
        banned_messages = [m.text for m in telegram.messages(1)[told_before:]]
        telegram.send_text(ADMIN, "/unban 1")
        await settle(telegram)
        replies.append(telegram.last_message(ADMIN).text)
        telegram.send_text(ADMIN, "/unban 1")
        await settle(telegram)
        replies.append(telegram.last_message(ADMIN).text)
        telegram.send_text(1, "/profile")
        await settle(telegram)
        profile_after = telegram.last_message(1).text
        # a non-admin: /ban is an unknown command, nobody is banned
        telegram.send_text(10, "/ban 1")
        await settle(telegram)
        not_admin = telegram.last_message(10).text
    assert replies == [
        "Usage: /ban <user id>",
        "Usage: /ban <user id>",
        "There is no user with id 999999.",
        "Admins cannot be banned.",
        "User 1 is banned: hidden from search, pending invitations cancelled.",
        "User 1 was already banned.",
        "User 1 is no longer banned.",
        "User 1 is not banned.",
    ]
    assert len(banned_messages) == 1  # told once, then ignored
    # the ban cancelled the team's invitation: its Cancel button went with it
    [after_ban] = [m for m in telegram.messages(10) if m.message_id == sent.message_id]
    assert after_ban.text == sent.text + "\n\nCancelled" and after_ban.buttons == []
    assert "User1 · Participant" in profile_after
    assert "/ban" not in not_admin and "banned" not in not_admin
    with psycopg.connect(database_url) as conn:
        statuses = conn.execute("select status from invitations").fetchall()
        banned = conn.execute("select is_banned from users where id = 1").fetchone()
    assert statuses == [("cancelled",)]
    assert banned == (False,)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_stats_counts_people_teams_and_invitations(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    settings = make_settings(telegram, database_url, admin_ids=str(ADMIN))
    async with running(settings):
        await register(telegram, 1, role="participant")
        await register(telegram, 2, role="cofounder")
        await register(telegram, 10, role="team", skills="design", wants="python")
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Invite to team")
        await settle(telegram)
        telegram.press(10, "Send without a note")
        await settle(telegram)
        telegram.send_text(ADMIN, "/stats", language_code=lang)
        await settle(telegram)
        stats = telegram.last_message(ADMIN).text
        telegram.send_text(1, "/stats")
        await settle(telegram)
        not_admin = telegram.last_message(1).text
    if lang == "en":
        assert stats.splitlines()[0].startswith(
            "Users: 3 registered (1 participants, 1 co-founders, 1 teams), 3 searching"
        )
        assert "Teams: 1, with 1 members" in stats
        assert "Invitations: 1 pending; last 7 days: 1 sent" in stats
    else:
        assert stats.startswith("Пользователи: зарегистрировано 3 (участники — 1")
    assert "registered" not in not_admin


async def test_banning_a_team_owner_dissolves_the_team(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = make_settings(telegram, database_url, admin_ids=str(ADMIN))
    rocket = seed(database_url, 10, role="team", team="Rocket")
    seed(database_url, 1, lang="ru")
    assert rocket is not None
    join(database_url, rocket, 1)
    async with running(settings):
        telegram.send_text(ADMIN, "/ban 10")
        await settle(telegram)
    assert [m.text for m in telegram.messages(1)] == [
        "Владелец удалил команду Rocket. Найдите другую: /search"
    ]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from teams").fetchone() == (0,)
        assert conn.execute("select count(*) from team_members").fetchone() == (0,)


async def test_a_mistyped_admin_id_does_not_keep_reports_from_the_others(
    telegram: FakeTelegram, database_url: str
) -> None:
    # 901 never started the bot (400 chat not found), 902 blocked it (403)
    settings = make_settings(telegram, database_url, admin_ids=f"901,902,{ADMIN}")
    telegram.unknown_chat(901)
    telegram.block_user(902)
    warnings: list[str] = []
    sink = logger.add(lambda line: warnings.append(line.record["message"]), level="WARNING")
    try:
        async with running(settings) as app:
            await register(telegram, 10, role="team", skills="design", wants="python")
            await register(telegram, 1, role="participant", skills="python")
            telegram.send_text(10, "/search")
            await settle(telegram)
            telegram.press(10, "Report")
            await settle(telegram)
            failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    finally:
        logger.remove(sink)
    assert telegram.last_message(ADMIN).text.startswith("⚠️ User 10 reported this profile (id 1)")
    assert "Thank you, the moderators will look at it." in [a[1] for a in telegram.callback_answers]
    assert failed == 0
    about = [w for w in warnings if "admin id" in w]
    assert len(about) == 2 and "901" in about[0] and "902" in about[1], warnings
