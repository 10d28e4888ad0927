"""Webhook mode's update source: reads the inbox table, which the webhook endpoint
(`teambot/web/webhook.py`) fills before it answers Telegram.

It keeps the poller's bookkeeping (the ledger, the replay after a pipeline restart); only
where updates come from differs. An update leaves the inbox in the transaction that
handles it (its handled mark), or, when it is dropped (throttled, malformed), with the
poller's batch of handled ids.

Telegram is asked for the webhook's state every HEARTBEAT_SECONDS: that keeps /readyz
honest while no update comes, tells the operator in the log when Telegram reports the
webhook failing, and sets the webhook again if another setup removed or replaced it.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import Any

import anyio
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import WebhookInfo
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from loguru import logger

from teambot.actors.pipeline.ledger import PendingUpdate, UpdateLedger
from teambot.actors.pipeline.poller import UpdatePoller
from teambot.actors.pipeline.streams import send_all
from teambot.adapters.database import TRANSIENT_ERRORS, Database, listen
from teambot.adapters.telegram import reachability_of
from teambot.data import inbox
from teambot.errors import FatalError
from teambot.health import Health
from teambot.metrics import Metrics

log = logger.bind(actor="inbox")

HEARTBEAT_SECONDS = 30.0
AGE_EVERY = 5.0  # the inbox's age is looked up when no read set it for this long


class InboxReader(UpdatePoller):
    def __init__(
        self,
        bot: Bot,
        database: Database,
        ledger: UpdateLedger,
        health: Health,
        metrics: Metrics,
        webhook: WebhookSetup,
        *,
        max_in_flight: int = 200,
    ) -> None:
        super().__init__(bot, database, ledger, health, metrics, max_in_flight=max_in_flight)
        self.webhook = webhook
        self._news = anyio.Event()
        self._reported_error_at = time.time()  # Telegram's errors from before are old news
        self._age_set_at = 0.0

    async def run(
        self,
        outbox: MemoryObjectSendStream[PendingUpdate],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        # set before reporting started, so that "ready" means Telegram posts to us; if
        # Telegram does not take it now, the heartbeat tries again in a moment
        await self._heartbeat()
        async with anyio.create_task_group() as tg:
            # other instances store what Telegram posts to them: they NOTIFY
            tg.start_soon(listen, self.database.conninfo, inbox.CHANNEL, self.received)
            tg.start_soon(self._watch_age)
            await super().run(outbox, task_status=task_status)
            tg.cancel_scope.cancel()

    def received(self) -> None:
        """An update was stored (here or by another instance): look at the inbox now
        rather than in a second."""
        self._news.set()

    async def _poll(self, outbox: MemoryObjectSendStream[PendingUpdate]) -> None:
        next_heartbeat = anyio.current_time() + (
            HEARTBEAT_SECONDS if self.webhook.installed else min(2.0, HEARTBEAT_SECONDS)
        )
        while not self._stopping:
            self.health.poller_alive()
            if not await self._record_handled():
                # a read now could hand out again a dropped update whose removal failed
                await anyio.sleep(1)
                continue
            if anyio.current_time() >= next_heartbeat:
                await self._heartbeat()
                # not set yet (Telegram away at the first try): again soon
                wait = HEARTBEAT_SECONDS if self.webhook.installed else min(2.0, HEARTBEAT_SECONDS)
                next_heartbeat = anyio.current_time() + wait
            if self.ledger.in_flight >= self.max_in_flight:
                await self._wait_for_progress()
                continue
            self._news = anyio.Event()  # before the read: a store during it wakes the wait
            rows: list[dict[str, Any]] = []
            try:
                rows, oldest = await self.database.run_ahead(
                    inbox.waiting, self.ledger.in_hand(), self.max_in_flight - self.ledger.in_flight
                )
            except TRANSIENT_ERRORS:
                pass  # the database actor reports the outage; look again in a second
            else:
                self._set_age(oldest)
            if not rows:
                with anyio.move_on_after(1):
                    await self._news.wait()
                continue
            self.metrics.updates_received.inc(len(rows))
            await send_all(outbox, self._admit(rows))

    def _set_age(self, seconds: float) -> None:
        self.metrics.inbox_oldest_age.set(seconds)
        self._age_set_at = anyio.current_time()

    async def _watch_age(self) -> None:
        """While every slot is taken nothing is read from the inbox, and the age read with
        it would stand still as the updates behind wait on: look it up on its own then."""
        while True:
            await anyio.sleep_until(self._age_set_at + AGE_EVERY)
            if anyio.current_time() < self._age_set_at + AGE_EVERY:
                continue  # a read set it meanwhile
            self._age_set_at = anyio.current_time()  # tried, whatever comes of it
            with suppress(*TRANSIENT_ERRORS):  # the database actor reports the outage
                skip = self.ledger.in_hand()
                self._set_age(await self.database.run_ahead(inbox.oldest_age, skip))

    async def confirm(self) -> None:
        """Nothing to tell Telegram (it took our 200s): only write what was handled."""
        await self._record_handled()

    async def _heartbeat(self) -> None:
        try:
            info = await self.webhook.check(self.bot)
        except TelegramUnauthorizedError as exc:
            raise FatalError("BOT_TOKEN was rejected by the Bot API (401)") from exc
        except TelegramAPIError as exc:  # an outage, or a refusal to look at again later
            reachability_of(self.bot).failed(exc, HEARTBEAT_SECONDS)
            return
        error_at = info.last_error_date.timestamp() if info.last_error_date else 0.0
        if info.last_error_message and error_at > self._reported_error_at:
            self._reported_error_at = error_at
            log.warning(
                "Telegram reports a failed delivery to the webhook: {} ({} updates wait there)",
                info.last_error_message,
                info.pending_update_count,
            )


class WebhookSetup:
    """Where Telegram should POST updates, and how."""

    def __init__(
        self,
        url: str,
        secret: str,
        max_connections: int,
        allowed_updates: list[str] | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.max_connections = max_connections
        self.allowed_updates = allowed_updates
        self.installed = False  # by this process

    async def install(self, bot: Bot) -> None:
        await bot.set_webhook(
            url=self.url,
            secret_token=self.secret,
            max_connections=self.max_connections,
            allowed_updates=self.allowed_updates,
            drop_pending_updates=False,
        )
        if not self.installed:
            log.info(
                "Telegram posts updates to {} (at most {} at once)", self.url, self.max_connections
            )
        self.installed = True

    async def check(self, bot: Bot) -> WebhookInfo:
        """Telegram's view of the webhook; sets it when it is not ours (at the leader's
        first check, or after another setup removed or replaced it)."""
        info = await bot.get_webhook_info()
        if info.url != self.url:
            if self.installed:
                log.warning(
                    "the webhook was {} elsewhere (another setup of this bot?): setting it again",
                    "replaced" if info.url else "removed",
                )
            await self.install(bot)
        elif not self.installed:
            await self.install(bot)  # the same URL, perhaps with an older secret
        return info
