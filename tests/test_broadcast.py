"""/broadcast: an admin's announcement, previewed with its count, sent at background
priority through the outbox in batches, followed in one edited message, stoppable, resumed
after a restart without anyone getting it twice; and opting out in /profile."""

from __future__ import annotations

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
            " from generate_series(%s, %s) g",
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


def got(telegram: FakeTelegram, user: int) -> list[str]:
    return [m.text for m in telegram.messages(user) if "organizers" in m.text or "организатор" in m.text]


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
    telegram: FakeTelegram, confirm: SentMessage, lang: str = "en", timeout: float = 60
) -> SentMessage:
    endings = (text(lang, "broadcast_done"), text(lang, "broadcast_stopped"))
    await telegram.wait_until(
        lambda: progress(telegram, confirm).text.endswith(endings),
        timeout=timeout,
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
