"""Telegram's flood limits: nothing sent too fast, nothing dropped, replies before fan-outs."""

from __future__ import annotations

import time

import anyio
import psycopg
import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from teambot.adapters.flood_control import FloodControl, background
from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio

FAN_OUT = 500


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # pacing is backend-neutral anyio code; one backend keeps this quick


async def test_a_fan_out_to_500_users_gets_no_429_and_replies_overtake_it(
    telegram: FakeTelegram, database_url: str
) -> None:
    telegram.flood_limits = True
    settings = make_settings(telegram, database_url, flood_control=True)
    with psycopg.connect(settings.database_conninfo() or "") as conn:
        conn.execute(
            "insert into users (id, display_name, user_type, is_searching, registered_at,"
            " last_active) select g, 'U' || g, 'participant', true, now() - interval '90 days',"
            " now() - interval '60 days' from generate_series(1000, %s) g",
            (1000 + FAN_OUT - 1,),
        )

    def delivered() -> int:
        return sum(len(telegram.messages(user)) for user in range(1000, 1000 + FAN_OUT))

    async with running(settings) as app:
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.cleanup.run_pass)  # "you were inactive, search paused" x 500
            await telegram.wait_until(lambda: delivered() >= 20, what="the fan-out")
            telegram.send_text(1, "/help")
            reply = await telegram.wait_for_messages(1, 1)
            during = delivered()
        elapsed = time.monotonic() - started
    told = [len(telegram.messages(user)) for user in range(1000, 1000 + FAN_OUT)]
    assert told == [1] * FAN_OUT
    assert telegram.flood_rejections == 0
    assert reply[0].text.startswith("/start")
    assert during < FAN_OUT  # the reply did not wait for the fan-out to finish
    metric = app.metrics.registry.get_sample_value
    assert metric("teambot_flood_wait_seconds_count", {"kind": "background"}) == FAN_OUT
    assert metric("teambot_flood_wait_seconds_sum", {"kind": "background"}) > 0
    assert metric("teambot_flood_wait_seconds_count", {"kind": "reply"}) >= 1
    # the timer's own first pass may run too; the advisory lock lets one change the rows
    assert metric("teambot_cleanup_rows_total", {"task": "stop inactive users"}) == FAN_OUT
    assert (
        metric("teambot_cleanup_runs_total", {"task": "stop inactive users", "result": "ok"}) >= 1
    )
    print(f"\n{FAN_OUT} notices in {elapsed:.1f} s: {FAN_OUT / elapsed:.1f} messages/s")


async def test_a_burst_from_one_user_is_smoothed_not_dropped(
    telegram: FakeTelegram, database_url: str
) -> None:
    telegram.flood_limits = True
    settings = make_settings(telegram, database_url, flood_control=True)
    router = Router(name="echo")

    @router.message(Command("echo"))
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    async with running(settings, router):
        for n in range(8):
            telegram.send_text(7, f"/echo {n}")
        replies = await telegram.wait_for_messages(7, 8, timeout=30)
    assert [reply.text for reply in replies] == [f"/echo {n}" for n in range(8)]
    assert telegram.flood_rejections == 0


async def test_a_reply_takes_the_slot_a_background_message_is_waiting_for() -> None:
    """A slow pace (2 a second) so the order does not hang on the machine's timing: the
    background's second message waits half a second for its slot; a reply that comes
    meanwhile goes at once, ahead of it (one slot early), and the background waits on."""
    pacing = FloodControl(per_second=2)
    order: list[str] = []

    async def fan_out() -> None:
        with background():
            for n in range(3):
                await pacing.wait_turn(1000 + n)
                order.append(f"background {n}")

    async with anyio.create_task_group() as tg:
        tg.start_soon(fan_out)
        await anyio.sleep(0.1)  # the first has gone, the second waits for its slot
        await pacing.wait_turn(1)
        order.append("reply")
    assert order == ["background 0", "reply", "background 1", "background 2"]


async def test_a_stall_of_the_event_loop_lets_no_clump_through() -> None:
    """Messages booked for the slots a stall missed would leave together, and Telegram
    would count more than 30 in a second; they are spread out instead."""
    pacing = FloodControl()
    departures: list[float] = []

    async def send(chat: int) -> None:
        await pacing.wait_turn(chat)
        departures.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        for chat in range(1, 61):
            tg.start_soon(send, chat)
        await anyio.sleep(0.4)
        time.sleep(0.35)  # noqa: ASYNC251 - the point: the whole loop stalls, 8 slots go by
    departures.sort()
    busiest = max(sum(1 for t in departures if start <= t < start + 1.0) for start in departures)
    assert busiest <= 29, f"{busiest} messages in one second"
    assert len(departures) == 60
