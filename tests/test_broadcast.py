"""/broadcast: an admin's announcement, previewed with its count, sent at background
priority through the outbox in batches, followed in one edited message, stoppable, resumed
after a restart without anyone getting it twice; and opting out in /profile."""

from __future__ import annotations

import itertools
import time

import psycopg
import pytest

from teambot.config import Settings
from teambot.texts import text
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_conversations import settle
from tests.test_teams import join, seed

pytestmark = pytest.mark.anyio

ADMIN = 900
BODY = "Demo day on <b>Friday</b> & pizza"  # typed as is: people read it as typed


def admin_settings(telegram: FakeTelegram, database_url: str, **overrides: object) -> Settings:
    return make_settings(telegram, database_url, admin_ids=str(ADMIN), **overrides)


def people(url: str, first: int, count: int, lang: str = "en") -> list[int]:
    """`count` registered people, ids from `first` on."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into users (id, first_name, display_name, user_type, language,"
            " registered_at) select g, 'U' || g, 'U' || g, 'participant', %s, now()"
            " from generate_series(%s::bigint, %s::bigint) g",
            (lang, first, first + count - 1),
        )
    return list(range(first, first + count))


def event(url: str, name: str, *members: int) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "insert into events (slug, name, starts_on, ends_on)"
            " values (lower(replace(%s, ' ', '-')), %s, current_date, current_date + 2)"
            " returning id",
            (name, name),
        ).fetchone()
        assert row is not None
        for member in members:
            conn.execute(
                "insert into event_members (event_id, user_id) values (%s, %s)", (row[0], member)
            )
    return int(row[0])


def sql(url: str, statement: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(statement, args)
        return cur.fetchall() if cur.description else []


def announcement(lang: str, body: str = BODY) -> str:
    """What a person reads (the fake keeps the text as Telegram shows it)."""
    return f"{body}\n\n{text(lang, 'broadcast_footer')}"


FOOTERS = tuple(text(lang, "broadcast_footer") for lang in ("en", "ru"))


def got(telegram: FakeTelegram, user: int) -> list[str]:
    """The announcements a person got."""
    return [m.text for m in telegram.messages(user) if m.text.endswith(FOOTERS)]


async def compose(
    telegram: FakeTelegram, audience: str, lang: str = "en", body: str = BODY
) -> tuple[list[str], SentMessage, SentMessage]:
    """/broadcast, the text, an audience (a button label, or the start of one): the labels
    offered, the preview and the message with Send."""
    telegram.send_text(ADMIN, "/broadcast", language_code=lang)
    await settle(telegram)
    telegram.send_text(ADMIN, body, language_code=lang)
    await settle(telegram)
    offered = telegram.last_message(ADMIN).buttons
    [label] = [b for b in offered if b.startswith(audience)]
    telegram.press(ADMIN, label, language_code=lang)
    await settle(telegram)
    *_, preview, confirm = telegram.messages(ADMIN)
    return offered, preview, confirm


async def send(telegram: FakeTelegram, confirm: SentMessage, lang: str = "en") -> None:
    telegram.press(ADMIN, confirm.buttons[0], language_code=lang)
    await settle(telegram)


def progress(telegram: FakeTelegram, confirm: SentMessage) -> SentMessage:
    [message] = [m for m in telegram.messages(ADMIN) if m.message_id == confirm.message_id]
    return message


async def finished(
    telegram: FakeTelegram, confirm: SentMessage, lang: str = "en", within: float = 60
) -> SentMessage:
    endings = (text(lang, "broadcast_done"), text(lang, "broadcast_stopped"))
    await telegram.wait_until(
        lambda: progress(telegram, confirm).text.endswith(endings),
        timeout=within,
        what="the broadcast's last line",
    )
    return progress(telegram, confirm)


def figures(lang: str, total: int, delivered: int, undelivered: int = 0, skipped: int = 0) -> str:
    remaining = total - delivered - undelivered - skipped
    return text(
        lang,
        "broadcast_progress",
        total=total,
        delivered=delivered,
        undelivered=undelivered,
        skipped=skipped,
        remaining=remaining,
    )


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_preview_counts_each_audience_and_exactly_those_people_get_it(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    url = database_url
    seed(url, 1, lang="ru")  # in the event, no team
    seed(url, 2)  # in the event, turned announcements off
    seed(url, 3)  # banned
    seed(url, 4)  # blocked the bot before: unreachable
    seed(url, 5)  # deleted their account
    seed(url, 6)  # in the event, no team
    team = seed(url, 10, role="team")  # owns a team
    seed(url, 11, lang="ru")  # in the team and the event
    seed(url, 12)  # blocks the bot before the second broadcast reaches them
    assert team is not None
    join(url, team, 11)
    sql(url, "update users set announcements = false where id = 2")
    sql(url, "update users set is_banned = true where id = 3")
    sql(url, "update users set unreachable_since = now() where id = 4")
    sql(url, "update users set deleted_at = now() where id = 5")
    event(url, "Demo Day", 1, 2, 6, 11)
    telegram.send_text(13, "/start")  # started, never registered
    async with running(admin_settings(telegram, url)):
        await settle(telegram)
        offered, preview, confirm = await compose(telegram, "Demo Day", lang)
        assert offered == [
            text(lang, "broadcast_everyone", count=5),
            text(lang, "broadcast_teamless", count=3),
            "Demo Day (3)",
            text(lang, "broadcast_cancel"),
        ]
        # the preview is the message exactly as people get it
        assert preview.text == announcement(lang)
        assert confirm.text == text(
            lang,
            "broadcast_confirm",
            count=3,
            audience=text(lang, "broadcast_audience", kind="event", name="Demo Day"),
        )
        assert confirm.buttons == [
            text(lang, "broadcast_send", count=3),
            text(lang, "broadcast_cancel"),
        ]
        await send(telegram, confirm, lang)
        first = await finished(telegram, confirm, lang)
        to_event = {user: got(telegram, user) for user in (1, 2, 3, 4, 5, 6, 10, 11, 12, 13)}

        telegram.block_user(12)
        _, _, confirm = await compose(telegram, text(lang, "broadcast_everyone", count=5), lang)
        await send(telegram, confirm, lang)
        second = await finished(telegram, confirm, lang)
        telegram.send_text(ADMIN, "/broadcast", language_code=lang)
        telegram.send_text(ADMIN, "Another one", language_code=lang)
        await settle(telegram)
        offered_after = telegram.last_message(ADMIN).buttons
    assert to_event == {
        1: [announcement("ru")],  # the footer in each person's language
        2: [],
        3: [],
        4: [],
        5: [],
        6: [announcement("en")],
        10: [],
        11: [announcement("ru")],
        12: [],
        13: [],
    }
    assert first.text == f"{figures(lang, 3, 3)}\n{text(lang, 'broadcast_done')}"
    assert first.buttons == []
    # the one who blocked the bot is counted, not retried, and left out next time
    assert second.text == f"{figures(lang, 5, 4, undelivered=1)}\n{text(lang, 'broadcast_done')}"
    assert [len(got(telegram, user)) for user in (1, 6, 10, 11, 12)] == [2, 2, 1, 2, 0]
    assert offered_after[0] == text(lang, "broadcast_everyone", count=4)
    assert telegram.unanswered_callbacks == []
    assert sql(url, "select status, total, delivered, undelivered, left_out from broadcasts") == [
        ("done", 3, 3, 0, 0),
        ("done", 5, 4, 1, 0),
    ]


def delivered(telegram: FakeTelegram, crowd: list[int]) -> int:
    return sum(len(got(telegram, user)) for user in crowd)


async def test_a_few_hundred_in_flood_mode_get_no_429_and_a_reply_overtakes_the_broadcast(
    telegram: FakeTelegram, database_url: str
) -> None:
    telegram.flood_limits = True  # the fake answers 429 as Telegram does past its limits
    crowd = people(database_url, 1000, 300)
    async with running(admin_settings(telegram, database_url, flood_control=True)) as app:
        _, _, confirm = await compose(telegram, "Everyone")
        await send(telegram, confirm)
        await telegram.wait_until(lambda: delivered(telegram, crowd) >= 30, what="some sent")
        telegram.send_text(1, "/start")
        await telegram.wait_for_messages(1, 1)
        during = delivered(telegram, crowd)
        metric = app.metrics.registry.get_sample_value
        remaining_midway = metric("teambot_broadcast_remaining")
        final = await finished(telegram, confirm, within=120)
        await telegram.wait_until(lambda: metric("teambot_broadcast_remaining") == 0)
        failed = metric("teambot_updates_failed_total")
    assert telegram.flood_rejections == 0
    assert failed == 0
    assert [got(telegram, user) for user in crowd] == [[announcement("en")]] * len(crowd)
    assert final.text == f"{figures('en', 300, 300)}\n{text('en', 'broadcast_done')}"
    # the reply went out ahead of the rest of the broadcast, not after it
    sends = [int(call.params["chat_id"]) for call in telegram.calls_of("sendMessage")]
    assert sends.index(1) < max(i for i, chat in enumerate(sends) if chat in crowd)
    assert during < len(crowd)
    assert remaining_midway is not None and 0 < remaining_midway <= len(crowd)
    # the admin watched the figures move in between (at most one edit every few seconds)
    shown = [
        call.params["text"]
        for call in telegram.calls_of("editMessageText")
        if int(call.params["message_id"]) == confirm.message_id
    ]
    assert any(figures("en", 300, 0) != seen != final.text for seen in shown), shown
    assert all(before != after for before, after in itertools.pairwise(shown)), shown


async def test_a_restart_midway_resumes_where_it_stopped_nobody_twice_nobody_missed(
    telegram: FakeTelegram, database_url: str
) -> None:
    telegram.flood_limits = True  # slow enough to stop it midway
    url = database_url
    crowd = people(url, 1000, 150)
    settings = admin_settings(telegram, url, flood_control=True)
    async with running(settings) as app:
        app.broadcaster.batch = 10
        _, _, confirm = await compose(telegram, "Everyone")
        await send(telegram, confirm)
        await telegram.wait_until(lambda: delivered(telegram, crowd) >= 40, what="some sent")
    at_stop = delivered(telegram, crowd)
    waiting = [
        row[0]
        for row in sql(
            url, "select user_id from broadcast_recipients where outbox_id is null order by user_id"
        )
    ]
    # while the bot is down, two people whose turn has not come leave the audience
    quiet, banned = waiting[-1], waiting[-2]
    sql(url, "update users set announcements = false where id = %s", quiet)
    sql(url, "update users set is_banned = true where id = %s", banned)
    async with running(settings) as app:
        app.broadcaster.batch = 10
        final = await finished(telegram, confirm, within=120)
    assert 40 <= at_stop < len(crowd) - 2  # it was stopped midway
    assert len(waiting) == len(crowd) - at_stop
    expected = {user: [] if user in (quiet, banned) else [announcement("en")] for user in crowd}
    assert {user: got(telegram, user) for user in crowd} == expected
    assert final.text == f"{figures('en', 150, 148, skipped=2)}\n{text('en', 'broadcast_done')}"
    assert telegram.flood_rejections == 0
    assert sql(url, "select count(*) from outbox where sent_at is null") == [(0,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_stop_ends_the_broadcast_and_the_figures_say_how_far_it_got(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    telegram.flood_limits = True
    url = database_url
    crowd = people(url, 1000, 120)
    async with running(admin_settings(telegram, url, flood_control=True)) as app:
        app.broadcaster.batch = 10
        _, _, confirm = await compose(telegram, text(lang, "broadcast_everyone", count=120), lang)
        await send(telegram, confirm, lang)
        await telegram.wait_until(lambda: delivered(telegram, crowd) >= 20, what="some sent")
        telegram.press(ADMIN, text(lang, "broadcast_stop"), language_code=lang)
        await settle(telegram)
        stopping = telegram.callback_answers[-1][1]
        final = await finished(telegram, confirm, lang)
        # pressed again (the button is gone, the data forged): it is over
        data = f"bcstop:{sql(url, 'select id from broadcasts')[0][0]}"
        telegram.press_button(ADMIN, confirm.message_id, data, language_code=lang)
        await settle(telegram)
        again = telegram.callback_answers[-1][1]
        reached = delivered(telegram, crowd)
    assert stopping == text(lang, "broadcast_stopping")
    assert again == text(lang, "broadcast_finished_already")
    assert 20 <= reached < len(crowd)
    assert final.text == f"{figures(lang, 120, reached)}\n{text(lang, 'broadcast_stopped')}"
    assert final.buttons == []
    assert max(len(got(telegram, user)) for user in crowd) == 1
    assert sql(url, "select status, delivered from broadcasts") == [("stopped", reached)]
    assert sql(url, "select count(*) from outbox where sent_at is null") == [(0,)]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_people_turn_announcements_off_and_on_in_their_profile(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    seed(database_url, 1, lang=lang)
    seed(database_url, 2)
    async with running(admin_settings(telegram, database_url)):
        telegram.send_text(1, "/profile", language_code=lang)
        await settle(telegram)
        card = telegram.last_message(1)
        telegram.press(1, text(lang, "action_announcements_off"), language_code=lang)
        await settle(telegram)
        off = telegram.last_message(1)
        turned_off = telegram.callback_answers[-1][1]
        offered, _, confirm = await compose(telegram, "Everyone")
        await send(telegram, confirm)
        await finished(telegram, confirm)
        while_off = got(telegram, 1)
        telegram.press(1, text(lang, "action_announcements_on"), language_code=lang)
        await settle(telegram)
        on = telegram.last_message(1)
        _, _, confirm = await compose(telegram, "Everyone")
        await send(telegram, confirm)
        await finished(telegram, confirm)
    assert text(lang, "announcements_on") in card.text
    assert text(lang, "action_announcements_off") in card.buttons
    assert off.message_id == card.message_id  # the card changes in place
    assert text(lang, "announcements_off") in off.text
    assert text(lang, "action_announcements_on") in off.buttons
    assert turned_off == text(lang, "announcements_turned_off")
    assert offered[0] == text("en", "broadcast_everyone", count=1)
    assert while_off == []
    assert text(lang, "announcements_on") in on.text
    assert got(telegram, 1) == [announcement(lang)]
    assert got(telegram, 2) == [announcement("en")] * 2
    # every announcement says how to turn them off, with the button's own words
    assert text(lang, "action_announcements_off") in text(lang, "broadcast_footer")


GROUP = -1001234567890


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_stale_forged_non_admin_and_group_presses_get_a_short_answer(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    url = database_url
    seed(url, 1, lang=lang)
    seed(url, 2)
    stale = text(lang, "stale_button")
    in_group = text(lang, "private_only_button")

    def answer() -> str | None:
        return telegram.callback_answers[-1][1]

    async def forged(
        user: int, data: str, message_id: int = 1, chat_id: int | None = None
    ) -> str | None:
        telegram.press_button(user, message_id, data, language_code=lang, chat_id=chat_id)
        await settle(telegram)
        return answer()

    async with running(admin_settings(telegram, url)) as app:
        telegram.send_text(1, "/broadcast", language_code=lang)  # not an admin: unknown
        await settle(telegram)
        not_admin = telegram.last_message(1).text
        # in a group the command is pointed to the private chat; no draft begins
        telegram.send_text(ADMIN, "/broadcast", language_code=lang, chat_id=GROUP)
        await settle(telegram)
        group_answer = telegram.last_message(GROUP).text
        telegram.send_text(ADMIN, "/broadcast", language_code=lang)
        telegram.enqueue_raw(
            {
                "message": {
                    "message_id": 5000,
                    "from": {
                        "id": ADMIN,
                        "is_bot": False,
                        "first_name": "A",
                        "language_code": lang,
                    },
                    "chat": {"id": ADMIN, "type": "private"},
                    "date": int(time.time()),
                    "location": {"latitude": 55.75, "longitude": 37.62},
                }
            }
        )
        # 3802 characters as Telegram counts them
        telegram.send_text(ADMIN, "x" * 3800 + "🙂", language_code=lang)
        await settle(telegram)
        *_, not_text, too_long = [m.text for m in telegram.messages(ADMIN)]
        offered, _, confirm = await compose(
            telegram, text(lang, "broadcast_everyone", count=2), lang
        )
        send_data = confirm.callback_data(confirm.buttons[0])
        assert send_data is not None
        draft = send_data.split(":")[1]
        answers = {
            "non-admin Send": await forged(1, send_data),
            "non-admin Stop": await forged(1, "bcstop:1"),
            "other draft": await forged(ADMIN, f"bcast:{int(draft) ^ 1}:send:0"),
            "audience after choosing": await forged(ADMIN, f"bcast:{draft}:event:999999"),
            "bad number": await forged(ADMIN, "bcast:-1:send:0"),
            "no such broadcast": await forged(ADMIN, "bcstop:999999"),
            "out of range": await forged(ADMIN, "bcstop:0"),
        }
        # the live draft's own Send, pressed in a group (under the bot's answer there)
        group_message = telegram.last_message(GROUP).message_id
        group_send = await forged(ADMIN, send_data, group_message, chat_id=GROUP)
        nothing_sent = sql(url, "select count(*) from broadcasts")
        await send(telegram, confirm, lang)  # the draft lived on in the private chat
        await finished(telegram, confirm, lang)
        group_stop = await forged(ADMIN, "bcstop:1", group_message, chat_id=GROUP)
        answers["Send again"] = await forged(ADMIN, send_data, confirm.message_id)
        # a dropped draft: nothing goes, and its buttons are dead
        telegram.send_text(ADMIN, "/broadcast", language_code=lang)
        telegram.send_text(ADMIN, "Never mind", language_code=lang)
        await settle(telegram)
        choices = telegram.last_message(ADMIN)
        telegram.press(ADMIN, text(lang, "broadcast_cancel"), language_code=lang)
        await settle(telegram)
        dropped = telegram.last_message(ADMIN)
        everyone = choices.callback_data(choices.buttons[0])
        assert everyone is not None
        answers["dropped draft"] = await forged(ADMIN, everyone, choices.message_id)
        # a forged event in a live draft
        telegram.send_text(ADMIN, "/broadcast", language_code=lang)
        telegram.send_text(ADMIN, "Once more", language_code=lang)
        await settle(telegram)
        audiences = telegram.last_message(ADMIN)
        live = audiences.callback_data(text(lang, "broadcast_cancel"))
        live_everyone = audiences.callback_data(audiences.buttons[0])
        assert live is not None and live_everyone is not None
        live_draft = live.split(":")[1]
        answers["no such event"] = await forged(ADMIN, f"bcast:{live_draft}:event:999999")
        answers["everyone with an event"] = await forged(ADMIN, f"bcast:{live_draft}:everyone:5")
        # the live draft's audience button pressed in a group
        group_choose = await forged(ADMIN, live_everyone, group_message, chat_id=GROUP)
        telegram.send_text(ADMIN, "/cancel", language_code=lang)
        await settle(telegram)
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert not_admin == text(lang, "unknown_input")
    assert group_answer == text(lang, "private_only")
    assert [m.text for m in telegram.messages(GROUP)] == [text(lang, "private_only")]
    assert not_text == text(lang, "broadcast_text_only")
    assert too_long == text(lang, "broadcast_too_long", length=3802, max=3800)
    assert offered[0] == text(lang, "broadcast_everyone", count=2)
    assert answers == dict.fromkeys(answers, stale)
    assert [group_send, group_stop, group_choose] == [in_group] * 3
    assert nothing_sent == [(0,)]
    assert dropped.text == text(lang, "broadcast_dropped") and dropped.buttons == []
    assert failed == 0
    assert telegram.unanswered_callbacks == []
    assert [got(telegram, user) for user in (1, 2)] == [[announcement(lang)], [announcement("en")]]
    assert sql(url, "select status from broadcasts") == [("done",)]
