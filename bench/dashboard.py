"""Dashboard at scale: the page and the CSV exports at 100 000 users and 1 000 000
invitations (bench/scale.py's data set, plus what the dashboard counts: registrations and
answers spread over 45 days, an event of 10 000 people, people in teams, search cards).
Prints the page's render time (p50 / p95 / max, served by the dashboard's ASGI app with a
session cookie: queries, charts and HTML) for everyone and for the event, and the exports'.

Run: python -m bench.dashboard [DATABASE_URL] [--users N] [--invitations N] [--renders N]
     [--pgdata DIR] [--reuse] [--check]   (as bench.scale; its database is
     teambot_dashboard_scale; --check compares the figures 0021's triggers keep with a
     count of every row)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import anyio
import psycopg

from bench.scale import populate, server_conninfo
from teambot.adapters.database import Database
from teambot.config import load_settings
from teambot.data.dashboard import differences
from teambot.data.migrations import apply_migrations
from teambot.services.dashboard import Access
from teambot.web.dashboard import COOKIE, DashboardSite

DATABASE = "teambot_dashboard_scale"
SECRET = "bench-secret-bench-secret-bench-secret"
ADMIN = 1


def enrich(conninfo: str) -> None:
    """What bench.scale leaves out and the dashboard counts."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(
            "update users set registered_at = now() - (id % 45) * interval '1 day'"
            " - (id % 24) * interval '1 hour'"
        )
        # answered ones: a third each accepted, declined, expired; spread over 30 days
        conn.execute(
            """
            update invitations set
                created_at = now() - (id % 30) * interval '1 day' - interval '2 hours',
                status = case when status = 'pending' then status
                              else (array['accepted', 'declined', 'expired'])[1 + id % 3] end,
                answered_at = case when status = 'pending' or id % 3 = 2 then null
                                   else now() - (id % 30) * interval '1 day' end,
                expires_at = case when status = 'pending' then expires_at
                                  else now() - (id % 30) * interval '1 day' + interval '3 days'
                             end
            """
        )
        conn.execute(
            """
            insert into team_members (team_id, user_id, joined_at)
            select t.id, u.id, u.registered_at + (u.id % 200) * interval '1 hour'
            from users u
            join teams t on t.id = 1 + u.id % (select count(*) from teams)
            where u.user_type <> 'team' and u.id % 5 = 0
            on conflict do nothing
            """
        )
        conn.execute(
            "insert into search_cards (viewer_id, candidate_id)"
            " select id, 1 + (id * 13) % (select count(*) from users) from users"
            " where id % 2 = 0 and 1 + (id * 13) % (select count(*) from users) <> id"
        )
        conn.execute(
            "insert into events (slug, name, starts_on, ends_on)"
            " values ('bench', 'Bench', current_date - 20, current_date + 10)"
        )
        conn.execute(
            "insert into event_members (event_id, user_id, joined_at)"
            " select (select id from events where slug = 'bench'), id, registered_at"
            " from users where id % 10 = 3"
        )
        conn.execute("vacuum analyze")
        print(f"enriched for the dashboard in {time.perf_counter() - started:.0f} s")


def populated(conninfo: str, users: int) -> bool:
    try:
        with psycopg.connect(conninfo) as conn:
            row = conn.execute(
                "select (select count(*) from users), exists(select from events"
                " where slug = 'bench')"
            ).fetchone()
    except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
        return False
    return row is not None and row[0] == users and bool(row[1])


async def fetch(site: DashboardSite, path: str, query: str, cookie: str) -> tuple[float, int]:
    """One GET through the dashboard's ASGI app: milliseconds and the body's size."""
    status: list[int] = []
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        else:
            body.extend(message.get("body", b""))

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())],
    }
    started = time.perf_counter()
    await site(scope, receive, send)
    elapsed = (time.perf_counter() - started) * 1000
    assert status == [200], (path, query, status, bytes(body[:300]))
    return elapsed, len(body)


def summary(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20) if len(samples) >= 2 else samples * 19
    p50, p95 = statistics.median(samples), cuts[18]
    return f"p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  max {max(samples):7.1f} ms"


async def measure(conninfo: str, renders: int) -> None:
    settings = load_settings(
        require_token=False,
        _env_file=None,
        database_url=conninfo,
        dashboard_secret=SECRET,
        admin_ids=str(ADMIN),
    )
    database = Database(conninfo, min_size=2, max_size=4)
    await database.open()
    site = DashboardSite(database, settings)
    cookie = Access(SECRET, [ADMIN]).new_session(ADMIN)
    pages = {"everyone": "", "event": "event=bench"}
    for query in pages.values():  # warm the cache
        await fetch(site, "/dashboard", query, cookie)
    times: dict[str, list[float]] = {name: [] for name in pages}
    size = {}
    for _ in range(renders):  # alternating, so that both see the same machine
        for name, query in pages.items():
            elapsed, size[name] = await fetch(site, "/dashboard", query, cookie)
            times[name].append(elapsed)
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for name in pages:
        print(f"page, {name:8}  {summary(times[name])}  ({size[name] // 1024} KiB)")
    for export in ("teams", "looking"):
        for name, query in pages.items():
            elapsed, length = await fetch(site, f"/dashboard/{export}.csv", query, cookie)
            print(f"{export}.csv, {name:8} {elapsed:7.1f} ms  ({length // 1024} KiB)")
    await database.close()


def check(conninfo: str) -> None:
    """The kept figures against a count of every row (0021's dashboard_recount)."""
    from psycopg.rows import dict_row

    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        started = time.perf_counter()
        found = differences(conn)
        took = time.perf_counter() - started
    verdict = "the same" if not found else f"{len(found)} differ, e.g. {found[:3]}"
    print(f"kept figures against a full recount: {verdict} (the recount took {took:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--invitations", type=int, default=1_000_000)
    parser.add_argument("--renders", type=int, default=40)
    parser.add_argument("--pgdata", help="embedded PostgreSQL data directory, kept between runs")
    parser.add_argument("--reuse", action="store_true", help=f"reuse a populated {DATABASE}")
    parser.add_argument("--shared-buffers", default="1GB", help="the embedded server's cache")
    parser.add_argument(
        "--check", action="store_true", help="compare the kept figures with a full recount"
    )
    args = parser.parse_args()
    server = server_conninfo(args.url, args.pgdata, args.shared_buffers)
    conninfo = psycopg.conninfo.make_conninfo(server, dbname=DATABASE)
    if args.reuse and populated(conninfo, args.users):
        print("reusing the populated database")
        apply_migrations(conninfo)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("analyze")
    else:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"drop database if exists {DATABASE} with (force)")
            conn.execute(f"create database {DATABASE}")
        apply_migrations(conninfo)
        populate(conninfo, args.users, args.invitations)
        enrich(conninfo)
    anyio.run(measure, conninfo, args.renders)
    if args.check:
        check(conninfo)


if __name__ == "__main__":
    main()
