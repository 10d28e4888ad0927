"""Capacity: teambot against the least a bot can do per update, both fed the same bursts.

    python -m bench.capacity [--runs 5] [--burst 200] [--bursts 3]
        [--backend both|asyncio|trio] [--reference-autocommit] [--reference-fixes] [--quick]

  reference  a trivial stock aiogram bot: Dispatcher.start_polling, its default
             AiohttpSession, one handler that upserts one row per update through psycopg's
             AsyncConnectionPool (`async with pool.connection()`: BEGIN, the upsert,
             COMMIT; with --reference-autocommit the upsert alone) and answers /help with
             one message, teambot's own help text; with --reference-fixes it also gets
             the fixes of aiogram teambot applies at start (Response models kept, the
             middleware wrapper, routing) and teambot's collector settings
  ours       teambot as it runs (teambot.runtime.build_app + serve), asyncio or trio, with
             the settings bench.throughput gives it

Both in subprocesses of their own, on a fresh copy of one migrated database of the same
PostgreSQL, with the same pool size (teambot's DB_POOL_MIN_SIZE..DB_POOL_MAX_SIZE), against
the same fake Bot API server (tests/fake_telegram.py, real HTTP on 127.0.0.1, no flood
limits), outgoing pacing off (teambot's FLOOD_CONTROL off; stock has none). Each run: one
warm-up burst (not counted: connections opened, the 200 users' rows written once), then
--bursts bursts of --burst /help updates at once, one per user, the same users each time.
Runs alternate (the order turns by one each round); figures are the median over --runs
with the range [min–max], and ours/reference the ratio of the medians. Latency: from the
update being put on the server to its answer reaching the server. Database work as in
bench.throughput (bench/harness.py).

The issue's target: ours ≥ 0.8× the reference's updates/s (aim 1.0×), p99 not worse.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import (
    COUNTERS,
    ContenderProcess,
    Control,
    CountingAsyncConnection,
    DatabaseWork,
    Phase,
    Postgres,
    Spread,
    count,
    logs_dir,
    machine_cpu,
    machine_load,
    mb,
    ms,
    new_fake,
    own_cpu,
    print_table,
    ratio,
    report_logs,
    rotations,
    run_burst,
    tenths,
)
from bench.throughput import Contender, contender_settings, start_contender

UPSERT = """
    insert into capacity_seen (user_id, last_message, seen_at) values (%s, %s, now())
    on conflict (user_id) do update
    set last_message = excluded.last_message, seen_at = excluded.seen_at
"""
REFERENCE_TABLE = """
    create table capacity_seen (
        user_id bigint primary key, last_message bigint not null, seen_at timestamptz not null
    )
