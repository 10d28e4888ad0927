"""psycopg adapter: the sync connection pool, driven from anyio worker threads.

psycopg's async API is asyncio-only, so one unit of work (a function taking a connection)
runs whole in a worker thread, inside one transaction: commit on success, rollback on
error, and the connection always returns to the pool. Works the same on asyncio and trio.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

T = TypeVar("T")
P = ParamSpec("P")
Connection = psycopg.Connection[dict[str, Any]]


class DatabaseUnavailable(Exception):
    """The pool is closed (starting, restarting or stopped)."""


# Errors that mean "the database is unreachable right now": the work may be retried.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
    DatabaseUnavailable,
)
# Errors that mean "the values given do not fit": out of range for their column, or naming
# a row that does not exist. From a button's data they mean a forged or stale button.
INVALID_VALUE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.DataError,
    psycopg.errors.ForeignKeyViolation,
)


class Database:
    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 10,
        max_size: int = 30,
        max_lifetime: float = 3600,
        acquire_timeout: float = 10,
    ) -> None:
        self.conninfo = conninfo
        self._min_size = min_size
        self._max_size = max_size
        self._max_lifetime = max_lifetime
        self._acquire_timeout = acquire_timeout
        self._pool: ConnectionPool[Connection] | None = None
        # one thread per pooled connection: more threads would only queue inside the pool
        self._limiter = anyio.CapacityLimiter(max_size)

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    def _make_pool(self) -> ConnectionPool[Connection]:
        return ConnectionPool(
            self.conninfo,
            min_size=self._min_size,
            max_size=self._max_size,
            max_lifetime=self._max_lifetime,
            check=ConnectionPool.check_connection,
            kwargs={"row_factory": dict_row, "autocommit": False},
            timeout=self._acquire_timeout,
            open=False,
            name="teambot",
        )

    async def open(self, timeout: float = 10) -> None:
        pool = self._make_pool()
        try:
            await anyio.to_thread.run_sync(partial(pool.open, wait=True, timeout=timeout))
        except BaseException:
            await anyio.to_thread.run_sync(pool.close)
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await anyio.to_thread.run_sync(partial(pool.close, timeout=5))

    def _transaction(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("the database pool is not open")
        with pool.connection() as conn:
            return work(conn, *args, **kwargs)

    async def run(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `work(conn, ...)` in one transaction on a pooled connection."""
        # abandon_on_cancel=False: a cancelled caller still waits for commit or rollback,
        # so cancellation never leaves a transaction half-done.
        return await anyio.to_thread.run_sync(
            partial(self._transaction, work, *args, **kwargs), limiter=self._limiter
        )

    async def ping(self, timeout: float = 2) -> None:
        """`select 1` on a pooled connection, waiting at most `timeout` for one."""

        def select_one() -> None:
            pool = self._pool
            if pool is None:
                raise DatabaseUnavailable("the database pool is not open")
            with pool.connection(timeout=timeout) as conn:
                conn.execute("select 1")

        await anyio.to_thread.run_sync(select_one, limiter=self._limiter)

    def stats(self) -> dict[str, int]:
        return dict(self._pool.get_stats()) if self._pool is not None else {}


def probe(conninfo: str, timeout: float = 3) -> None:
    """Connect once and run `select 1`; raises psycopg.OperationalError when it can't."""
    with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout))) as conn:
        conn.execute("select 1")
