"""The database actor: waits for PostgreSQL, migrates, owns the pool, closes it last."""

from __future__ import annotations

import random
from functools import partial

import anyio
import psycopg
from anyio.abc import TaskStatus
from loguru import logger

from teambot.adapters.database import Database, probe
from teambot.data.migrations import apply_migrations
from teambot.health import Health

log = logger.bind(actor="database")


class DatabaseActor:
    def __init__(self, database: Database, health: Health, *, connect_timeout: float = 300) -> None:
        self.database = database
        self.health = health
        self.connect_timeout = connect_timeout

    async def wait_for_postgres(self) -> None:
        """Retry with backoff until PostgreSQL answers; a bot started first just waits."""
        deadline = anyio.current_time() + self.connect_timeout
        delay = 0.5
        while True:
            try:
                await anyio.to_thread.run_sync(partial(probe, self.database.conninfo))
                return
            except psycopg.OperationalError as exc:
                if anyio.current_time() + delay > deadline:
                    raise
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                log.warning("waiting for PostgreSQL ({}); retry in {:.1f} s", reason, delay)
                await anyio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 10)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.health.set_status("waiting for the database")
        await self.wait_for_postgres()
        self.health.set_status("applying database migrations")
        applied = await anyio.to_thread.run_sync(apply_migrations, self.database.conninfo)
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
