"""Telegram's flood limits: a fan-out of N messages to N private chats, against the fake
Bot API server in flood-control mode (30 messages/s overall, 1/s per chat with a burst
of 3, answering 429 with retry_after past that).

  stock  aiogram's default session and a broadcast loop written with care: every message
         sent at once (asyncio.gather), and a 429 (TelegramRetryAfter) waits the
         retry_after it was told and tries again, until the message is delivered
  ours   teambot's session (flood control: paced under the limits, 429s honoured), the same
         concurrency, asyncio and trio

Both send one reply to a user midway (stock with the same retry loop), to show whether a
reply waits for the fan-out. Printed for each: messages delivered, the 429s the server
answered, the flood wait those told (the sum of their retry_after, and the longest), the
time to deliver everything, and the reply's wait.

Run: python -m bench.flood [N]   (default 500; about a minute; from the repository root)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from bench.harness import machine_load
from teambot.adapters.flood_control import background
from teambot.adapters.telegram import create_bot
from teambot.health import Health
from teambot.metrics import Metrics
from tests.fake_telegram import FakeTelegram

LIMIT = 30.0
TEXT = "New profiles match you"
FIRST_CHAT = 1000


class FloodWaits:
    """The retry_after of every 429 the fake answers."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.told: list[int] = []
        check = fake._check_flood

        def checked(chat_id: int) -> None:
            try:
                check(chat_id)
            except Exception as exc:
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    self.told.append(int(retry_after))
                raise

        fake._check_flood = checked  # type: ignore[method-assign]


def report(
    name: str, fake: FakeTelegram, waits: FloodWaits, n: int, elapsed: float, reply: float
) -> None:
    delivered = sum(len(fake.messages(chat)) for chat in range(FIRST_CHAT, FIRST_CHAT + n))
    rate = delivered / elapsed
    told = waits.told
    print(
        f"{name:<16} delivered {delivered:>4}/{n}  429s {len(told):>5}"
        f"  flood wait told {sum(told):>5} s (longest {max(told, default=0)} s)"
        f"  {elapsed:5.1f} s  {rate:5.1f} msg/s ({rate / LIMIT:4.0%} of the limit)"
        f"  reply midway waited {reply * 1000:5.0f} ms"
    )


async def fan_out(
    n: int, send: Callable[[int, str], Coroutine[Any, Any, None]]
) -> tuple[float, float]:
    """All N at once and a reply midway; (seconds for everything, the reply's wait)."""
    reply_wait = 0.0

    async def reply_midway() -> None:
        nonlocal reply_wait
        await anyio.sleep(n / LIMIT / 2)
        sent = time.perf_counter()
        await send(1, "a reply to a user")
        reply_wait = time.perf_counter() - sent

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(reply_midway)
        for chat in range(FIRST_CHAT, FIRST_CHAT + n):
            tg.start_soon(send, chat, TEXT)
    return time.perf_counter() - started, reply_wait


async def stock(n: int) -> None:
    fake = FakeTelegram(flood_limits=True)
    waits = FloodWaits(fake)
    with fake:
        bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.api_url)))

        async def send(chat: int, text: str) -> None:
            while True:
                try:
                    await bot.send_message(chat, text)
                    return
                except TelegramRetryAfter as exc:
                    await asyncio.sleep(exc.retry_after)

        elapsed, reply = await fan_out(n, send)
        report("stock aiogram", fake, waits, n, elapsed, reply)
        await bot.session.close()


async def ours(n: int) -> None:
    fake = FakeTelegram(flood_limits=True)
    waits = FloodWaits(fake)
    with fake:
        bot = create_bot(fake.token, fake.api_url, Health(stale_after=60), Metrics())

        async def send(chat: int, text: str) -> None:
            if chat == 1:
                await bot.send_message(chat, text)  # a reply
                return
            with background():
                await bot.send_message(chat, text)

        elapsed, reply = await fan_out(n, send)
        report(f"teambot/{sniff_backend()}", fake, waits, n, elapsed, reply)
        await bot.session.close()


def sniff_backend() -> str:
    import sniffio

    return sniffio.current_async_library()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(f"fan-out of {n} messages to {n} private chats; Telegram allows {LIMIT:.0f}/s")
    print(f"at the start: {machine_load()}")
    asyncio.run(stock(n))
    anyio.run(ours, n, backend="asyncio")
    anyio.run(ours, n, backend="trio")
    print(f"at the end: {machine_load()}")


if __name__ == "__main__":
    main()
