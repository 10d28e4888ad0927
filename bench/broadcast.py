"""A broadcast, end to end: the whole bot (in this process) against the fake Bot API, an
admin's /broadcast to N registered people, confirmed with the buttons; meanwhile people ask
/help one after another, and the same before the broadcast, so a reply's wait with and
without a broadcast running can be compared.

Printed: delivered, the 429s the fake answered, the time from Send to the last line of the
admin's progress message, messages/s; a /help's wait for its reply (from the update given to
the fake to the bot's sendMessage reaching it) before the broadcast and while it runs, median
and range over the replies; the database work per message (round trips and transactions of
the whole process during the broadcast, counted as tests/test_round_trips.py counts them),
the admin's figures and the pacing check at N recipients, and the process's RSS before and
after.

Run: python -m bench.broadcast [N] [--replies K] [--no-flood]   (default 300 recipients and
7 replies each way in the fake's flood mode, about 15 s at Telegram's 30 messages/s;
--no-flood: no limits anywhere, the ceiling of the bot's own work, e.g.
python -m bench.broadcast 10000 --no-flood)
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import anyio
import psutil
import psycopg
from psycopg.rows import dict_row

from bench.harness import (
    COUNTERS,
    Postgres,
    Spread,
    count_teambot_database,
    machine_load,
    new_fake,
)
from teambot.config import load_settings
from teambot.data import broadcasts
from teambot.logs import setup_logging
from teambot.runtime import build_app, serve

ADMIN = 900
FIRST = 1000
QUIET_ASKERS = 100  # ids from here on ask /help before the broadcast
BUSY_ASKERS = 200  # and from here on while it runs
GAP = 0.3  # seconds between one reply and the next question


async def broadcast(n: int, replies: int, flood: bool) -> None:
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

        async def reply_wait(user: int) -> float:
            """From the update given to the fake to the reply's sendMessage reaching it
            (each asker is a new person: the same work every time)."""
            asked = time.monotonic()
            fake.send_text(user, "/help")
            await fake.wait_for_messages(user, 1, timeout=60)
            [reply] = [c for c in fake.calls_of("sendMessage") if int(c.params["chat_id"]) == user]
            return reply.at - asked

        def paced() -> tuple[float, float]:
            """The replies' waits under the flood limits so far: total seconds, how many."""
            metric = app.metrics.registry.get_sample_value
            labels = {"kind": "reply"}
            return (
                metric("teambot_flood_wait_seconds_sum", labels) or 0.0,
                metric("teambot_flood_wait_seconds_count", labels) or 0.0,
            )

        async def replies_waits(first: int, while_sending: bool) -> list[float]:
            waits: list[float] = []
            for user in range(first, first + replies):
                wait = await reply_wait(user)
                if while_sending and delivered() >= n:
                    break  # the broadcast was over before this reply: not counted
                waits.append(wait)
                await anyio.sleep(GAP)
            return waits

        async with anyio.create_task_group() as tg:
            await tg.start(partial(serve, app, handle_signals=False))
            fake.send_text(QUIET_ASKERS - 1, "/help")  # the first update warms the process
            await fake.wait_for_messages(QUIET_ASKERS - 1, 1, timeout=60)
            before = paced()
            quiet = await replies_waits(QUIET_ASKERS, while_sending=False)
            quiet_paced = _mean_since(before, paced())
            await step(fake.send_text(ADMIN, "/broadcast"))
            await step(fake.send_text(ADMIN, "Demo day on Friday, 18:00"))
            everyone = next(b for b in fake.last_message(ADMIN).buttons if "Everyone" in b)
            await step(fake.press(ADMIN, everyone))
            confirm = fake.last_message(ADMIN)
            rss_before = psutil.Process().memory_info().rss
            counted = COUNTERS.snapshot()
            started = time.monotonic()
            fake.press(ADMIN, confirm.buttons[0])
            await fake.wait_until(lambda: delivered() >= n // 10, timeout=3600, what="a tenth")
            before = paced()
            busy = await replies_waits(BUSY_ASKERS, while_sending=True)
            busy_paced = _mean_since(before, paced())  # the admin's progress edits too

            def over() -> bool:
                [progress] = [m for m in fake.messages(ADMIN) if m.message_id == confirm.message_id]
                return "Done" in progress.text

            await fake.wait_until(over, timeout=3600, what="the last line")
            elapsed = time.monotonic() - started
            work = COUNTERS.snapshot()
            rss_after = psutil.Process().memory_info().rss
            app.supervisor.request_stop()
        with psycopg.connect(url, row_factory=dict_row) as conn:
            started_at = time.perf_counter()
            broadcasts.progress(conn, 1)
            progress_query = time.perf_counter() - started_at
            started_at = time.perf_counter()
            broadcasts.pace(conn, 1)
            pace_query = time.perf_counter() - started_at
        sent = delivered()
        round_trips = work["round_trips"] - counted["round_trips"]
        transactions = work["transactions"] - counted["transactions"]
        print(f"{machine_load()}; flood limits {'on' if flood else 'off'}")
        print(
            f"delivered {sent}/{n}  429s {fake.flood_rejections}  {elapsed:.1f} s"
            f"  {sent / elapsed:.1f} msg/s"
        )
        print(
            f"a reply's wait, median [range] over the replies: without a broadcast"
            f" {_ms(quiet)} ms ({len(quiet)}), while it runs {_ms(busy)} ms ({len(busy)});"
            f" of which under the flood limits, mean: {quiet_paced * 1000:.1f} ms and"
            f" {busy_paced * 1000:.1f} ms"
        )
        print(
            f"database per message: {round_trips / sent:.2f} round trips,"
            f" {transactions / sent:.3f} transactions (the whole process)"
            f"  at {n} recipients: the figures {progress_query * 1000:.1f} ms (every 3 s),"
            f" the pacing check {pace_query * 1000:.1f} ms (every batch)"
        )
        print(f"RSS {rss_before / 2**20:.0f} MB before, {rss_after / 2**20:.0f} MB after")
    finally:
        fake.stop()
        postgres.drop(name)
        postgres.close()


def _mean_since(before: tuple[float, float], after: tuple[float, float]) -> float:
    count = after[1] - before[1]
    return (after[0] - before[0]) / count if count else 0.0


def _ms(waits: list[float]) -> str:
    return Spread(tuple(waits)).show(lambda seconds: f"{seconds * 1000:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=300)
    parser.add_argument("--replies", type=int, default=7)
    parser.add_argument("--no-flood", action="store_true")
    args = parser.parse_args()
    setup_logging("WARNING")
    anyio.run(broadcast, args.n, args.replies, not args.no_flood)


if __name__ == "__main__":
    main()
