"""Migrations at scale: how long the migrations from 0010 on lock the users table at
1 000 000 users.

Builds the schema as it stood before 0010 (migrations 0001-0009), fills it with bench.scale's
generator (no invitations unless asked), then applies each later migration while two probes
work on the users table from their own connections, each with a short lock_timeout, in a loop:
- a reader, `select 1 from users limit 1` (waits only for ACCESS EXCLUSIVE);
- a writer, `update users set last_active = ... where id = ...` (what every update of the bot
  does; also waits for SHARE, as a plain CREATE INDEX takes).
A probe's stall is the time from its first failed or slow attempt to its next success: the
longest time a person would have waited for the bot. Each migration is run --runs times,
every run but the last rolled back (the same statements, the same locks), the last one
through teambot.data.migrations as a deployment applies it. A migration that runs outside a
transaction (CREATE INDEX CONCURRENTLY) cannot be rolled back: its runs but the last are
undone after it instead (its indexes dropped, its row deleted, UNDO's statements run).
Prints the median and range of the migration's time and of each probe's worst stall; then
one more (rolled back) run behind a reader that keeps users open --blocker seconds: a
migration that waited for its lock all that time would stall every query on users as long
(a short lock_timeout and retries bound it; a concurrent build waits for the reader without
holding anyone up).

With --first V, the migrations before V are applied unmeasured (when they reach 0012, with
the matching fields and the events' members filled after them as bench.scale fills them),
and only V and the later ones are measured.

Run: python -m bench.migration [DATABASE_URL] [--users N] [--invitations N] [--runs N]
                               [--first VERSION]
     (no URL: an embedded PostgreSQL in a temporary directory; a database named
     teambot_migration is created and dropped)
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import psycopg
from loguru import logger

from bench.scale import (
    describe,
    insert_teams_and_invitations,
    insert_users,
    percentiles,
    profiles,
    searches,
    server_conninfo,
)
from teambot.adapters.database import Database
from teambot.data.migrations import (
    Migration,
    apply_migrations,
    apply_migrations_on,
    bundled_migrations,
)

FIRST = "0010"  # the first migration measured: matching profiles (issue 12)
PROBE_LOCK_TIMEOUT = "50ms"
# what undoes a migration that runs outside a transaction, besides dropping its indexes and
# its schema_migrations row: so the next run has the same work to do
UNDO = {"0020_search_indexes": ["update event_members set last_active = null"]}


@dataclass
class Probe:
    """A loop of one statement on users from its own connection; records its stalls."""

    name: str
    conninfo: str
    statement: str
    stalls: list[float] = field(default_factory=list)  # seconds, one per success
    timeouts: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self.stalls = []
        self.timeouts = 0
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def worst(self) -> float:
        return max(self.stalls, default=0.0)

    def _loop(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f"set lock_timeout = '{PROBE_LOCK_TIMEOUT}'")
            n = 0
            waiting_since: float | None = None
            while not self._stop.is_set():
                n += 1
                started = time.perf_counter()
                if waiting_since is None:
                    waiting_since = started
                try:
                    conn.execute(self.statement.encode(), {"id": 1 + (n * 7919) % 1000})
                except psycopg.errors.LockNotAvailable:
                    self.timeouts += 1
                    continue
                self.stalls.append(time.perf_counter() - waiting_since)
                waiting_since = None
                time.sleep(0.002)  # a busy bot, not a spinning one


@dataclass
class Run:
    seconds: float
    reader_worst: float
    writer_worst: float
    reader_timeouts: int
    writer_timeouts: int
    retries: int  # times the migration gave up waiting for its lock and tried again


async def old_profiles_search(conninfo: str) -> None:
    """The people registered before 0010 (every one here) search as before: bench.scale's
    searches, over the migrated table."""
    database = Database(conninfo, min_size=2, max_size=4)
    await database.open()
    try:
        with psycopg.connect(conninfo, row_factory=psycopg.rows.dict_row) as conn:
            conn.execute("analyze users")
            searchers = conn.execute(
                "select id, user_type, skills, looking_for from users"
                " where is_searching and hours_per_week is null limit 5000"
            ).fetchall()
        await searches(database, searchers)  # warm the cache
        timings = await searches(database, searchers)
        print(f"old profiles' /search after the migrations: {percentiles(timings)}")
    finally:
        await database.close()


class Rollback(Exception):
    pass


def one_run(
    conninfo: str, migration: Migration, apply: bool, probes: list[Probe], blocker: float = 0
) -> Run:
    """The migration through teambot.data.migrations, applied or (in an outer transaction)
    rolled back; with `blocker`, behind a reader that keeps users open that many seconds."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("checkpoint")
        for probe in probes:
            probe.start()
        time.sleep(0.3)  # the probes are going before the migration starts
        holder = threading.Thread(target=hold_users, args=(conninfo, blocker), daemon=True)
        if blocker:
            holder.start()
            time.sleep(0.1)
        retries: list[str] = []
        sink = logger.add(
            lambda message: retries.append(message),
            filter=lambda record: "gave up waiting for a lock" in record["message"],
            level="INFO",
        )
        started = time.perf_counter()
        if apply or not migration.transactional:
            # as a deployment does: its own transaction with its schema_migrations row (or
            # outside one: undone below, after the probes, unless it is the applied run)
            assert apply_migrations_on(conn, [migration]) == [migration.version]
        else:
            try:
                with conn.transaction():
                    assert apply_migrations_on(conn, [migration]) == [migration.version]
                    raise Rollback
            except Rollback:
                pass
        seconds = time.perf_counter() - started
        logger.remove(sink)
        if blocker:
            holder.join()
        time.sleep(0.3)
        for probe in probes:
            probe.stop()
        if not apply and not migration.transactional:
            undo(conn, migration)
    reader, writer = probes
    return Run(
        seconds, reader.worst(), writer.worst(), reader.timeouts, writer.timeouts, len(retries)
    )


