"""Conversations through the fake Bot API, as people would have them, in both languages."""

from __future__ import annotations

import anyio
import psycopg
import pytest

from teambot.config import Settings
from tests.conftest import all_handled, running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio


async def reply(telegram: FakeTelegram, user: int, count: int) -> str:
    """The text of the user's chat once it holds `count` bot messages (the last one)."""
    messages = await telegram.wait_for_messages(user, count)
    return messages[count - 1].text


async def settle(telegram: FakeTelegram) -> None:
    await telegram.wait_until(lambda: all_handled(telegram), what="all handled")
    await anyio.sleep(0.05)


async def register(
    telegram: FakeTelegram,
    user: int,
    *,
    role: str,
    lang: str = "en",
    name: str | None = None,
    skills: str = "python, ml",
    wants: str = "design",
    team: str | None = None,
) -> None:
    labels = {
        "en": {
            "participant": "Participant",
            "cofounder": "Co-founder",
            "team": "Team",
            "lang": "English",
            "done": "Done ✓",
            "skip": "Skip",
            "confirm": "Confirm ✓",
            "rest": "Finish later ⏭",
        },
        "ru": {
            "participant": "Участник",
            "cofounder": "Кофаундер",
            "team": "Команда",
            "lang": "Русский",
            "done": "Готово ✓",
            "skip": "Пропустить",
            "confirm": "Подтвердить ✓",
            "rest": "Заполню потом ⏭",
        },
    }[lang]

    def press(label: str) -> None:
        telegram.press(user, label, first_name=f"User{user}", language_code=lang)

    def say(words: str, **_: object) -> None:
        telegram.send_text(user, words, first_name=f"User{user}", language_code=lang)

    start = len(telegram.messages(user))
    say("/start")
    await reply(telegram, user, start + 1)
    press(labels["lang"])
    await settle(telegram)
    press(labels[role])
    await settle(telegram)
    if name is None:
        press(telegram.last_message(user).buttons[0])
    else:
        say(name, language_code=lang)
    await settle(telegram)
    say(skills, language_code=lang)
    await settle(telegram)
    press(labels["done"])
    await settle(telegram)
    say(wants, language_code=lang)
    await settle(telegram)
    press(labels["done"])
    await settle(telegram)
    press(labels["skip"])
    await settle(telegram)
    if role == "team":
        say(team or f"Team{user}", language_code=lang)
        await settle(telegram)
        press(labels["skip"])
        await settle(telegram)
    press(labels["rest"])  # the matching fields (tests/test_profile_fields.py asks them)
    await settle(telegram)
    press(labels["confirm"])
    await settle(telegram)


def invitation_id(settings: Settings) -> int:
    """The newest invitation's id."""
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute("select max(id) from invitations").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


async def begin_registration(telegram: FakeTelegram, user: int) -> None:
    """/start, English, Participant: the dialogue asks for the name."""
    telegram.send_text(user, "/start")
    await settle(telegram)
    telegram.press(user, "English")
    await settle(telegram)
    telegram.press(user, "Participant")
    await settle(telegram)


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("role", ["participant", "cofounder", "team"])
async def test_each_role_registers(
    telegram: FakeTelegram, settings: Settings, role: str, lang: str
) -> None:
    async with running(settings):
        await register(telegram, 1, role=role, lang=lang, team="Rocket")
        final = telegram.last_message(1).text
        telegram.send_text(1, "/start", language_code=lang)
        await settle(telegram)
        menu = telegram.last_message(1).text
    assert final.startswith("You are registered" if lang == "en" else "Вы зарегистрированы")
    assert menu.startswith("Welcome back" if lang == "en" else "С возвращением")
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute(
            "select user_type, skills, looking_for, is_searching, language from users"
        ).fetchone()
        teams = conn.execute("select name from teams").fetchall()
    assert row == (role, ["python", "ml"], ["design"], True, lang)
    assert teams == ([("Rocket",)] if role == "team" else [])


async def test_skills_are_normalized_and_limits_explained(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 1, role="participant", skills="Python, python , питон, ML")
        telegram.send_text(2, "/start")
        await settle(telegram)
        telegram.press(2, "English")
        await settle(telegram)
        telegram.press(2, "Participant")
        await settle(telegram)
        telegram.send_text(2, "x" * 65)
        await settle(telegram)
        too_long_name = telegram.last_message(2).text
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute("select skills from users where id = 1").fetchone()
    assert row == (["python", "ml"],)
    assert too_long_name == "A name is 1 to 64 characters. Please try again."


