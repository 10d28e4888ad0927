"""The update pipeline: poller → throttle → dispatch, joined by bounded memory streams, and
the first reads the dispatched updates ask for (reads.py).

They run in one task group, so a crash in any of them restarts them all (OTP's
one-for-all): the restarted poller re-feeds what the ledger still holds, and nothing in
flight is dropped. On shutdown the poller stops fetching, the rest drain, and the pipeline
confirms to Telegram what was handled before it returns.
"""

from __future__ import annotations

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from teambot.actors.pipeline.dispatch import Dispatch
from teambot.actors.pipeline.ledger import PendingUpdate
from teambot.actors.pipeline.poller import UpdatePoller
from teambot.actors.pipeline.reads import FirstReads
from teambot.actors.pipeline.throttle import Throttle
from teambot.actors.pipeline.work import Work

log = logger.bind(actor="pipeline")


class Pipeline:
    def __init__(
        self,
        poller: UpdatePoller,
        throttle: Throttle,
        dispatch: Dispatch,
        reads: FirstReads,
        buffer: int = 64,
    ) -> None:
        self.poller = poller
        self.throttle = throttle
        self.dispatch = dispatch
        self.reads = reads
        self.buffer = buffer

    def request_stop(self) -> None:
        log.info("stopping: no new updates, finishing {} in flight", self.poller.ledger.in_flight)
        self.poller.stop_fetching()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        fetched_tx, fetched_rx = anyio.create_memory_object_stream[PendingUpdate](self.buffer)
        work_tx, work_rx = anyio.create_memory_object_stream[Work](self.buffer)
        try:
            async with anyio.create_task_group() as serving:
                await serving.start(self.reads.run)
                async with anyio.create_task_group() as tg:
                    await tg.start(self.dispatch.run, work_rx)
                    await tg.start(self.throttle.run, fetched_rx, work_tx)
                    await tg.start(self.poller.run, fetched_tx)
                    task_status.started()
                serving.cancel_scope.cancel()  # the dispatched updates are done
        finally:
            # Whether drained, cancelled or crashed: confirm what is done, briefly.
            with anyio.move_on_after(5, shield=True):
                try:
                    await self.poller.confirm()
                except Exception as exc:  # noqa: BLE001 - unconfirmed updates come back
                    log.warning("could not confirm handled updates: {!r}", exc)