def undo(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """Undo a migration that ran outside a transaction: its indexes, its row, UNDO's."""
    for index in migration.concurrent_indexes():
        conn.execute(f"drop index concurrently if exists {index}".encode())
    for statement in UNDO.get(migration.version, []):
        conn.execute(statement.encode())
    conn.execute("delete from schema_migrations where version = %s", (migration.version,))
    conn.execute("vacuum analyze users, event_members")


def hold_users(conninfo: str, seconds: float) -> None:
    """A long reader (a report, pg_dump): ACCESS SHARE on users for `seconds`."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("select count(*) from users where id < 100")
        time.sleep(seconds)
        conn.rollback()


def spread(values: list[float], unit: float = 1000) -> str:
    scaled = [v * unit for v in values]
    return f"{statistics.median(scaled):7.1f} ms ({min(scaled):.1f}-{max(scaled):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--invitations", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="runs per migration (>= 1)")
    parser.add_argument("--shared-buffers", default="1GB", help="the embedded server's")
    parser.add_argument(
        "--blocker", type=float, default=2.0, help="seconds of the long reader in the last run"
    )
    parser.add_argument("--first", default=FIRST, help=f"the first measured (default {FIRST})")
    args = parser.parse_args()
    server = server_conninfo(args.url, None, args.shared_buffers)
    conninfo = psycopg.conninfo.make_conninfo(server, dbname="teambot_migration")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("drop database if exists teambot_migration with (force)")
        conn.execute("create database teambot_migration")
    migrations = bundled_migrations()
    before = [m for m in migrations if m.version < FIRST]
    unmeasured = [m for m in migrations if FIRST <= m.version < args.first]
    measured = [m for m in migrations if m.version >= max(FIRST, args.first)]
    apply_migrations(conninfo, before)
    with psycopg.connect(conninfo, autocommit=True) as conn:  # bench.scale's people
        started = time.perf_counter()
        insert_users(conn, args.users)
        insert_teams_and_invitations(conn, args.users, args.invitations)
        if unmeasured:
            apply_migrations_on(conn, unmeasured)
            if unmeasured[-1].version >= "0012":  # matching fields, events (0010, 0011)
                profiles(conn)
            print(f"applied {', '.join(m.version for m in unmeasured)} unmeasured")
        conn.execute("vacuum analyze")
        print(f"populated {describe(conn)} in {time.perf_counter() - started:.0f} s")
    probes = [
        Probe("reader", conninfo, "select 1 from users where id >= %(id)s limit 1"),
        Probe(
            "writer",
            conninfo,
            "update users set last_active = last_active + interval '1 ms' where id = %(id)s",
        ),
    ]
    # the probes alone: what a stall looks like with no migration running
    for probe in probes:
        probe.start()
    time.sleep(2)
    for probe in probes:
        probe.stop()
    idle = {p.name: (statistics.median(p.stalls), p.worst()) for p in probes}
    print(
        "probes with no migration: "
        + ", ".join(
            f"{name} median {m * 1000:.1f} ms, worst {w * 1000:.1f} ms"
            for name, (m, w) in idle.items()
        )
    )
    for migration in measured:
        runs = [
            one_run(conninfo, migration, apply=False, probes=probes)
            for _ in range(max(1, args.runs) - 1)
        ]
        behind = one_run(conninfo, migration, apply=False, probes=probes, blocker=args.blocker)
        runs.append(one_run(conninfo, migration, apply=True, probes=probes))
        print(f"{migration.version} ({len(runs)} runs, the last one applied):")
        print(f"  migration time        {spread([r.seconds for r in runs])}")
        print(
            f"  reader's worst stall  {spread([r.reader_worst for r in runs])}"
            f"  lock timeouts {[r.reader_timeouts for r in runs]}"
        )
        print(
            f"  writer's worst stall  {spread([r.writer_worst for r in runs])}"
            f"  lock timeouts {[r.writer_timeouts for r in runs]}"
        )
        print(
            f"  behind a {args.blocker:g} s reader: migration {behind.seconds * 1000:.0f} ms,"
            f" worst stall reader {behind.reader_worst * 1000:.0f} ms,"
            f" writer {behind.writer_worst * 1000:.0f} ms;"
            f" lock timeouts: migration {behind.retries}, reader {behind.reader_timeouts},"
            f" writer {behind.writer_timeouts}"
        )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("select count(*) from users").fetchone()
        assert row is not None
        left_valid = conn.execute(
            "select count(*) from pg_constraint"
            " where conrelid = 'users'::regclass and not convalidated"
        ).fetchone()
        assert left_valid is not None
    anyio.run(old_profiles_search, conninfo)
    print(
        f"{row[0]} users; {left_valid[0]} constraints on users left NOT VALID (new writes checked)"
    )
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("drop database teambot_migration with (force)")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        f"rerun: python -m bench.migration --users {args.users} --runs {args.runs}"
        f" --invitations {args.invitations}"
        f" --blocker {args.blocker:g} --first {args.first}"
    )


if __name__ == "__main__":
    main()