async def test_html_in_names_is_shown_as_text(telegram: FakeTelegram, settings: Settings) -> None:
    async with running(settings):
        await register(telegram, 1, role="participant", name="<b>Eve</b> & <script>")
        await register(telegram, 2, role="team", name="Bob")
        telegram.send_text(2, "/search")
        await settle(telegram)
        card = telegram.last_message(2)
    # the fake Bot API rejects malformed HTML, so the card arriving proves the escaping
    assert card.text.startswith("<b>Eve</b> & <script> · Participant")


async def test_search_ranks_explains_and_respects_who_sees_whom(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python, ml")
        await register(telegram, 1, role="participant", skills="python, ml", wants="design")
        await register(telegram, 2, role="participant", skills="python", wants="sales")
        await register(telegram, 3, role="participant", skills="sales", wants="legal")
        await register(telegram, 4, role="cofounder", skills="ml", wants="finance")
        await register(telegram, 5, role="team", skills="ml", wants="ml")  # teams don't see teams
        telegram.send_text(10, "/search")
        await settle(telegram)
        first = telegram.last_message(10)
        seen = [first.text.splitlines()[0]]
        for _ in range(3):
            telegram.press(10, "Next ▶")
            await settle(telegram)
            seen.append(telegram.last_message(10).text.splitlines()[0])
        telegram.send_text(10, "/search sales")
        await settle(telegram)
        filtered = telegram.last_message(10).text
    assert seen[0] == "User1 · Participant"
    assert "Has what you look for: python, ml" in first.text
    assert "Looks for what you have: design" in first.text
    assert "1 of 4" in first.text
    assert set(seen[1:3]) == {"User2 · Participant", "User4 · Co-founder"}  # a tie
    assert "User5" not in " ".join(seen)
    assert filtered.startswith("User3 · Participant")
    assert first.buttons[:1] == ["Invite to team"]


async def test_invite_accept_shares_contacts_and_the_person_joins(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python", team="Rocket")
        await register(telegram, 1, role="participant", skills="python", wants="design", lang="ru")
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Invite to team")
        await settle(telegram)
        telegram.send_text(10, "Join us <3")
        await settle(telegram)
        invitation = telegram.last_message(1)
        assert invitation.text.startswith("User10 приглашает вас в команду Rocket.")
        assert "«Join us <3»" in invitation.text
        telegram.press(1, "Принять ✓")
        telegram.press(1, "Принять ✓")  # double tap
        await settle(telegram)
        # the team, again: the person now has a pending-free pair and is in the team
        telegram.send_text(10, "/invitations")
        await settle(telegram)
    recipient_texts = [m.text for m in telegram.messages(1)]
    sender_texts = [m.text for m in telegram.messages(10)]
    joined = "Теперь вы в команде Rocket. Связаться с User10: User10."
    assert joined in recipient_texts
    assert (
        "User1 accepted your invitation and is now in Rocket. Reach them at User1." in sender_texts
    )
    assert recipient_texts.count(joined) == 1  # acted once
    [notice] = [m for m in telegram.messages(1) if m.message_id == invitation.message_id]
    assert notice.text.endswith("«Join us <3»\n\n✓ Принято") and notice.buttons == []
    assert any(a[1] == "Это приглашение уже не ожидает ответа." for a in telegram.callback_answers)
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        members = conn.execute("select user_id from team_members order by user_id").fetchall()
    assert members == [(1,), (10,)]


async def test_a_command_while_asked_for_a_note_is_a_command(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python", team="Rocket")
        await register(telegram, 1, role="participant", skills="python", wants="design")
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Invite to team")
        await settle(telegram)
        telegram.send_text(10, "/team")
        await settle(telegram)
    assert "Rocket" in telegram.last_message(10).text
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        assert conn.execute("select count(*) from invitations").fetchone() == (0,)


async def test_decline_and_cancel_and_stale_buttons(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 1, role="cofounder", skills="ml", wants="sales, legal")
        await register(telegram, 2, role="cofounder", skills="sales, legal", wants="ml")
        await register(telegram, 3, role="cofounder", skills="sales", wants="ml")
        telegram.send_text(1, "/search")
        await settle(telegram)
        telegram.press(1, "Connect")
        await settle(telegram)
        telegram.press(1, "Send without a note")
        await settle(telegram)
        telegram.press(2, "Decline")
        await settle(telegram)
        assert telegram.last_message(1).text == (
            "User2 declined your offer to connect this time. Keep looking: /search"
        )
        # a declined pair may meet again; 1 invites 3 instead, then cancels
        telegram.send_text(1, "/search")
        await settle(telegram)
        assert telegram.last_message(1).text.startswith("User2")
        telegram.press(1, "Next ▶")
        await settle(telegram)
        assert telegram.last_message(1).text.startswith("User3")
        telegram.press(1, "Connect")
        await settle(telegram)
        telegram.press(1, "Send without a note")
        await settle(telegram)
        telegram.press(1, "Withdraw offer")
        await settle(telegram)
        notice = telegram.last_message(3)  # edited: no buttons left to press
        assert notice.text == "User1 would like to connect as co-founders.\n\nCancelled"
        assert notice.buttons == []
        await telegram.wait_confirmed(
            telegram.press_button(3, notice.message_id, f"inv:accept:{invitation_id(settings)}")
        )
        # a forged button
        stale = telegram.press_button(3, telegram.last_message(3).message_id, "inv:accept:999")
        forged = telegram.press_button(3, telegram.last_message(3).message_id, "garbage\x00")
        await telegram.wait_confirmed(forged)
    answers = [a[1] for a in telegram.callback_answers]
    assert answers.count("This invitation is no longer pending.") >= 2
    assert "This button is no longer active." in answers
    assert stale < forged
    assert "Your offer to connect with User3 is withdrawn." in [
        m.text for m in telegram.messages(1)
    ]


async def test_expired_invitations_tell_the_sender(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings) as app:
        await register(telegram, 1, role="cofounder", skills="ml", wants="sales")
        await register(telegram, 2, role="cofounder", skills="sales", wants="ml")
        telegram.send_text(1, "/search")
        await settle(telegram)
        telegram.press(1, "Connect")
        await settle(telegram)
        telegram.press(1, "Send without a note")
        await settle(telegram)
        with psycopg.connect(settings.database_conninfo() or "", autocommit=True) as conn:
            conn.execute("update invitations set expires_at = now() - interval '1 second'")
        results = await app.cleanup.run_pass()
        # the notice, and the sender's Withdraw: edited by this pass (or the timer's first)
        await telegram.wait_until(
            lambda: (
                [m.buttons for m in telegram.messages(2)[-1:] + telegram.messages(1)[-2:]]
                == [[], [], []]
            ),
            what="keyboards closed",
        )
        notice = telegram.last_message(2)
        await telegram.wait_confirmed(
            telegram.press_button(2, notice.message_id, f"inv:accept:{invitation_id(settings)}")
        )
    assert results["expire invitations"] == 1
    assert telegram.last_message(1).text == (
        "Your offer to connect with User2 expired without an answer."
    )
    assert notice.text.endswith("\n\n⌛ Expired without an answer") and notice.buttons == []
    sent = telegram.messages(1)[-2]
    assert sent.text.endswith("\n\n⌛ Expired without an answer") and sent.buttons == []
    assert "This invitation is no longer pending." in [a[1] for a in telegram.callback_answers]
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        assert conn.execute("select count(*) from invitation_messages").fetchone() == (0,)


async def test_a_restart_in_the_middle_of_registration_resumes(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        telegram.send_text(1, "/start", language_code="ru")
        await settle(telegram)
        telegram.press(1, "Русский")
        await settle(telegram)
        telegram.press(1, "Команда")
        await settle(telegram)
    async with running(settings):  # a new process: all state comes from PostgreSQL
        telegram.send_text(1, "Ракета", language_code="ru")
        await settle(telegram)
        prompt = telegram.last_message(1).text
    assert prompt.startswith("Что вы умеете?")


async def test_a_step_delivered_again_after_a_crash_is_not_taken_twice(
    telegram: FakeTelegram, settings: Settings
) -> None:
    # the process died after the name was taken but before the update was recorded as
    # handled: Telegram delivers it again to the next process, whose dialogue now asks
    # for skills; the name must not become a skill
    async with running(settings):
        await begin_registration(telegram, 1)
        typed = telegram.send_text(1, "Ann Lee")
        [raw] = [u for u in telegram.pending_updates() if u["update_id"] == typed]
        await settle(telegram)
    with psycopg.connect(settings.database_conninfo()) as conn:
        conn.execute("delete from handled_updates where update_id = %s", (typed,))
    seen = len(telegram.messages(1))
    async with running(settings):
        telegram.enqueue_raw(raw)
        await settle(telegram)
        telegram.send_text(1, "python")
        await settle(telegram)
        telegram.press(1, "Done ✓")
        await settle(telegram)
    with psycopg.connect(settings.database_conninfo()) as conn:
        [(data,)] = conn.execute("select data from fsm_states").fetchall()
    assert (data["display_name"], data["skills"]) == ("Ann Lee", ["python"])
    assert not any("wrong" in m.text for m in telegram.messages(1)[seen:])


async def test_a_double_tap_on_done_does_not_skip_the_next_step(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await begin_registration(telegram, 1)
        telegram.send_text(1, "Ann Lee")
        await settle(telegram)
        telegram.send_text(1, "python")
        await settle(telegram)
        telegram.press(1, "Done ✓")  # both taps on the skills message
        telegram.press(1, "✓ python")
        telegram.press(1, "Done ✓")
        await settle(telegram)
        prompt = telegram.last_message(1)
    assert prompt.text.startswith("Whom or what skills are you looking for?")
    assert "✓ python" not in prompt.buttons
    assert telegram.unanswered_callbacks == []


async def test_delete_hides_at_once_and_reregistering_works(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 1, role="participant", skills="python", wants="design")
        await register(telegram, 10, role="team", skills="design", wants="python")
        telegram.send_text(1, "/profile")
        await settle(telegram)
        telegram.press(1, "Delete account")
        await settle(telegram)
        telegram.press(1, "Yes, delete")
        await settle(telegram)
        telegram.send_text(10, "/search")
        await settle(telegram)
        empty = telegram.last_message(10).text
        await register(telegram, 1, role="participant", skills="python", wants="design")
        telegram.send_text(10, "/search")
        await settle(telegram)
        again = telegram.last_message(10).text
    assert empty.startswith("Nobody who fits you is looking right now.")
    assert again.startswith("User1 · Participant")


async def test_next_on_the_only_candidate_is_not_an_error(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings) as app:
        await register(telegram, 10, role="team", skills="design", wants="python")
        await register(telegram, 1, role="participant", skills="python", wants="design")
        telegram.send_text(10, "/search")
        await settle(telegram)
        card = telegram.last_message(10)
        telegram.press(10, "Next ▶")
        telegram.press(10, "Next ▶")
        await settle(telegram)
        after = telegram.messages(10)
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert after[-1].text == card.text  # the same card, still there
    assert failed == 0  # no handler error, so no apology


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_one_field_is_edited_and_the_rest_is_kept(
    telegram: FakeTelegram, settings: Settings, lang: str
) -> None:
    labels = {
        "en": ("Pause searching", "Edit profile", "Skills", "Done ✓", "Confirm ✓", "About me"),
        "ru": ("Приостановить поиск", "Изменить профиль", "Навыки", "Готово ✓", "Подтвердить ✓",
               "О себе"),
    }[lang]  # fmt: skip
    pause, edit, skills, done, save, about = labels
    async with running(settings):
        await register(telegram, 1, role="participant", lang=lang, name="Ann")
        for step in ("/profile", pause, "/profile", edit, skills, "rust", done, save):
            if step.startswith("/") or step == "rust":
                telegram.send_text(1, step, language_code=lang)
            else:
                telegram.press(1, step, language_code=lang)
            await settle(telegram)
        saved = telegram.last_message(1).text
        # an edit that breaks a limit is refused, and can be discarded
        telegram.send_text(1, "/profile", language_code=lang)
        await settle(telegram)
        for label in (edit, about):
            telegram.press(1, label, language_code=lang)
            await settle(telegram)
        telegram.send_text(1, "x" * 501, language_code=lang)
        await settle(telegram)
        too_long = telegram.last_message(1).text
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        row = conn.execute(
            "select display_name, user_type, skills, looking_for, is_searching from users"
        ).fetchone()
    assert saved.startswith("Saved." if lang == "en" else "Сохранено.")
    assert "500" in too_long
    assert row == ("Ann", "participant", ["python", "ml", "rust"], ["design"], False)
