"""Groups: the bot works in private chats only. A command in a group gets one short answer
with a button to the private chat, nothing personal; buttons pressed there do nothing but
say so; chatter and other bots' commands are left alone; nothing is stored."""

from __future__ import annotations

import psycopg
import pytest

from teambot.config import Settings
from tests.conftest import running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import register, settle

pytestmark = pytest.mark.anyio

SUPERGROUP = -1001234567890
GROUP = -4242
ONLY_PRIVATE = {
    "en": (
        "I work in private chats only, so that profiles and invitations stay between the "
        "people they concern. Tap below to talk to me."
    ),
    "ru": (
        "Я работаю только в личных сообщениях, чтобы профили и приглашения видели лишь те, "
        "кого они касаются. Нажмите кнопку ниже, чтобы написать мне."
    ),
}
OPEN = {"en": "Open a private chat", "ru": "Открыть личный чат"}
PRESSED = {
    "en": "This works only in the private chat with me.",
    "ru": "Это работает только в личном чате со мной.",
}
# command sent in the group → the ?start= of the button that answers it
ANSWERED = {
    "/start": "start",
    "/search": "search",
    "/invitations": "invitations",
    "/profile": "profile",
    "/team": "team",
    "/help": "help",
    "/language": "language",
    "/cancel": "cancel",
    "/stats": "stats",
    "/start team_abcDEF123": "team_abcDEF123",
    "/search@teambot_test_bot python": "search",
    "/Team@TeamBot_Test_Bot": "team",
}
IGNORED = ["/search@other_bot", "/roll", "hello everyone, who is hiring?", "search python"]


def _url(message: SentMessage) -> str:
    [[button]] = (message.reply_markup or {})["inline_keyboard"]
    return str(button["url"])


async def test_commands_in_groups_point_to_the_private_chat_and_show_nothing_personal(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings):
        await register(telegram, 10, role="team", skills="design", wants="python", team="Rocket")
        await register(telegram, 1, role="participant", skills="python", wants="design")
        # a pending invitation: /invitations in private would show it with live buttons
        telegram.send_text(10, "/search")
        await settle(telegram)
        telegram.press(10, "Invite to team")
        await settle(telegram)
        telegram.press(10, "Send without a note")
        await settle(telegram)
        accept = telegram.last_message(1)
        private_before = {user: len(telegram.messages(user)) for user in (1, 10)}
        with psycopg.connect(settings.database_conninfo() or "") as conn:
            dialogues_before = conn.execute("select key, state, data from fsm_states").fetchall()

        for command in ANSWERED:
            telegram.send_text(1, command, first_name="User1", chat_id=SUPERGROUP)
        for words in IGNORED:
            telegram.send_text(1, words, first_name="User1", chat_id=SUPERGROUP)
        telegram.send_text(10, "/profile", first_name="User10", language_code="ru", chat_id=GROUP)
        telegram.send_text(7, "/start", first_name="Stranger", chat_id=GROUP)  # never wrote to us
        await settle(telegram)

        # buttons pressed in a group: the bot's own answer there, and forged ones carrying
        # private buttons' data (delete my account, accept an invitation)
        answer = telegram.messages(SUPERGROUP)[0].message_id
        private = ("prof:delete_yes", accept.callback_data("Accept ✓") or "", "tag:skills:go")
        private += ("qf:role", "qf:scope", "relax:language")  # /search's quick filters, relax
        for data in private:
            telegram.press_button(1, answer, data, chat_id=SUPERGROUP)
        telegram.press_button(10, 999, "prof:delete_yes", language_code="ru", chat_id=GROUP)
        await settle(telegram)

        with psycopg.connect(settings.database_conninfo() or "") as conn:
            dialogues_after = conn.execute("select key, state, data from fsm_states").fetchall()
            strangers = conn.execute("select count(*) from users where id = 7").fetchone()
            kept = conn.execute("select count(*) from users where deleted_at is null").fetchone()
            pending = conn.execute(
                "select count(*) from invitations where status = 'pending'"
            ).fetchone()

    in_supergroup = telegram.messages(SUPERGROUP)
    assert [m.text for m in in_supergroup] == [ONLY_PRIVATE["en"]] * len(ANSWERED)
    assert [m.buttons for m in in_supergroup] == [[OPEN["en"]]] * len(ANSWERED)
    # the bot's @username came with the one getMe the telegram actor made at start
    assert len(telegram.calls_of("getMe")) == 1
    assert [_url(m) for m in in_supergroup] == [
        f"https://t.me/teambot_test_bot?start={payload}" for payload in ANSWERED.values()
    ]
    in_group = telegram.messages(GROUP)
    assert sorted((m.text, m.buttons[0]) for m in in_group) == sorted(
        [(ONLY_PRIVATE["ru"], OPEN["ru"]), (ONLY_PRIVATE["en"], OPEN["en"])]
    )
    # nothing went anywhere else: no private message, no edit, no stored dialogue or person
    assert {user: len(telegram.messages(user)) for user in (1, 10)} == private_before
    group_calls = [
        c
        for c in telegram.calls
        if c.method.startswith(("send", "edit", "delete")) and c.params.get("chat_id", 1) < 0
    ]
    assert {c.method for c in group_calls} == {"sendMessage"}
    assert len(group_calls) == len(ANSWERED) + 2
    assert dialogues_after == dialogues_before
    assert strangers == (0,)
    assert kept == (2,) and pending == (1,)
    # (two people's presses: handled in parallel, answered in either order)
    assert sorted(a[1] or "" for a in telegram.callback_answers[-7:]) == sorted(
        [PRESSED["en"]] * 6 + [PRESSED["ru"]]
    )
    assert telegram.unanswered_callbacks == []


async def test_a_group_the_bot_may_not_write_to_is_no_failure(
    telegram: FakeTelegram, settings: Settings
) -> None:
    telegram.block_user(GROUP)  # sends there answer 403, as when the bot was removed
    async with running(settings) as app:
        telegram.send_text(1, "/search", chat_id=GROUP)
        telegram.send_text(1, "/help")  # and the private chat goes on
        await settle(telegram)
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert telegram.messages(GROUP) == []
    assert telegram.last_message(1).text.startswith("/start — register")
    assert failed == 0
