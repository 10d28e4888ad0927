"""Plain SQL migrations shipped in the package, applied in file-name order.

Each migration runs in its own transaction together with its row in `schema_migrations`;
a PostgreSQL advisory lock serializes instances that start at the same moment.

A migration that alters a busy table sets a short `lock_timeout` itself (0010 does): while
its ALTER waits for a lock, every query on that table queues behind it, so it gives up soon
rather than stall the bot behind a long reader (a backup, a report), and is tried again here
after a pause, until LOCK_RETRY_SECONDS have passed. bench/migration.py measures the stalls.

A migration whose first line is NO_TRANSACTION (`-- teambot: no transaction`) runs outside a
transaction, one statement at a time, so it can build an index with CREATE INDEX
CONCURRENTLY: PostgreSQL builds it while writes go on (a plain CREATE INDEX blocks every
write to the table while it builds: 4 to 12 s per index on users at a million people). Its
row in `schema_migrations` is written after its last statement; until then a new start runs
the file again from its first statement, so every statement in it must be safe to repeat:
each CREATE INDEX CONCURRENTLY is skipped when its index is there and valid, and an index
an interrupted build left INVALID (a crash, a cancelled start: PostgreSQL keeps the half-built
index, unused by queries but updated by every write) is dropped and built again. Statements
are split at a `;` that ends a line (no dollar-quoted bodies in such a file: put functions
and triggers in a transactional migration).

Instances waiting for the migration lock ask for it again every LOCK_POLL_SECONDS rather
than wait inside PostgreSQL: a CREATE INDEX CONCURRENTLY waits for every transaction that
began before it, and a waiting `pg_advisory_lock` would be one, held until the build ends:
a deadlock.
"""

from __future__ import annotations

import re
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
# how often an instance that waits for another's migrations asks for the lock again
LOCK_POLL_SECONDS = 0.5
# the first line of a migration that runs outside a transaction
NO_TRANSACTION = "-- teambot: no transaction"
_CONCURRENT_INDEX = re.compile(
    r"^\s*create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?"
    r"(?P<name>[a-z_][a-z0-9_]*)\s+on\s",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def transactional(self) -> bool:
        return self.sql.lstrip().split("\n", 1)[0].strip() != NO_TRANSACTION

    def statements(self) -> list[str]:
        """The statements of a migration that runs outside a transaction, split at each
        `;` that ends a line (comment lines and blank lines left out)."""
        statements: list[str] = []
        lines: list[str] = []
        for line in self.sql.splitlines():
            if not line.strip() or line.lstrip().startswith("--"):
                continue
            lines.append(line)
            if line.rstrip().endswith(";"):
                statements.append("\n".join(lines).strip())
                lines = []
        if any(line.strip() for line in lines):
            statements.append("\n".join(lines).strip())
        return statements

    def concurrent_indexes(self) -> list[str]:
        """The names of the indexes it builds with CREATE INDEX CONCURRENTLY."""
        return [
            match["name"]
            for statement in (self.statements() if not self.transactional else [])
            if (match := _CONCURRENT_INDEX.match(statement))
        ]


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
    if not _try_lock(conn):
        logger.bind(actor="database").info(
            "another instance is migrating the database: waiting for it to finish"
        )
        while not _try_lock(conn):
            conn.execute("select pg_sleep(%s)", (LOCK_POLL_SECONDS,))  # a cancel ends it
    try:
        conn.execute(
            "create table if not exists schema_migrations ("
            " version text primary key, applied_at timestamptz not null default now())"
        )
        done = {row[0] for row in conn.execute("select version from schema_migrations")}
        for migration in pending:
            if migration.version in done:
                continue
            if migration.transactional:
                _apply_one(conn, migration)
            else:
                _apply_outside_transaction(conn, migration)
            applied.append(migration.version)
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied


def _try_lock(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def _apply_outside_transaction(conn: psycopg.Connection[Any], migration: Migration) -> None:
    """Each statement on its own (the connection is in autocommit), then the migration's
    row. A CREATE INDEX CONCURRENTLY whose index is there: skipped when it is valid; when an
    interrupted build left it invalid, the index is dropped and built again."""
    log = logger.bind(actor="database")
    for statement in migration.statements():
        match = _CONCURRENT_INDEX.match(statement)
        if match:
            row = conn.execute(
                "select indisvalid from pg_index where indexrelid = to_regclass(%s)",
                (match["name"],),
            ).fetchone()
            if row is not None and row[0]:
                continue
            if row is not None:
                log.warning(
                    "migration {}: index {} was left invalid by an interrupted build:"
                    " building it again",
                    migration.version,
                    match["name"],
                )
                conn.execute(f'drop index concurrently if exists "{match["name"]}"'.encode())
        conn.execute(statement.encode())
    conn.execute("insert into schema_migrations (version) values (%s)", (migration.version,))
    conn.execute("reset all")  # a `set` of the migration's (there is no `set local` here)


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
