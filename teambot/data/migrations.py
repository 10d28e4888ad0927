"""Plain SQL migrations shipped in the package, applied in file-name order.

Each migration runs in its own transaction together with its row in `schema_migrations`;
a PostgreSQL advisory lock serializes instances that start at the same moment.

A migration that alters a busy table sets a short `lock_timeout` itself (0010 does): while
its ALTER waits for a lock, every query on that table queues behind it, so it gives up soon
rather than stall the bot behind a long reader (a backup, a report), and is tried again here
after a pause, until LOCK_RETRY_SECONDS have passed. bench/migration.py measures the stalls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from loguru import logger

# any constant shared by every teambot instance; "teambot" in ASCII
MIGRATION_LOCK_KEY = 0x7465616D626F74
# how long a migration that keeps meeting a held lock is retried before the start fails
LOCK_RETRY_SECONDS = 120.0


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str


def bundled_migrations() -> list[Migration]:
    folder = resources.files("teambot.data") / "migrations"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [Migration(entry.name.removesuffix(".sql"), entry.read_text("utf-8")) for entry in files]


def apply_migrations(conninfo: str, migrations: list[Migration] | None = None) -> list[str]:
    """Apply what is missing; returns the versions applied by this call."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return apply_migrations_on(conn, migrations)


def apply_migrations_on(
    conn: psycopg.Connection[Any], migrations: list[Migration] | None = None
) -> list[str]:
    """`apply_migrations` on an open autocommit connection (whose statements the caller
    may cancel: the migration under way rolls back)."""
    pending = bundled_migrations() if migrations is None else migrations
    applied: list[str] = []
    locked = conn.execute("select pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
    if not (locked and locked[0]):
        logger.bind(actor="database").info(
            "another instance is migrating the database: waiting for it to finish"
        )
        conn.execute("select pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        conn.execute(
            "create table if not exists schema_migrations ("
            " version text primary key, applied_at timestamptz not null default now())"
        )
        done = {row[0] for row in conn.execute("select version from schema_migrations")}
        for migration in pending:
            if migration.version in done:
                continue
            _apply_one(conn, migration)
            applied.append(migration.version)
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied


def _apply_one(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """One migration and its row, in one transaction; again after a pause when it gave up
    waiting for a lock (its own lock_timeout), for at most LOCK_RETRY_SECONDS."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    pause = 0.2
    while True:
        try:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "insert into schema_migrations (version) values (%s)",
                    (migration.version,),
                )
            return
        except psycopg.errors.LockNotAvailable as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.bind(actor="database").info(
                "migration {} gave up waiting for a lock ({}): trying again in {:.1f} s",
                migration.version,
                str(exc).strip(),
                pause,
            )
            conn.execute("select pg_sleep(%s)", (pause,))  # a cancelled start ends it too
            pause = min(pause * 2, 5.0)
