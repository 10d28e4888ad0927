"""The update poller: long-polls getUpdates and feeds the pipeline through a bounded stream.

Telegram is told an update is done (the `offset`) only once it and all before it are
handled, so a crash at any moment loses nothing. What is in flight is bounded by
`max_in_flight`, so memory stays flat however large the backlog on Telegram's side.
"""

from __future__ import annotations

import random
from typing import Any, cast

import anyio
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from loguru import logger
from pydantic import ValidationError

from teambot.actors.pipeline.ledger import PendingUpdate, UpdateLedger
from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.adapters.telegram import TRANSIENT_TELEGRAM_ERRORS, parse_update, reachability_of
from teambot.data import handled_updates
from teambot.errors import FatalError
from teambot.health import Health
from teambot.metrics import Metrics

log = logger.bind(actor="poller")

# 409: a webhook is set or another instance polls; both may clear up, so keep trying
RETRY_POLL: tuple[type[TelegramAPIError], ...] = (*TRANSIENT_TELEGRAM_ERRORS, TelegramConflictError)


class GetRawUpdates(GetUpdates):
    """getUpdates whose result stays raw JSON, so one malformed update cannot block the rest."""

    __returning__ = list[dict[str, Any]]


class UpdatePoller:
    def __init__(
        self,
        bot: Bot,
        database: Database,
        ledger: UpdateLedger,
        health: Health,
        metrics: Metrics,
        *,
        poll_timeout: int = 25,
        max_in_flight: int = 200,
        allowed_updates: list[str] | None = None,
    ) -> None:
        self.bot = bot
        self.database = database
        self.ledger = ledger
        self.health = health
        self.metrics = metrics
        self.poll_timeout = poll_timeout
        self.max_in_flight = max_in_flight
        self.allowed_updates = allowed_updates
        self._stopping = False
        self._fetch_scope: anyio.CancelScope | None = None

    def stop_fetching(self) -> None:
        self._stopping = True
        if self._fetch_scope is not None:
            self._fetch_scope.cancel()

    async def run(
        self,
        outbox: MemoryObjectSendStream[PendingUpdate],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        async with outbox:
            # A restarted pipeline first finishes what the previous one left in flight.
            replay = self.ledger.pending()
            if replay:
                log.info("re-feeding {} updates left in flight", len(replay))
            task_status.started()
            self.health.polling = True
            self.health.poller_alive()
            for item in replay:
                await outbox.send(item)
            try:
                await self._poll(outbox)
            finally:
                self.health.polling = False

    async def _poll(self, outbox: MemoryObjectSendStream[PendingUpdate]) -> None:
        failures = 0
        while not self._stopping:
            await self._record_handled()
            if self.ledger.in_flight >= self.max_in_flight:
                await self._wait_for_progress()
                self.health.poller_alive()
                continue
            try:
                raw_updates = await self._fetch()
            except TelegramUnauthorizedError as exc:
                raise FatalError("BOT_TOKEN was rejected by the Bot API (401)") from exc
            except RETRY_POLL as exc:
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1)
                if isinstance(exc, TelegramConflictError):
                    log.warning("getUpdates refused ({}), retrying in {:.1f} s", exc, wait)
                else:
                    reachability_of(self.bot).failed(exc, wait)
                await anyio.sleep(wait)
                self.health.poller_alive()
                continue
            if raw_updates is None:
                break  # stopped while waiting
            failures = 0
            self.health.poller_alive()
            self.health.api_succeeded()
            fresh = [u for u in raw_updates if self.ledger.is_new(int(u["update_id"]))]
            if raw_updates and not fresh:
                # everything returned is still being handled: wait before asking again
                await self._wait_for_progress()
                continue
            self.metrics.updates_received.inc(len(fresh))
            for item in await self._admit(fresh):
                await outbox.send(item)

    async def _fetch(self) -> list[dict[str, Any]] | None:
        with anyio.CancelScope() as self._fetch_scope:
            if self._stopping:
                self._fetch_scope.cancel()
            method = GetRawUpdates(
                offset=self.ledger.offset,
                limit=100,
                timeout=self.poll_timeout,
                allowed_updates=self.allowed_updates,
            )
            raw: Any = await self.bot(method, request_timeout=self.poll_timeout + 15)
            return cast(list[dict[str, Any]], raw)
        return None

    async def _wait_for_progress(self) -> None:
        with anyio.move_on_after(1):
            await self.ledger.wait_progress()

    async def _admit(self, fresh: list[dict[str, Any]]) -> list[PendingUpdate]:
        """Put new updates in the ledger; return those that still need handling."""
        items: list[PendingUpdate] = []
        for raw in fresh:
            update_id = int(raw["update_id"])
            try:
                update = parse_update(raw, self.bot)
            except ValidationError as exc:
                log.warning("update {} is malformed and skipped: {}", update_id, exc)
                self.ledger.add(update_id, None)
                self.ledger.done(update_id)
                continue
            items.append(self.ledger.add(update_id, update))
        if not items:
            return items
        ids = [item.update_id for item in items]
        try:
            seen = await self.database.run(handled_updates.already_handled, ids)
        except TRANSIENT_ERRORS:
            seen = set()  # handling will wait for the database anyway
        if seen:
            log.info("skipping {} updates handled before a restart", len(seen))
            self.ledger.skip(seen)
        return [item for item in items if item.update_id not in seen]

    async def _record_handled(self) -> None:
        done = self.ledger.take_done()
        if not done:
            return
        try:
            await self.database.run(handled_updates.record, done)
        except TRANSIENT_ERRORS:
            self.ledger.return_done(done)

    async def confirm(self) -> None:
        """Tell Telegram what has been handled, without taking anything new."""
        await self._record_handled()
        offset = self.ledger.offset
        if offset is None:
            return
        await self.bot(GetRawUpdates(offset=offset, limit=1, timeout=0), request_timeout=5)
        log.info("confirmed updates below {}", offset)
