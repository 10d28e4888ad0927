"""The outbox: an update's messages are committed with it and sent after; what Telegram or a
crash kept from going out goes out later, in order, once."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from teambot.adapters.telegram import RetryTransient
from teambot.config import Settings
from teambot.runtime import App
from tests.conftest import running
from tests.fake_telegram import FakeTelegram
from tests.test_faults import echo_router

pytestmark = pytest.mark.anyio

USERS = (1, 2, 3)


def impatient(app: App) -> None:
    """Give up on a failing send after half a second (60 s in production), and sweep often."""
    retry = next(m for m in app.bot.session.middleware if isinstance(m, RetryTransient))
    retry.give_up_after = 0.5
    app.outbox.sweep_every = 0.3


def unsent(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from outbox where sent_at is null").fetchone()
    return int(row[0]) if row else -1


async def test_messages_wait_while_telegram_is_away_and_go_out_once_in_order_after(
    telegram: FakeTelegram, settings: Settings
) -> None:
    async with running(settings, echo_router()) as app:
        impatient(app)
        telegram.inject_fault("sendMessage", "500", times=25)
        sent = [telegram.send_text(user, f"/echo {user}-{n}") for n in range(3) for user in USERS]
        for update_id in sent:
            # handled and confirmed although its answer could not go out yet
            await telegram.wait_confirmed(update_id, timeout=30)
        for user in USERS:
            await telegram.wait_for_messages(user, 3, timeout=60)
        deferred = app.metrics.registry.get_sample_value("teambot_outbox_deferred_total")
        failed = app.metrics.registry.get_sample_value("teambot_updates_failed_total")
    assert deferred and deferred > 0  # the sweep sent some of them
    assert failed == 0
    for user in USERS:
        assert [m.text for m in telegram.messages(user)] == [f"/echo {user}-{n}" for n in range(3)]
    assert unsent(settings.database_conninfo() or "") == 0


async def test_what_a_crash_left_unsent_goes_out_at_start_and_its_update_is_not_redone(
    telegram: FakeTelegram, settings: Settings
) -> None:
    url = settings.database_conninfo() or ""
    # the state a SIGKILL leaves between an update's commit and its sending: the update is
    # handled (its mark and its answer committed), Telegram has not heard so, and sends it
    # again at the next start
    update_id = telegram.send_text(7, "/echo again")
    with psycopg.connect(url) as conn:
        conn.execute("insert into handled_updates (update_id) values (%s)", (update_id,))
        conn.execute(
            "insert into outbox (id, update_id, chat_id, method, payload)"
            " values (1, %s, 7, 'sendMessage', %s)",
            (update_id, Jsonb({"chat_id": 7, "text": "/echo again"})),
        )
    async with running(settings, echo_router()):
        await telegram.wait_confirmed(update_id)
        await telegram.wait_for_messages(7, 1)
    assert [m.text for m in telegram.messages(7)] == ["/echo again"]  # once, not twice
    assert unsent(url) == 0


@pytest.mark.parametrize("session", ["teambot", "aiohttp"])
async def test_a_delivery_reads_the_sent_message_id_from_either_session(
    telegram: FakeTelegram, session: str, anyio_backend: str
) -> None:
    """teambot's session answers a delivery with plain JSON; aiogram's own (the benchmarks'
    stock bot) with the model: either way the outbox learns Telegram's message id, which a
    later edit of the message needs."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.methods import SendMessage

    from teambot.adapters.delivery import deliver
    from teambot.adapters.effects import Outgoing, payload_of
    from teambot.adapters.telegram import BotApiSession

    if session == "aiohttp" and anyio_backend != "asyncio":
        pytest.skip("aiohttp runs on asyncio only")
    bot_session = (
        BotApiSession(telegram.api_url)
        if session == "teambot"
        else AiohttpSession(api=TelegramAPIServer.from_base(telegram.api_url))
    )
    bot = Bot(telegram.token, session=bot_session)
    method = SendMessage(chat_id=7, text="hello <b>there</b>", parse_mode="HTML")
    try:
        delivery = await deliver(bot, Outgoing(1, method, payload_of(bot, method)), {})
    finally:
        await bot.session.close()
    sent = telegram.messages(7)
    assert delivery.outcome == "sent" and delivery.message_id == sent[-1].message_id
    assert sent[-1].text == "hello there"  # the HTML was read as HTML
