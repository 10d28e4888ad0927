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


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory storage, swept by the throttle rather than by a timer thread.

    The stock storage arms a 10 ms `threading.Timer` on any hit that finds the last one
    finished: under a burst that is a new thread almost every hit, and `Thread.start`
    holds the event loop until the thread has run, which with the database's worker
    threads holding the GIL takes milliseconds. The throttle sits in front of every
    update, so that stall was paid by all of them in turn.
    """

    def __init__(self) -> None:
        super().__init__()
        self.timer.cancel()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the stock storage's private hook
        """Nothing: sweep() drops the expired entries instead."""

    def sweep(self) -> None:
        self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class Throttle:
    def __init__(self, messages: int, presses: int, window_seconds: int, metrics: Metrics) -> None:
        self._metrics = metrics
        # the sync limits API: its asyncio flavour does not run under trio
        self._storage = SweptMemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
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
        async with anyio.create_task_group() as tg, inbox, outbox:
            tg.start_soon(self._sweep)
            task_status.started()
            async for pending in inbox:
                await outbox.send(self.check(pending))
            tg.cancel_scope.cancel()

    async def _sweep(self) -> None:
        """Forget hits older than the window, once a window (a walk over every user)."""
        while True:
            await anyio.sleep(self._window)
            await anyio.to_thread.run_sync(self._storage.sweep)
