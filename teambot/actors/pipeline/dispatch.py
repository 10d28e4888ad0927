"""The dispatcher actor: runs handlers, one user at a time, many users at once.

Each user has a queue; one worker drains it, so a double tap is handled after the first tap
finished, never beside it. Different users' workers run in parallel, at most
`max_concurrency` at once. Workers belong to this actor's task group: none outlives it.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from loguru import logger

from teambot.actors.pipeline.ledger import UpdateLedger
from teambot.actors.pipeline.streams import ready
from teambot.actors.pipeline.work import Work
from teambot.adapters.database import TRANSIENT_ERRORS
from teambot.adapters.telegram import TRANSIENT_TELEGRAM_ERRORS
from teambot.metrics import Metrics

log = logger.bind(actor="dispatch")

Handler = Callable[[Work], Awaitable[None]]
TRANSIENT = (*TRANSIENT_ERRORS, *TRANSIENT_TELEGRAM_ERRORS)


class Dispatch:
    def __init__(
        self,
        handle: Handler,
        on_failure: Handler,
        ledger: UpdateLedger,
        metrics: Metrics,
        *,
        max_concurrency: int = 64,
        attempt_timeout: float = 60,
        max_retry_backoff: float = 10,
    ) -> None:
        self._handle = handle
        self._on_failure = on_failure
        self._ledger = ledger
        self._metrics = metrics
        self._max_concurrency = max_concurrency
        self._attempt_timeout = attempt_timeout
        self._max_retry_backoff = max_retry_backoff

    async def run(
        self,
        inbox: MemoryObjectReceiveStream[Work],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        # Per run, not per instance: a restarted pipeline must not inherit the queue of a
        # worker that was cancelled before it started.
        queues: dict[tuple[str, int], deque[Work]] = {}
        slots = anyio.Semaphore(self._max_concurrency)
        async with anyio.create_task_group() as workers, inbox:
            task_status.started()
            async for first in inbox:
                for work in ready(inbox, first):
                    queue = queues.get(work.key)
                    if queue is not None:
                        queue.append(work)
                        continue
                    try:
                        slots.acquire_nowait()
                    except anyio.WouldBlock:
                        await slots.acquire()
                    queues[work.key] = deque([work])
                    workers.start_soon(self._drain, queues, work.key, slots)
        # leaving the task group waited for every worker: all fed updates are handled

    async def _drain(
        self,
        queues: dict[tuple[str, int], deque[Work]],
        key: tuple[str, int],
        slots: anyio.Semaphore,
    ) -> None:
        queue = queues[key]
        try:
            while queue:
                await self._process(queue[0])
                queue.popleft()
        finally:
            del queues[key]
            slots.release()

    async def _process(self, work: Work) -> None:
        update_id = work.pending.update_id
        backoff = 0.5
        while True:
            try:
                with anyio.fail_after(self._attempt_timeout):
                    await self._handle(work)
                self._metrics.updates_handled.inc()
                break
            except TRANSIENT as exc:
                # The database or Telegram is away: keep the update and try again; the
                # user's later updates wait behind it, so their order is kept.
                wait = random.uniform(backoff / 2, backoff)
                backoff = min(backoff * 2, self._max_retry_backoff)
                log.warning(
                    "update {} waits for recovery ({!r}); retry in {:.1f} s", update_id, exc, wait
                )
                await anyio.sleep(wait)
            except Exception as exc:  # noqa: BLE001 - one bad update must not stop the rest
                log.opt(exception=exc).error("update {} failed: {!r}", update_id, exc)
                self._metrics.updates_failed.inc()
                await self._tell_failure(work)
                break
        self._metrics.handling_seconds.observe(anyio.current_time() - work.pending.fetched_at)
        self._ledger.done(update_id, marked=work.handled.marked)

    async def _tell_failure(self, work: Work) -> None:
        try:
            with anyio.fail_after(10):
                await self._on_failure(work)
        except Exception as exc:  # noqa: BLE001 - the apology is best effort
            log.warning(
                "could not tell the user about update {}: {!r}", work.pending.update_id, exc
            )
