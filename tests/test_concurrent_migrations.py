"""Migrations that run outside a transaction (teambot/data/migrations.py, NO_TRANSACTION):
an index built CONCURRENTLY lets the bot's writes through while it builds, where a plain
CREATE INDEX holds them; an interrupted build (a cancelled or crashed start) leaves an
INVALID index, which the next start drops and builds again; instances that start together
still migrate one at a time, and the one that waits does not deadlock the build."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from teambot.data.migrations import (
    Migration,
    apply_migrations,
    apply_migrations_on,
    bundled_migrations,
)
from teambot.services.skills import CURATED

CONCURRENT = Migration(
    "9999_concurrent",
    "-- teambot: no transaction\n"
    "-- a comment line, then two statements\n"
    "set maintenance_work_mem = '77MB';\n"
    "create index concurrently probe_idx\n"
    "    on users (display_name) where is_searching;\n",
)
PLAIN = Migration("9999_plain", "create index probe_idx on users (display_name);")


def with_name(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, application_name=name)


@pytest.fixture
def writer_in_flight(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A bot's transaction that has written to users and not committed yet: an index build
    waits for it (CONCURRENTLY, without holding anyone else up; a plain one, holding up
    every write behind it)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "insert into users (id, display_name, is_searching)"
            " select g, 'user ' || g, g % 3 <> 0 from generate_series(1, 2000) g"
        )
    with psycopg.connect(database_url) as conn:
        conn.execute("update users set last_active = now() where id = 1")
        yield conn
        conn.rollback()


def in_background(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """`work` in a thread; the list gets its result or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def waiting_backend(
    conn: psycopg.Connection[Any], name: str, on: str = "virtualxid", timeout: float = 10
) -> int:
    """The pid of the connection named `name` in this test's database once it waits for a
    lock of the kind `on`: `virtualxid`, a concurrent build waiting for the transactions
    older than it (its index is in the catalog by then); `relation`, a table's lock. (Not
    any lock: an autovacuum of the freshly filled users table holds one the build may wait
    for first, and a build cancelled there leaves no index. Not any database: the tests
    running beside this one name their connections alike.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select a.pid from pg_stat_activity a"
            " join pg_locks l on l.pid = a.pid and not l.granted"
            " where a.datname = current_database() and a.application_name = %s"
            " and l.locktype = %s",
            (name, on),
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.02)
    raise AssertionError(f"{name} never waited for a lock on a {on}")


def index_state(conn: psycopg.Connection[Any], name: str) -> bool | None:
    """Whether the index is valid; None when there is none."""
    row = conn.execute(
        "select indisvalid from pg_index where indexrelid = to_regclass(%s)", (name,)
    ).fetchone()
    return None if row is None else bool(row[0])


def write_once(url: str) -> float:
    """What a bot's update does to users; how long it took (LockNotAvailable after 1 s)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set lock_timeout = '1s'")
        started = time.monotonic()
        conn.execute("update users set last_active = now(), bio = 'x' where id = 2")
        return time.monotonic() - started


def test_a_migration_marked_no_transaction_is_split_into_its_statements() -> None:
    assert not CONCURRENT.transactional and PLAIN.transactional
    assert CONCURRENT.statements() == [
        "set maintenance_work_mem = '77MB';",
        "create index concurrently probe_idx\n    on users (display_name) where is_searching;",
    ]
    assert CONCURRENT.concurrent_indexes() == ["probe_idx"]
    (search_indexes,) = [m for m in bundled_migrations() if m.version == "0020_search_indexes"]
    assert not search_indexes.transactional
    assert set(search_indexes.concurrent_indexes()) == {
        "event_members_recent_idx",
        *(f"users_skill_{skill}_idx" for skill in CURATED),
    }


