"""The database actor: waits for PostgreSQL, migrates, owns the pool, closes it last."""

from __future__ import annotations

import random
from functools import partial

import anyio
import psycopg
from anyio.abc import TaskStatus
from loguru import logger

from teambot.adapters.database import Database, describe, probe, problem, run_interruptible
from teambot.data.migrations import apply_migrations_on
from teambot.errors import EX_UNAVAILABLE, FatalError
from teambot.health import Health

log = logger.bind(actor="database")


async def wait_for_postgres(conninfo: str, give_up_after: float) -> None:
    """Retry with backoff until PostgreSQL answers; a bot started first just waits, for
    `give_up_after` seconds (DB_CONNECT_TIMEOUT_SECONDS), then exits 69."""
    log.info("connecting to {}", describe(conninfo))
    deadline = anyio.current_time() + give_up_after
    delay = 0.5
    while True:
        try:
            await anyio.to_thread.run_sync(partial(probe, conninfo))
            return
        except psycopg.OperationalError as exc:
            reason = problem(exc)
            left = deadline - anyio.current_time()
            if left <= 0:
                raise FatalError(
                    f"{describe(conninfo)} did not answer within DB_CONNECT_TIMEOUT_SECONDS"
                    f" ({give_up_after:g} s): {reason}",
                    EX_UNAVAILABLE,
                ) from None
            wait = min(delay * random.uniform(0.8, 1.2), left)
            log.warning("waiting for PostgreSQL ({}); retry in {:.1f} s", reason, wait)
            await anyio.sleep(wait)
            delay = min(delay * 2, 10)


async def migrate(conninfo: str) -> list[str]:
    """Apply the missing migrations; cancelling this rolls back the one under way (or stops
    waiting for another instance's migration lock) instead of waiting for it."""
    return await run_interruptible(conninfo, apply_migrations_on)


class DatabaseActor:
    def __init__(self, database: Database, health: Health, *, connect_timeout: float = 300) -> None:
        self.database = database
        self.health = health
        self.connect_timeout = connect_timeout

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.health.set_status("waiting for the database")
        await wait_for_postgres(self.database.conninfo, self.connect_timeout)
        self.health.set_status("applying database migrations")
        applied = await migrate(self.database.conninfo)
        if applied:
            log.info("applied migrations: {}", ", ".join(applied))
        await self.database.open()
        log.info("pool open ({})", self.database.stats())
        try:
            task_status.started()
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await self.database.close()
                log.info("pool closed")
