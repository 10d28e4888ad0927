"""A broadcast, end to end: the whole bot (in this process) against the fake Bot API, an
admin's /broadcast to N registered people, confirmed with the buttons, and a person's /help
sent when a third has gone out.

Printed: delivered, the 429s the fake answered, the time from Send to the last line of the
admin's progress message, messages/s, how long the /help waited for its reply, the database
work per message (round trips and transactions of the whole process during the broadcast,
counted as tests/test_round_trips.py counts them), the admin's progress query at N
recipients, and the process's RSS before and after.

Run: python -m bench.broadcast [N] [--no-flood]   (default 1000 in the fake's flood mode,
about 40 s at Telegram's 30 messages/s; --no-flood: no limits anywhere, the ceiling of the
bot's own work, e.g. python -m bench.broadcast 10000 --no-flood)
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import anyio
import psutil
import psycopg

from bench.harness import COUNTERS, Postgres, count_teambot_database, machine_load, new_fake
from teambot.config import load_settings
from teambot.data.broadcasts import _PROGRESS
from teambot.logs import setup_logging
from teambot.runtime import build_app, serve

ADMIN = 900
FIRST = 1000
ASKING = 7  # sends /help midway


async def broadcast(n: int, flood: bool) -> None:
    postgres = Postgres()
    fake, _ = new_fake(flood_limits=flood)
    fake.start()
    name, url = postgres.fresh()
    try:
        with psycopg.connect(url) as conn:
            conn.execute(
                "insert into users (id, first_name, display_name, user_type, registered_at)"
                " select g, 'U' || g, 'U' || g, 'participant', now()"
                " from generate_series(%s::bigint, %s::bigint) g",
                (FIRST, FIRST + n - 1),
            )
        settings = load_settings(
            bot_token=fake.token,
            telegram_api_url=fake.api_url,
            database_url=url,
            admin_ids=str(ADMIN),
            flood_control=flood,
            http_port=0,
            poll_timeout_seconds=2,
            _env_file=None,
        )
        count_teambot_database()
        app = build_app(settings, url)

        def delivered() -> int:
            return sum(1 for user in range(FIRST, FIRST + n) if fake.messages(user))

        async def step(update_id: int) -> None:
            await fake.wait_until(lambda: fake.pending_update_count == 0, what="handled")
            await anyio.sleep(0.2)

        async with anyio.create_task_group() as tg:
            await tg.start(partial(serve, app, handle_signals=False))
            await step(fake.send_text(ADMIN, "/broadcast"))
            await step(fake.send_text(ADMIN, "Demo day on Friday, 18:00"))
            everyone = next(b for b in fake.last_message(ADMIN).buttons if "Everyone" in b)
            await step(fake.press(ADMIN, everyone))
            confirm = fake.last_message(ADMIN)
            rss_before = psutil.Process().memory_info().rss
            counted = COUNTERS.snapshot()
            started = time.monotonic()
            fake.press(ADMIN, confirm.buttons[0])
            await fake.wait_until(lambda: delivered() >= n // 3, timeout=3600, what="a third")
            asked = time.monotonic()
            fake.send_text(ASKING, "/help")
            await fake.wait_for_messages(ASKING, 1, timeout=60)
            reply_wait = time.monotonic() - asked

            def over() -> bool:
                [progress] = [m for m in fake.messages(ADMIN) if m.message_id == confirm.message_id]
                return "Done" in progress.text

            await fake.wait_until(over, timeout=3600, what="the last line")
            elapsed = time.monotonic() - started
            work = COUNTERS.snapshot()
            rss_after = psutil.Process().memory_info().rss
            app.supervisor.request_stop()
        with psycopg.connect(url) as conn:
            started_at = time.perf_counter()
            conn.execute(_PROGRESS, (1,)).fetchone()
            progress_query = time.perf_counter() - started_at
        sent = delivered()
        round_trips = work["round_trips"] - counted["round_trips"]
        transactions = work["transactions"] - counted["transactions"]
        print(f"{machine_load()}; flood limits {'on' if flood else 'off'}")
        print(
            f"delivered {sent}/{n}  429s {fake.flood_rejections}  {elapsed:.1f} s"
            f"  {sent / elapsed:.1f} msg/s  /help answered in {reply_wait * 1000:.0f} ms"
        )
        print(
            f"database per message: {round_trips / sent:.2f} round trips,"
            f" {transactions / sent:.3f} transactions (the whole process)"
            f"  progress query at {n}: {progress_query * 1000:.1f} ms"
        )
        print(f"RSS {rss_before / 2**20:.0f} MB before, {rss_after / 2**20:.0f} MB after")
    finally:
        fake.stop()
        postgres.drop(name)
        postgres.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--no-flood", action="store_true")
    args = parser.parse_args()
    setup_logging("WARNING")
    anyio.run(broadcast, args.n, not args.no_flood)


if __name__ == "__main__":
    main()