def test_an_index_built_concurrently_lets_writes_through(
    database_url: str, writer_in_flight: psycopg.Connection[Any]
) -> None:
    migrator = with_name(database_url, "migrator")
    thread, outcome = in_background(
        lambda: apply_migrations(migrator, [*bundled_migrations(), CONCURRENT])
    )
    with psycopg.connect(database_url, autocommit=True) as watcher:
        waiting_backend(watcher, "migrator")  # the build waits for the writer in flight
        # meanwhile another update of users goes through at once
        assert write_once(database_url) < 0.5
        assert thread.is_alive() and index_state(watcher, "probe_idx") is False
        writer_in_flight.commit()
        thread.join(10)
        assert outcome == [["9999_concurrent"]]
        assert index_state(watcher, "probe_idx") is True
        assert watcher.execute(
            "select count(*) from schema_migrations where version = '9999_concurrent'"
        ).fetchone() == (1,)


def test_a_plain_create_index_holds_writes_up(
    database_url: str, writer_in_flight: psycopg.Connection[Any]
) -> None:
    """What the concurrent build spares: the same wait in a transaction holds every write
    to users behind it (the stall migration 0016 caused)."""
    migrator = with_name(database_url, "migrator")
    thread, outcome = in_background(
        lambda: apply_migrations(migrator, [*bundled_migrations(), PLAIN])
    )
    with psycopg.connect(database_url, autocommit=True) as watcher:
        waiting_backend(watcher, "migrator", on="relation")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            write_once(database_url)
    writer_in_flight.commit()
    thread.join(10)
    assert outcome == [["9999_plain"]]


def test_an_interrupted_build_is_repaired_on_the_next_start(
    database_url: str, writer_in_flight: psycopg.Connection[Any]
) -> None:
    migrator = with_name(database_url, "migrator")
    thread, outcome = in_background(
        lambda: apply_migrations(migrator, [*bundled_migrations(), CONCURRENT])
    )
    with psycopg.connect(database_url, autocommit=True) as watcher:
        # the start is cancelled mid-build (a deployment stopped it, or it crashed)
        pid = waiting_backend(watcher, "migrator")
        watcher.execute("select pg_cancel_backend(%s)", (pid,))
        thread.join(10)
        assert len(outcome) == 1 and isinstance(outcome[0], psycopg.errors.QueryCanceled)
        writer_in_flight.commit()
        # PostgreSQL keeps the half-built index: invalid, unused by queries
        assert index_state(watcher, "probe_idx") is False
        assert watcher.execute(
            "select count(*) from schema_migrations where version = '9999_concurrent'"
        ).fetchone() == (0,)
        # the next start builds it again, and only then counts the migration applied
        with psycopg.connect(database_url, autocommit=True) as restart:
            assert apply_migrations_on(restart, [*bundled_migrations(), CONCURRENT]) == [
                "9999_concurrent"
            ]
            # the migration's session setting does not outlive it
            assert restart.execute("show maintenance_work_mem").fetchone() != ("77MB",)
        assert index_state(watcher, "probe_idx") is True
        plan = watcher.execute(
            "explain select id from users where is_searching and display_name = 'user 7'"
        ).fetchall()
        assert any("probe_idx" in line[0] for line in plan)
        assert apply_migrations(database_url, [*bundled_migrations(), CONCURRENT]) == []


def test_an_instance_waiting_for_the_lock_does_not_deadlock_the_build(
    database_url: str, writer_in_flight: psycopg.Connection[Any]
) -> None:
    """A CREATE INDEX CONCURRENTLY waits for every transaction older than it: an instance
    blocked inside pg_advisory_lock would be one, waiting for the build in turn."""
    migrations = [*bundled_migrations(), CONCURRENT]
    first, first_outcome = in_background(
        lambda: apply_migrations(with_name(database_url, "first"), migrations)
    )
    with psycopg.connect(database_url, autocommit=True) as watcher:
        waiting_backend(watcher, "first")
    second, second_outcome = in_background(lambda: apply_migrations(database_url, migrations))
    time.sleep(1.5)  # past deadlock_timeout: PostgreSQL would have found a deadlock by now
    writer_in_flight.commit()
    first.join(15)
    second.join(15)
    assert first_outcome == [["9999_concurrent"]]
    assert second_outcome == [[]]