"""
FIRST_USER = 3_000_000


def times(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.2f}×"


def hundredths(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.2f}"


# --- the reference, in its own process -----------------------------------------------------


async def run_reference(config: dict[str, Any], control: Control) -> None:
    import asyncio

    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.filters import Command
    from aiogram.types import Message
    from psycopg_pool import AsyncConnectionPool

    from teambot.texts import text

    if config["fixes"]:
        # teambot's own start-up fixes of aiogram (adapters/telegram.py patch_aiogram)
        from teambot.adapters.telegram import patch_aiogram

        patch_aiogram()
    settings = contender_settings(config)
    help_text = text("en", "help")
    pool = AsyncConnectionPool(
        config["conninfo"],
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        connection_class=CountingAsyncConnection,  # counts round trips, as ours are counted
        kwargs={"autocommit": config["autocommit"]},
        open=False,
    )
    await pool.open(wait=True)
    router = Router()

    @router.message(Command("help"))
    async def help_(message: Message) -> None:
        assert message.from_user is not None
        async with pool.connection() as conn:
            await conn.execute(UPSERT, (message.from_user.id, message.message_id))
        await message.answer(help_text)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    session = AiohttpSession(api=TelegramAPIServer.from_base(config["api_url"]))
    bot = Bot(config["token"], session=session, default=DefaultBotProperties(parse_mode="HTML"))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    control.on_stop = lambda: loop.call_soon_threadsafe(stop.set)
    control.send("started", **control.counters.snapshot())
    try:
        polling = asyncio.create_task(
            dispatcher.start_polling(
                bot, handle_signals=False, polling_timeout=settings.poll_timeout_seconds
            )
        )
        if config["fixes"]:
            # and its collector settings (runtime.py)
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
        control.ready()
        await stop.wait()
        await dispatcher.stop_polling()
        await polling
    finally:
        await pool.close()


def reference_main(config: dict[str, Any]) -> None:
    import asyncio

    from teambot.logs import setup_logging

    setup_logging(os.environ.get("TEAMBOT_BENCH_LOG_LEVEL", "WARNING"))
    control = Control(COUNTERS)
    asyncio.run(run_reference(config, control))
    control.send("stopped", **COUNTERS.snapshot())


# --- the parent -------------------------------------------------------------------------


REFERENCE = Contender("reference", "asyncio")


def title(contender: Contender) -> str:
    return "reference" if contender == REFERENCE else contender.title


@dataclass
class Run:
    burst: Phase
    work: DatabaseWork
    cpu: float  # the bot's, seconds
    main_cpu: float  # of that, its main thread's (the event loop)
    driver_cpu: float  # this process's: the fake Bot API server and the recorder
    rest_cpu: float  # the machine's but the bot's and this process's: PostgreSQL, mostly
    peak_rss: int

    def per_update(self, value: float) -> float:
        return value / self.burst.updates if self.burst.updates else float("nan")


def measure(contender: Contender, pg: Postgres, args: argparse.Namespace, logs: Path) -> Run:
    import psycopg

    name, conninfo = pg.fresh()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(REFERENCE_TABLE)  # in every copy, so every contender's is the same
    fake, recorder = new_fake()
    child: ContenderProcess | None = None
    targets = [(FIRST_USER + n, "/help", "en") for n in range(args.burst)]
    try:
        with fake, open(logs / f"capacity-{contender.label}.log", "ab") as log:
            if contender == REFERENCE:
                config = {
                    "api_url": fake.api_url,
                    "token": fake.token,
                    "conninfo": conninfo,
                    "flood_control": False,
                    "autocommit": args.reference_autocommit,
                    "fixes": args.reference_fixes,
                }
                child = ContenderProcess("bench.capacity", contender.label, config, log)
            else:
                child = start_contender(contender, fake, conninfo, args, log, settle=True)
            child.receive("ready", timeout=120)
            fake.wait_until_sync(lambda: fake.get_updates_calls > 0, timeout=30)
            run_burst(fake, recorder, targets)  # the warm-up
            recorder.drain()
            before = child.stats()
            driver_cpu, machine = own_cpu(), machine_cpu()
            burst = Phase()
            for _ in range(args.bursts):
                burst.add(run_burst(fake, recorder, targets))
            recorder.drain()
            after = child.stats()
            driver_cpu, machine = own_cpu() - driver_cpu, machine_cpu() - machine
            work = DatabaseWork.of(after) - DatabaseWork.of(before)
            final = child.stop()
            child = None
    finally:
        if child is not None:
            child.kill()
        pg.drop(name)
    cpu = float(after["cpu"]) - float(before["cpu"])
    return Run(
        burst,
        work,
        cpu,
        float(after["main_cpu"]) - float(before["main_cpu"]),
        driver_cpu,
        machine - cpu - driver_cpu,
        int(final["maxrss"]),
    )


FIGURES = [
    ("updates/s", lambda r: r.burst.rate, count),
    ("latency p50 ms", lambda r: r.burst.pct(50), ms),
    ("latency p99 ms", lambda r: r.burst.pct(99), ms),
    ("round trips/update", lambda r: r.per_update(r.work.round_trips), tenths),
    ("transactions/update", lambda r: r.per_update(r.work.transactions), tenths),
    ("bot CPU ms/update", lambda r: r.per_update(r.cpu * 1000), hundredths),
    ("  event-loop thread", lambda r: r.per_update(r.main_cpu * 1000), hundredths),
    ("fake Bot API CPU ms/update", lambda r: r.per_update(r.driver_cpu * 1000), hundredths),
    ("the rest CPU ms/update", lambda r: r.per_update(r.rest_cpu * 1000), hundredths),
    ("peak RSS MB", lambda r: r.peak_rss, mb),
]


def report(
    contenders: list[Contender],
    runs: dict[Contender, list[Run]],
    order: list[list[Contender]],
    args: argparse.Namespace,
) -> None:
    ours = [c for c in contenders if c != REFERENCE]
    print(
        f"\n== {args.bursts} × {args.burst} /help at once per run (after a warm-up burst);"
        f" median [min–max] over {args.runs} run(s); ours/reference: ratio of the medians"
    )
    header = ["", *(title(c) for c in contenders), *(f"{c.backend}/ref" for c in ours)]
    rows = []
    for name, value, fmt in FIGURES:
        spreads = {c: Spread(tuple(value(r) for r in runs[c])) for c in contenders}
        cells = [spreads[c].show(fmt) for c in contenders]
        cells += [ratio(spreads[c].median, spreads[REFERENCE].median) for c in ours]
        rows.append([name, *cells])
    print_table(header, rows)
    print("\n== every run, in the order run; the ratio is to the reference of the same round")
    rows = []
    seen: Counter[Contender] = Counter()
    for n, round_ in enumerate(order, 1):
        reference = runs[REFERENCE][n - 1].burst.rate
        for c in round_:
            r = runs[c][seen[c]]
            seen[c] += 1
            stalled = f" ({r.burst.stalled} unanswered)" if r.burst.stalled else ""
            rows.append(
                [
                    str(n),
                    title(c) + stalled,
                    count(r.burst.rate),
                    ms(r.burst.pct(99)),
                    "" if c == REFERENCE else ratio(r.burst.rate, reference),
                ]
            )
    print_table(["round", "contender", "updates/s", "p99 ms", "ratio"], rows)
    for c in ours:
        rate = [Spread(tuple(r.burst.rate for r in runs[who])).median for who in (c, REFERENCE)]
        p99 = [Spread(tuple(r.burst.pct(99) for r in runs[who])).median for who in (c, REFERENCE)]
        met = rate[0] >= 0.8 * rate[1] and p99[0] <= p99[1]
        print(
            f"ours on {c.backend} / reference: {ratio(*rate)} the updates/s at {ratio(*p99)}"
            f" the p99 (target ≥ 0.80× at ≤ 1.00×: {'met' if met else 'not met'})"
        )
        # On a machine whose speed drifts, the medians of either side may come from
        # different rounds; the rounds' own ratios compare runs made a few seconds apart.
        paired = _paired(c, runs, order, lambda r: r.burst.rate)
        paired_p99 = _paired(c, runs, order, lambda r: r.burst.pct(99))
        print(
            f"  each round against its own reference: {paired.show(times)} the updates/s,"
            f" {times(paired_p99.median)} the p99"
        )


def _paired(
    contender: Contender,
    runs: dict[Contender, list[Run]],
    order: list[list[Contender]],
    value: Callable[[Run], float],
) -> Spread:
    """The contender's figure over the reference's, round by round."""
    seen: Counter[Contender] = Counter()
    ratios = []
    for n, round_ in enumerate(order):
        for c in round_:
            if c == contender:
                ratios.append(value(runs[c][seen[c]]) / value(runs[REFERENCE][n]))
            seen[c] += 1
    return Spread(tuple(ratios))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of every contender")
    parser.add_argument("--burst", type=int, default=200, help="updates in one burst")
    parser.add_argument("--bursts", type=int, default=3, help="counted bursts per run")
    parser.add_argument("--backend", choices=("both", "asyncio", "trio"), default="both")
    parser.add_argument(
        "--reference-autocommit",
        action="store_true",
        help="the reference's upsert without BEGIN / COMMIT (one round trip)",
    )
    parser.add_argument(
        "--reference-fixes",
        action="store_true",
        help="the reference with teambot's start-up fixes of aiogram and its collector settings",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.burst, args.bursts = 1, 20, 1
    # what bench.throughput's start_contender reads
    args.stock_inline_filters = False
    args.flood_control = False
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    contenders = [*(Contender("ours", b) for b in backends), REFERENCE]
    logs = logs_dir()
    how = "autocommit" if args.reference_autocommit else "BEGIN, upsert, COMMIT"
    fixes = " with teambot's fixes of aiogram" if args.reference_fixes else ""
    print(
        f"capacity: {args.runs} run(s) of {args.bursts} × {args.burst} /help at once;"
        f" reference{fixes} upsert: {how}; outgoing pacing off"
    )
    print(f"at the start: {machine_load()}")
    pg = Postgres()
    print(f"{pg.where}; fake Bot API server on 127.0.0.1 in this process; logs in {logs}")
    order = rotations(contenders, args.runs)
    runs: dict[Contender, list[Run]] = defaultdict(list)
    try:
        for n, round_ in enumerate(order, 1):
            for contender in round_:
                print(f"  round {n}: {title(contender)} ...", end=" ", flush=True)
                began = time.monotonic()
                runs[contender].append(measure(contender, pg, args, logs))
                print(f"{time.monotonic() - began:.0f} s", flush=True)
    finally:
        pg.close()
    print(f"at the end: {machine_load()}")
    report(contenders, runs, order, args)
    report_logs(logs)


child_main = reference_main  # what the zygote runs in a contender (bench/harness.py)

if __name__ == "__main__":
    main()
