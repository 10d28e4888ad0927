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

The windows live in a `limits` storage: this process's memory by default, or a shared
store (`RATE_LIMIT_STORAGE_URI=redis://…`) so that several instances count one budget per
user. A shared store that does not answer never stops the bot: updates are let through
(fail open), the log says so once, and the store is tried again every few seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from loguru import logger

from teambot.actors.pipeline.ledger import PendingUpdate
from teambot.actors.pipeline.streams import ready, send_all
from teambot.actors.pipeline.work import Throttled, Work, ordering_key, sender_of, unordered
from teambot.metrics import Metrics

log = logger.bind(actor="throttle")

Budget = Literal["message", "press"]
T = TypeVar("T")

# A shared store gets this long to answer one hit; after a failure it is left alone this
# long (every update meanwhile is let through) before it is tried again.
STORE_TIMEOUT_SECONDS = 0.5
STORE_RETRY_SECONDS = 5.0


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
    def __init__(
        self,
        messages: int,
        presses: int,
        window_seconds: int,
        metrics: Metrics,
        storage_uri: str = "memory://",
    ) -> None:
        self._metrics = metrics
        # the sync limits API: its asyncio flavour does not run under trio
        self._storage: Storage
        if is_memory(storage_uri):
            self._storage = SweptMemoryStorage()
        else:
            storage = storage_from_string(
                storage_uri,
                wrap_exceptions=True,
                socket_timeout=STORE_TIMEOUT_SECONDS,
                socket_connect_timeout=STORE_TIMEOUT_SECONDS,
            )
            if not isinstance(storage, Storage):  # config refuses limits' async+ schemes
                raise TypeError("the throttle takes a storage of limits' sync API")
            self._storage = storage
        self._store_name = store_name(storage_uri)
        self._store_down_until: float | None = None  # monotonic; None: the store answers
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._budgets: dict[Budget, RateLimitItem] = {
            "message": RateLimitItemPerSecond(messages, window_seconds),
            "press": RateLimitItemPerSecond(presses, window_seconds),
        }
        self._window = float(window_seconds)
        self._told_until: dict[int, float] = {}

    @property
    def shared(self) -> bool:
        """The windows are in a store outside this process (each check is a round trip)."""
        return not isinstance(self._storage, SweptMemoryStorage)

    def check_all(self, batch: list[PendingUpdate]) -> list[Work]:
        return [self.check(pending) for pending in batch]

    def check(self, pending: PendingUpdate) -> Work:
        """Blocks on a shared store: `run` calls it in a worker thread then."""
        user = sender_of(pending.update)
        if user is None:
            return Work(pending, ordering_key(pending, user), user)
        update = pending.update
        budget: Budget = (
            "press" if update is not None and update.callback_query is not None else "message"
        )
        item, key = self._budgets[budget], str(user.id)
        if self._store(lambda: self._limiter.hit(item, budget, key), default=True):
            return Work(pending, ordering_key(pending, user), user)
        self._metrics.updates_throttled.inc()
        log.debug("user {} over the {} budget (update {})", user.id, budget, pending.update_id)
        # When one more update is taken: the window's oldest hit expires then, and no
        # refused hit moves it, so it can be read now and the wait told later.
        reset_at, _ = self._store(
            lambda: self._limiter.get_window_stats(item, budget, key),
            default=(time.time() + self._window, 0),
        )
        throttled = Throttled(
            tell=budget == "press" or self._first_notice(user.id),
            seconds_left=partial(seconds_until, reset_at),
        )
        return Work(pending, unordered(pending), user, throttled)

    def _store(self, call: Callable[[], T], default: T) -> T:
        """`call()` against the storage, or `default` while a shared store is unreachable."""
        if not self.shared:
            return call()
        down_until = self._store_down_until
        if down_until is not None and time.monotonic() < down_until:
            return default
        try:
            result = call()
        except StorageError as exc:
            self._metrics.throttle_store_failures.inc()
            if down_until is None:
                log.warning(
                    "the throttle's store ({}) does not answer ({}): every update is let"
                    " through until it does; trying it again every {:g} s",
                    self._store_name,
                    type(exc.storage_error).__name__,
                    STORE_RETRY_SECONDS,
                )
            self._store_down_until = time.monotonic() + STORE_RETRY_SECONDS
            return default
        if down_until is not None:
            log.info("the throttle's store ({}) answers again", self._store_name)
            self._store_down_until = None
        return result

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
            if self.shared:
                log.info("counting each user's budget in the shared store {}", self._store_name)
            task_status.started()
            async for first in inbox:
                batch = ready(inbox, first)
                if self.shared:
                    checked = await anyio.to_thread.run_sync(self.check_all, batch)
                else:
                    checked = self.check_all(batch)
                await send_all(outbox, checked)
            tg.cancel_scope.cancel()

    async def _sweep(self) -> None:
        """Forget hits older than the window, once a window (a walk over every user). A
        shared store expires its entries itself."""
        storage = self._storage
        if not isinstance(storage, SweptMemoryStorage):
            return
        while True:
            await anyio.sleep(self._window)
            await anyio.to_thread.run_sync(storage.sweep)


def seconds_until(reset_at: float) -> int:
    """Whole seconds from now to `reset_at` (a time.time()), at least 1."""
    return max(1, math.ceil(reset_at - time.time()))


def is_memory(storage_uri: str) -> bool:
    return urlsplit(storage_uri).scheme == "memory"


def store_name(storage_uri: str) -> str:
    """The store's URI for the log, without its password."""
    parts = urlsplit(storage_uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
