"""Webhook mode (UPDATES_MODE=webhook): the fake Bot API POSTs updates the way Telegram
does (each chat's updates one at a time, at most max_connections at once, retried on a
non-2xx answer), through a stand-in for the reverse proxy to the bot's HTTP listener.

An update is answered 200 only once it is in the inbox; without the secret a POST is
refused; while the database is away the answer is 503 and Telegram's retry brings the
update in later; an update stored before a crash is handled after the start; switching
modes leaves no webhook or poll behind."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import psycopg
import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from loguru import logger

from teambot.actors.pipeline import inbox as inbox_module
from teambot.config import ConfigError, Settings, load_settings
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_faults import USERS, echo_router, every_update_answered
from tests.test_operations import free_port

pytestmark = pytest.mark.anyio

URL = "https://bot.example.test/telegram/updates"
SECRET = "webhook-secret-0123456789abcdef"


def webhook_settings(telegram: FakeTelegram, database_url: str, **overrides: object) -> Settings:
    port = free_port()
    telegram.webhook_proxy = f"http://127.0.0.1:{port}"
    values: dict[str, object] = {
        "updates_mode": "webhook",
        "webhook_url": URL,
        "webhook_secret": SECRET,
        "webhook_max_connections": 8,
        "http_port": port,
    }
    values.update(overrides)
    return make_settings(telegram, database_url, **values)


def endpoint(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.http_port}/telegram/updates"


def inbox_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select count(*) from inbox").fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), format="{level} {message}", level="INFO")
    yield lines
    logger.remove(sink)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_conversation_over_the_webhook_is_answered_and_nothing_is_left_behind(
    telegram: FakeTelegram, database_url: str, lang: str
) -> None:
    settings = webhook_settings(telegram, database_url)
    async with running(settings):
        [set_call] = telegram.calls_of("setWebhook")
        assert set_call.params["url"] == URL
        assert set_call.params["secret_token"] == SECRET
        assert set_call.params["max_connections"] == 8
        assert {"message", "callback_query"} <= set(set_call.params["allowed_updates"])
        telegram.send_text(1, "/start", language_code=lang)
        [menu] = await telegram.wait_for_messages(1, 1)
        telegram.press(1, "English" if lang == "en" else "Русский")
        await telegram.wait_until(lambda: not telegram.unanswered_callbacks, what="answered")
        for _ in range(5):  # a burst from several people, each answered in order
            for user in (2, 3, 4):
                telegram.send_text(user, "/help", language_code=lang)
        for user in (2, 3, 4):
            await telegram.wait_for_messages(user, 5)
        await telegram.wait_until(lambda: telegram.pending_update_count == 0, what="delivered")
        await telegram.wait_until(lambda: inbox_rows(database_url) == 0, what="inbox drained")
    assert telegram.calls_of("getUpdates") == []
    assert all(status == 200 for _, status in telegram.webhook_posts)
    assert len(telegram.webhook_posts) == 17  # each update POSTed once
    assert telegram.last_message(1).text != menu.text  # the press moved the dialogue on


async def test_posts_without_the_secret_or_not_an_update_store_nothing(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = webhook_settings(telegram, database_url)
    telegram.webhook_proxy = None  # only this test's own requests arrive
    update = {"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": 9}}}
    async with running(settings), httpx.AsyncClient(trust_env=False, timeout=10) as client:
        url = endpoint(settings)
        header = "X-Telegram-Bot-Api-Secret-Token"
        forged = await client.post(url, json=update, headers={header: SECRET[:-1] + "x"})
        missing = await client.post(url, json=update)
        fetched = await client.get(url, headers={header: SECRET})
        not_json = await client.post(url, content=b"{nope", headers={header: SECRET})
        no_id = await client.post(url, json={"message": {}}, headers={header: SECRET})
        assert [r.status_code for r in (forged, missing, fetched, not_json, no_id)] == [
            401, 401, 405, 400, 400
        ]  # fmt: skip
        assert inbox_rows(database_url) == 0
        # the real thing, twice (Telegram sends again when it missed our answer)
        first = await client.post(url, json=update, headers={header: SECRET})
        again = await client.post(url, json=update, headers={header: SECRET})
        assert (first.status_code, again.status_code) == (200, 200)
        await anyio.sleep(0.5)
        with psycopg.connect(database_url) as conn:
            handled = conn.execute("select count(*) from handled_updates where update_id = 5")
            assert handled.fetchone() == (1,)
        assert inbox_rows(database_url) == 0
        third = await client.post(url, json=update, headers={header: SECRET})  # after handling
        assert third.status_code == 200
        await anyio.sleep(0.3)
        huge = await client.post(url, content=b" " * (2 << 20), headers={header: SECRET})
        assert huge.status_code == 413
    assert inbox_rows(database_url) == 0  # handled once: not stored again
    assert [m.text for m in telegram.messages(9)] == []  # a chat of no one: nothing said


async def test_while_the_database_is_away_posts_get_503_and_telegram_brings_them_later(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = webhook_settings(telegram, database_url)
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    maintenance = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    async with running(settings, echo_router()):
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"alter database {dbname} with allow_connections false")
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (dbname,),
            )
        try:
            for n in range(3):
                for user in USERS:
                    telegram.send_text(user, f"/echo {user}-{n}")
            # each POST within 2 s (STORE_WITHIN_SECONDS), well inside Telegram's wait for
            # an answer; the first may come after the fake's backoff from a timed-out one
            await telegram.wait_until(
                lambda: any(status == 503 for _, status in telegram.webhook_posts),
                timeout=20,
                what="a refused POST",
            )
            assert sum(len(telegram.messages(user)) for user in USERS) == 0
        finally:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f"alter database {dbname} with allow_connections true")
        await every_update_answered(telegram, 3)
        await telegram.wait_until(lambda: telegram.pending_update_count == 0, what="delivered")
    info = telegram.calls_of("getWebhookInfo")
    assert info  # the heartbeat asked at start
    assert inbox_rows(database_url) == 0


async def test_updates_stored_before_a_crash_are_handled_after_the_start(
    telegram: FakeTelegram, database_url: str
) -> None:
    settings = webhook_settings(telegram, database_url)
    async with running(settings, echo_router()):
        pass  # migrated; the inbox exists
    stored = [
        {
            "update_id": 900 + n,
            "message": {
                "message_id": n + 1,
                "date": 0,
                "chat": {"id": 7, "type": "private", "first_name": "A"},
                "from": {"id": 7, "is_bot": False, "first_name": "A"},
                "text": f"/echo 7-{n}",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        for n in range(3)
    ]
    with psycopg.connect(database_url) as conn:
        for update in stored:
            conn.execute(
                "insert into inbox (update_id, body) values (%s, %s)",
                (update["update_id"], json.dumps(update)),
            )
    async with running(settings, echo_router()):
        replies = await telegram.wait_for_messages(7, 3)
        await telegram.wait_until(lambda: inbox_rows(database_url) == 0, what="inbox drained")
    assert [r.text for r in replies] == [f"/echo 7-{n}" for n in range(3)]  # in order


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_an_update_carrying_a_nul_is_stored_and_answered(
    telegram: FakeTelegram, database_url: str, mode: str
) -> None:
    # jsonb refuses U+0000: such an update was answered 503 for ever (Telegram retrying,
    # the chat's later updates stuck behind it) or crashed the poller
    settings = (
        webhook_settings(telegram, database_url)
        if mode == "webhook"
        else make_settings(telegram, database_url)
    )
    async with running(settings):
        telegram.send_text(4, "/help\x00", language_code="ru")
        telegram.send_text(4, "/help", language_code="ru")
        first, second = await telegram.wait_for_messages(4, 2)
        await telegram.wait_until(lambda: inbox_rows(database_url) == 0, what="inbox drained")
    assert second.text.startswith("/start — регистрация")
    assert first.text


async def test_switching_modes_leaves_no_webhook_or_poll_behind(
    telegram: FakeTelegram, database_url: str
) -> None:
    webhook = webhook_settings(telegram, database_url)
    async with running(webhook):
        assert telegram.webhook_url == URL
    telegram.send_text(1, "/help")  # arrives while nobody runs: Telegram keeps it
    async with running(make_settings(telegram, database_url)):  # polling again
        await telegram.wait_for_messages(1, 1)
        assert telegram.webhook_url == ""
        assert telegram.calls_of("deleteWebhook")
    telegram.send_text(2, "/help")
    async with running(webhook):
        await telegram.wait_for_messages(2, 1)
        assert telegram.webhook_url == URL
    assert any(update_id for update_id, status in telegram.webhook_posts if status == 200)


async def test_the_heartbeat_reports_failed_deliveries_and_sets_a_removed_webhook_again(
    telegram: FakeTelegram,
    database_url: str,
    log_lines: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_module, "HEARTBEAT_SECONDS", 0.3)
    settings = webhook_settings(telegram, database_url)
    proxy = telegram.webhook_proxy
    async with running(settings):
        telegram.webhook_proxy = f"http://127.0.0.1:{free_port()}"  # the proxy points nowhere
        telegram.send_text(1, "/help")
        await telegram.wait_until(
            lambda: any("failed delivery" in line for line in log_lines), what="a warning"
        )
        telegram.webhook_proxy = proxy  # fixed: Telegram's retry gets through
        await telegram.wait_for_messages(1, 1)
        # another setup of the same bot removes the webhook: it is set again
        telegram.delete_webhook_elsewhere()
        await telegram.wait_until(lambda: telegram.webhook_url == URL, what="set again")
    [warning] = [line for line in log_lines if "failed delivery" in line]
    assert warning.startswith("WARNING") and "Connection refused" in warning
    assert any("removed elsewhere" in line for line in log_lines)
    assert not any(SECRET in line for line in log_lines)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, "UPDATES_MODE=webhook: set WEBHOOK_URL and WEBHOOK_SECRET"),
        ({"webhook_url": "http://bot.example.org/t", "webhook_secret": SECRET}, "WEBHOOK_URL:"),
        ({"webhook_url": "https://bot.example.org:8080/t", "webhook_secret": SECRET}, "ports"),
        ({"webhook_url": "https://bot.example.org/metrics", "webhook_secret": SECRET}, "path"),
        ({"webhook_url": URL, "webhook_secret": "short"}, "WEBHOOK_SECRET: expected 16"),
        ({"webhook_url": URL, "webhook_secret": SECRET, "http_port": 0}, "HTTP_PORT must not"),
    ],
)
def test_webhook_settings_are_checked_one_clear_line_each(
    overrides: dict[str, object], problem: str
) -> None:
    values: dict[str, object] = {"updates_mode": "webhook", "http_port": 8080}
    values.update(overrides)
    with pytest.raises(ConfigError) as refused:
        load_settings(require_token=False, _env_file=None, **values)
    [line] = refused.value.problems
    assert problem in line
    assert SECRET not in line


async def test_a_webhook_telegram_refuses_at_start_is_set_a_moment_later(
    telegram: FakeTelegram, database_url: str
) -> None:
    telegram.inject_fault("setWebhook", "500", times=2)
    async with running(webhook_settings(telegram, database_url)):
        await telegram.wait_until(lambda: telegram.webhook_url == URL, what="set", timeout=15)
        telegram.send_text(1, "/help")
        await telegram.wait_for_messages(1, 1)
    assert [c.status for c in telegram.calls_of("setWebhook")][:2] == [500, 500]


async def test_while_every_slot_is_taken_the_inbox_age_keeps_growing(
    telegram: FakeTelegram, database_url: str
) -> None:
    """The operator's view of updates waiting behind a saturated bot: the age on /metrics
    (and so the TeambotInboxOld alert) rises while nothing is read, and falls once the
    backlog is through."""
    settings = webhook_settings(telegram, database_url)
    release = anyio.Event()
    router = Router(name="hold")

    @router.message(Command("hold"))
    async def hold(message: Message) -> None:
        await release.wait()  # every slot stays taken until the test lets go
        await message.answer("done")

    def stored(first: int, count: int) -> None:
        with psycopg.connect(database_url) as conn:
            for n in range(first, first + count):
                user = {"id": 5000 + n, "is_bot": False, "first_name": "A"}
                update = {
                    "update_id": 2000 + n,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {**user, "type": "private"},
                        "from": user,
                        "text": "/hold",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                    },
                }
                conn.execute(
                    "insert into inbox (update_id, body) values (%s, %s)",
                    (update["update_id"], json.dumps(update)),
                )

    async def exposed_age() -> float:
        async with httpx.AsyncClient() as client:
            body = (await client.get(f"http://127.0.0.1:{settings.http_port}/metrics")).text
        line = next(x for x in body.splitlines() if x.startswith("teambot_inbox_oldest_age"))
        return float(line.split()[-1])

    async with running(settings, router) as app:
        limit = app.poller.max_in_flight
        stored(1, limit + 20)  # 20 more than the bot takes at once: they wait in the inbox
        await telegram.wait_until(lambda: app.ledger.in_flight == limit, what="every slot taken")
        first = await exposed_age()
        await anyio.sleep(inbox_module.AGE_EVERY + 2)
        assert await exposed_age() >= first + inbox_module.AGE_EVERY
        release.set()
        await telegram.wait_until(lambda: inbox_rows(database_url) == 0, what="inbox drained")
        await telegram.wait_until(lambda: app.ledger.in_flight == 0, what="every update handled")
    async with running(settings, router) as app:  # a fresh read at the start
        assert await exposed_age() == 0
