"""The per-user throttle: two budgets per user, each a moving window.

Messages (commands and typed text) have the smaller one, RATE_LIMIT_REQUESTS_PER_MINUTE.
Button presses have their own, larger one, RATE_LIMIT_PRESSES_PER_MINUTE: a registration
alone is a few dozen taps on tags, Done and Skip that mostly change the dialogue's message
in place, and a person doing it quickly must not be told to slow down; a script flooding
either budget still is.

Updates over a budget are dropped (and confirmed). A dropped button press is answered with
the wait at once; for dropped messages the sender hears it once per window, not once per
update. A dropped update gets a key of its own, so its notice goes out ahead of the
sender's queued updates instead of behind their (paced) replies, and the wait it states is
read from the window when the notice is sent.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import Literal

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from loguru import logger

from teambot.actors.pipeline.ledger import PendingUpdate
from teambot.actors.pipeline.work import Throttled, Work, ordering_key, sender_of, unordered
from teambot.metrics import Metrics

log = logger.bind(actor="throttle")

Budget = Literal["message", "press"]


class Throttle:
    def __init__(self, messages: int, presses: int, window_seconds: int, metrics: Metrics) -> None:
        self._metrics = metrics
        # the sync limits API: its asyncio flavour does not run under trio
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._budgets: dict[Budget, RateLimitItem] = {
            "message": RateLimitItemPerSecond(messages, window_seconds),
            "press": RateLimitItemPerSecond(presses, window_seconds),
        }
        self._window = float(window_seconds)
        self._told_until: dict[int, float] = {}

    def check(self, pending: PendingUpdate) -> Work:
        user = sender_of(pending.update)
        if user is None:
            return Work(pending, ordering_key(pending, user), user)
        update = pending.update
        budget: Budget = (
            "press" if update is not None and update.callback_query is not None else "message"
        )
        if self._limiter.hit(self._budgets[budget], budget, str(user.id)):
            return Work(pending, ordering_key(pending, user), user)
        self._metrics.updates_throttled.inc()
        log.debug("user {} over the {} budget (update {})", user.id, budget, pending.update_id)
        throttled = Throttled(
            tell=budget == "press" or self._first_notice(user.id),
            seconds_left=partial(self.seconds_left, budget, user.id),
        )
        return Work(pending, unordered(pending), user, throttled)

    def seconds_left(self, budget: Budget, user_id: int) -> int:
        """Seconds until the user's budget takes one more update (at least 1)."""
        reset_at, _ = self._limiter.get_window_stats(self._budgets[budget], budget, str(user_id))
        return max(1, math.ceil(reset_at - time.time()))

    def _first_notice(self, user_id: int) -> bool:
        now = time.time()
        if self._told_until.get(user_id, 0.0) > now:
            return False
        if len(self._told_until) > 10_000:
            self._told_until = {k: v for k, v in self._told_until.items() if v > now}
        self._told_until[user_id] = now + self._window
        return True

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
