"""Plain SQL migrations shipped in the package, applied in file-name order.

Each migration runs in its own transaction together with its row in `schema_migrations`;
a PostgreSQL advisory lock serializes instances that start at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from loguru import logger

# any constant shared by every teambot instance; "teambot" in ASCII
MIGRATION_LOCK_KEY = 0x7465616D626F74


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
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "insert into schema_migrations (version) values (%s)",
                    (migration.version,),
                )
            applied.append(migration.version)
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied
