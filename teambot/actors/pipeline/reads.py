"""The first-read actor: what every update from a person needs first, for many at once.

Every update from a person in their private chat starts with their row and their dialogue
(data/updates.py). Read in each update's own transaction, that is a round trip per update,
and under a burst a quarter of the bot's CPU (bench/capacity.py). Here the handlers ask,
and whatever asks while one read is under way goes in the next: one statement for them all,
outside their transactions. Each transaction then begins by checking that the rows are
still the versions read (`updates.confirm`, sent with its BEGIN, no round trip of its own),
so a handler sees what a read in its transaction would have shown it; when not, the update
is handled again from such a read (handling.py).

A person's next update asks after the previous one committed (the dispatch actor runs a
person's updates one at a time), so it never reads what its predecessor is changing.
"""

from __future__ import annotations

import math

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream
from loguru import logger

from teambot.actors.pipeline.streams import ready
from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.data import updates
from teambot.metrics import Metrics

log = logger.bind(actor="reads")


class _Request:
    def __init__(self, sender: updates.Sender) -> None:
        self.sender = sender
        self.found: updates.FirstRead | None = None
        self.done = anyio.Event()


class FirstReads:
    def __init__(self, database: Database, metrics: Metrics) -> None:
        self.database = database
        self.metrics = metrics
        self._requests: MemoryObjectSendStream[_Request] | None = None

    async def read(self, sender: updates.Sender) -> updates.FirstRead | None:
        """The sender's first read; None when it could not be made here (the actor is not
        running, the database is away): the update's transaction reads for itself."""
        requests = self._requests
        if requests is None:
            return None
        request = _Request(sender)
        try:
            requests.send_nowait(request)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
        await request.done.wait()
        return request.found

    def out_of_date(self) -> None:
        """A read handed out here was out of date by its transaction's BEGIN."""
        self.metrics.updates_read_again.inc()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serves until cancelled (the pipeline cancels it once the dispatch actor is done)."""
        # unbounded: no more wait here than the dispatch actor runs updates at once
        send, receive = anyio.create_memory_object_stream[_Request](math.inf)
        self._requests = send
        try:
            async with send, receive:
                task_status.started()
                async for first in receive:
                    batch = ready(receive, first)
                    try:
                        await self._read(batch)
                    finally:
                        for request in batch:
                            request.done.set()
        finally:
            self._requests = None

    async def _read(self, batch: list[_Request]) -> None:
        try:
            found = await self.database.run_ahead(updates.read, [r.sender for r in batch])
        except TRANSIENT_ERRORS as exc:
            log.debug("first reads left to the updates' transactions: {!r}", exc)
            return
        except Exception as exc:  # noqa: BLE001 - the updates read for themselves
            log.opt(exception=exc).error("first reads failed: {!r}", exc)
            return
        for request, first in zip(batch, found, strict=True):
            request.found = first
