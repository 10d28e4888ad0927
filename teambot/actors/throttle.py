"""The per-user throttle: a moving window of N updates per minute for each user.

Updates over the limit are dropped (and confirmed); the user hears about it once per window,
not once per dropped update.
"""

from __future__ import annotations

import math
import time

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from loguru import logger

from teambot.actors.work import Work, ordering_key, sender_of
from teambot.ledger import PendingUpdate
from teambot.metrics import Metrics

log = logger.bind(actor="throttle")


class Throttle:
    def __init__(self, requests: int, window_seconds: int, metrics: Metrics) -> None:
        self._metrics = metrics
        # the sync limits API: its asyncio flavour does not run under trio
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerSecond(requests, window_seconds)
        self._told_until: dict[int, float] = {}

    def check(self, pending: PendingUpdate) -> Work:
        user = sender_of(pending.update)
        key = ordering_key(pending, user)
        if user is None or self._limiter.hit(self._item, str(user.id)):
            return Work(pending, key, user)
        now = time.time()
        reset_at, _ = self._limiter.get_window_stats(self._item, str(user.id))
        retry_in: int | None = max(1, math.ceil(reset_at - now))
        if self._told_until.get(user.id, 0.0) > now:
            retry_in = None
        else:
            self._prune(now)
            self._told_until[user.id] = now + self._item.get_expiry()
        self._metrics.updates_throttled.inc()
        log.debug("user {} throttled (update {})", user.id, pending.update_id)
        return Work(pending, key, user, throttled=True, retry_in=retry_in)

    def _prune(self, now: float) -> None:
        if len(self._told_until) > 10_000:
            self._told_until = {k: v for k, v in self._told_until.items() if v > now}

    async def run(
        self,
        inbox: MemoryObjectReceiveStream[PendingUpdate],
        outbox: MemoryObjectSendStream[Work],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started()
        async with inbox, outbox:
            async for pending in inbox:
                await outbox.send(self.check(pending))
