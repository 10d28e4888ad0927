"""Telegram's flood limits: a fan-out of N messages to N private chats, against the fake
Bot API server in flood-control mode (30 messages/s overall, 1/s per chat with a burst
of 3, answering 429 past that).

  stock  aiogram's default session, all messages sent at once (a typical broadcast loop
         with asyncio.gather): a 429 raises TelegramRetryAfter and that message is lost
  ours   teambot's session (flood control + 429 handling), same concurrency, asyncio and
         trio; one reply to a user is sent midway, to show it does not wait for the fan-out

Run: python -m bench.flood [N]   (default 500; from the repository root)
"""

from __future__ import annotations

import asyncio
import sys
import time
from contextlib import suppress

import anyio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter

from teambot.adapters.flood_control import background
from teambot.adapters.telegram import create_bot
from teambot.health import Health
from teambot.metrics import Metrics
from tests.fake_telegram import FakeTelegram

LIMIT = 30.0


def report(name: str, fake: FakeTelegram, n: int, elapsed: float, extra: str = "") -> None:
    delivered = sum(len(fake.messages(chat)) for chat in range(1000, 1000 + n))
    rate = delivered / elapsed
    print(
        f"{name:<16} delivered {delivered:>4}/{n}  429s {fake.flood_rejections:>4}  "
        f"{elapsed:5.1f} s  {rate:5.1f} msg/s ({rate / LIMIT:4.0%} of the limit){extra}"
    )


async def stock(n: int) -> None:
    with FakeTelegram(flood_limits=True) as fake:
        bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.api_url)))
        started = time.perf_counter()

        async def send(chat: int) -> None:
            # what a bot without 429 handling does: the message is gone
            with suppress(TelegramRetryAfter):
                await bot.send_message(chat, "New profiles match you")

        await asyncio.gather(*(send(chat) for chat in range(1000, 1000 + n)))
        report("stock aiogram", fake, n, time.perf_counter() - started)
        await bot.session.close()


async def ours(n: int) -> None:
    with FakeTelegram(flood_limits=True) as fake:
        bot = create_bot(fake.token, fake.api_url, Health(stale_after=60), Metrics())
        reply_latency = 0.0

        async def send(chat: int) -> None:
            with background():
                await bot.send_message(chat, "New profiles match you")

        async def reply_midway() -> None:
            nonlocal reply_latency
            await anyio.sleep(n / LIMIT / 2)
            sent = time.perf_counter()
            await bot.send_message(1, "a reply to a user")
            reply_latency = time.perf_counter() - sent

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(reply_midway)
            for chat in range(1000, 1000 + n):
                tg.start_soon(send, chat)
        elapsed = time.perf_counter() - started
        backend = sniff_backend()
        report(
            f"teambot/{backend}",
            fake,
            n,
            elapsed,
            f"  reply midway waited {reply_latency * 1000:.0f} ms",
        )
        await bot.session.close()


def sniff_backend() -> str:
    import sniffio

    return sniffio.current_async_library()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(f"fan-out of {n} messages to {n} private chats; Telegram allows {LIMIT:.0f}/s")
    asyncio.run(stock(n))
    anyio.run(ours, n, backend="asyncio")
    anyio.run(ours, n, backend="trio")


if __name__ == "__main__":
    main()
