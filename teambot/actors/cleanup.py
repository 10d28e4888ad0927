"""The cleanup timer: runs the periodic jobs every CLEANUP_INTERVAL_MINUTES.

It runs them once shortly after start, then on a fixed schedule (a slow pass does not push
the next one later). A job that fails is logged and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from teambot.actors.pipeline.dispatch import TRANSIENT
from teambot.metrics import Metrics

log = logger.bind(actor="cleanup")


@dataclass(frozen=True)
class CleanupJob:
    name: str
    run: Callable[[], Awaitable[int]]  # returns how many rows it changed


class CleanupTimer:
    def __init__(
        self,
        jobs: Sequence[CleanupJob],
        metrics: Metrics,
        interval: float,
        first_delay: float = 5.0,
    ) -> None:
        self.jobs = list(jobs)
        self.metrics = metrics
        self.interval = interval
        self.first_delay = first_delay
        self.passes = 0

    async def run_pass(self) -> dict[str, int]:
        results: dict[str, int] = {}
        for job in self.jobs:
            try:
                results[job.name] = count = await job.run()
            except TRANSIENT as exc:
                # an outage, reported where it is noticed (database, Bot API): one line here
                log.warning("cleanup job {} waits for the next pass: {!r}", job.name, exc)
                self.metrics.cleanup_runs.labels(job.name, "failed").inc()
                continue
            except Exception as exc:  # noqa: BLE001 - the next job and pass still run
                log.opt(exception=exc).error("cleanup job {} failed: {!r}", job.name, exc)
                self.metrics.cleanup_runs.labels(job.name, "failed").inc()
                continue
            self.metrics.cleanup_runs.labels(job.name, "ok").inc()
            self.metrics.cleanup_rows.labels(job.name).inc(count)
            if count:
                log.info("{}: {} rows", job.name, count)
        self.passes += 1
        return results

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        next_run = anyio.current_time() + min(self.first_delay, self.interval)
        while True:
            await anyio.sleep(max(0.0, next_run - anyio.current_time()))
            await self.run_pass()
            next_run += self.interval
            # after a long pause (suspend, a pass longer than the interval) skip the missed
            # runs instead of firing them back to back
            now = anyio.current_time()
            if next_run < now:
                next_run = now + self.interval
