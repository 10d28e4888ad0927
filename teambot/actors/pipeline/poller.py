"""The update poller: long-polls getUpdates and feeds the pipeline through a bounded stream.

Each batch Telegram returns is stored in the inbox table (one statement) before it is fed,
and the next getUpdates confirms it: an update leaves the inbox in the transaction that
handles it. So a crash at any moment loses nothing, and the poller need not wait for the
oldest update in hand before taking newer ones (Telegram hands out at most 100 updates past
the last confirmed one: waiting for the slowest would starve a burst). At start, what a
previous run stored and did not finish goes first; every 30 s the poller looks again for
stored updates nobody holds. What is in flight is bounded by
`max_in_flight`, so memory stays flat however large the backlog on Telegram's side.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Any, cast

import anyio
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramUnauthorizedError,
)
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from loguru import logger
from pydantic import ValidationError

from teambot.actors.pipeline.ledger import PendingUpdate, UpdateLedger
from teambot.actors.pipeline.streams import send_all
from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.adapters.telegram import (
    TRANSIENT_TELEGRAM_ERRORS,
    GetRawUpdates,
    parse_update,
    reachability_of,
)
from teambot.data import inbox
from teambot.errors import FatalError
from teambot.health import Health
from teambot.metrics import Metrics

log = logger.bind(actor="poller")

# 409: a webhook is set or another instance polls; both may clear up, so keep trying
RETRY_POLL: tuple[type[TelegramAPIError], ...] = (*TRANSIENT_TELEGRAM_ERRORS, TelegramConflictError)


LEFTOVERS_EVERY_SECONDS = 30.0


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
            await send_all(outbox, replay)
            try:
                await self._poll(outbox)
            finally:
                self.health.polling = False

    async def _poll(self, outbox: MemoryObjectSendStream[PendingUpdate]) -> None:
        failures = 0
        store_failing = False  # said once per outage (the database actor says more)
        next_leftovers = anyio.current_time()
        while not self._stopping:
            if anyio.current_time() >= next_leftovers:
                # at start, and now and then: a row stored by an instance that lost the lead
                # after storing it waits for no restart
                await self._take_leftovers(outbox)
                next_leftovers = anyio.current_time() + LEFTOVERS_EVERY_SECONDS
            await self._record_handled()
            free = self.max_in_flight - self.ledger.in_flight
            if free <= 0:
                await self._wait_for_progress()
                self.health.poller_alive()
                continue
            try:
                raw_updates = await self._fetch(min(100, free))
            except TelegramUnauthorizedError as exc:
                raise FatalError("BOT_TOKEN was rejected by the Bot API (401)") from exc
            except RETRY_POLL as exc:
                failures += 1
                wait = backoff(failures)
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
            if not fresh:
                continue
            try:
                handled = await self._store(fresh)
            except TRANSIENT_ERRORS as exc:
                # not stored, so not confirmed: Telegram hands the batch out again
                if not store_failing:
                    log.warning("updates wait for the database to store them: {!r}", exc)
                store_failing = True
                await anyio.sleep(backoff(1))
                continue
            store_failing = False
            self.metrics.updates_received.inc(len(fresh))
            await send_all(outbox, self._admit(fresh, handled))

    async def _take_leftovers(self, outbox: MemoryObjectSendStream[PendingUpdate]) -> None:
        """Feed what a previous run stored and did not finish, before anything new."""
        while not self._stopping:
            self.health.poller_alive()  # waiting for the database is no stall of its own
            free = self.max_in_flight - self.ledger.in_flight
            if free <= 0:
                await self._wait_for_progress()
                continue
            try:
                await self._record_handled()
                rows, oldest = await self.database.run_ahead(
                    inbox.waiting, self.ledger.in_hand(), free
                )
            except TRANSIENT_ERRORS:
                await anyio.sleep(1)  # the database actor reports the outage
                continue
            self.metrics.inbox_oldest_age.set(oldest)
            if rows:
                log.info("feeding {} updates stored and not handled before", len(rows))
                await send_all(outbox, self._admit(rows))
            if len(rows) < free:
                return

    async def _fetch(self, limit: int) -> list[dict[str, Any]] | None:
        with anyio.CancelScope() as self._fetch_scope:
            if self._stopping:
                self._fetch_scope.cancel()
            method = GetRawUpdates(
                offset=self.ledger.offset,
                limit=limit,
                timeout=self.poll_timeout,
                allowed_updates=self.allowed_updates,
            )
            raw: Any = await self.bot(method, request_timeout=self.poll_timeout + 15)
            return cast(list[dict[str, Any]], raw)
        return None

    async def _wait_for_progress(self) -> None:
        with anyio.move_on_after(1):
            await self.ledger.wait_progress()

    async def _store(self, fresh: list[dict[str, Any]]) -> set[int]:
        """Store the batch in the inbox; the ids handled before (Telegram hands out again
        what a crash kept it from being told), which are not stored."""
        return await self.database.run_ahead(inbox.store_fetched, fresh)

    def _admit(
        self, fresh: list[dict[str, Any]], handled: Collection[int] = ()
    ) -> list[PendingUpdate]:
        """Put stored updates in the ledger; return those that need handling."""
        items: list[PendingUpdate] = []
        for raw in fresh:
            update_id = int(raw["update_id"])
            if update_id in handled:
                continue
            try:
                update = parse_update(raw, self.bot)
            except ValidationError as exc:
                log.warning("update {} is malformed and skipped: {}", update_id, exc)
                self.ledger.add(update_id, None)
                self.ledger.done(update_id)
                continue
            items.append(self.ledger.add(update_id, update))
        self.ledger.seen(max(int(raw["update_id"]) for raw in fresh))
        if handled:
            log.info("skipping {} updates handled before a restart", len(handled))
        return items

    async def _record_handled(self) -> bool:
        """Out of the inbox and marked handled: the updates dropped (throttled, malformed)
        or handled without a mark of their own. False if the database did not take it."""
        done = self.ledger.take_done()
        if not done:
            return True
        try:
            await self.database.run(inbox.done, done)
        except TRANSIENT_ERRORS:
            self.ledger.return_done(done)
            return False
        return True

    async def confirm(self) -> None:
        """Tell Telegram what has been stored, without taking anything new."""
        await self._record_handled()
        offset = self.ledger.offset
        if offset is None:
            return
        await self.bot(GetRawUpdates(offset=offset, limit=1, timeout=0), request_timeout=5)
        log.info("confirmed updates below {}", offset)


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubling up to 30 s, jittered."""
    return min(30.0, 0.5 * 2 ** min(failures, 6)) * random.uniform(0.5, 1)
