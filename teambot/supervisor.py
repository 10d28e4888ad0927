"""A one-for-one supervisor in the manner of Erlang/OTP, on anyio task groups.

Children start in order (each reports ready through `task_status.started()` before the next
starts) and stop in reverse order. A stop requested while they start cancels the child
that is starting (waiting for PostgreSQL, say) and stops the ones already running.

A child that raises is logged and restarted with backoff; more than `intensity` restarts
within `period` seconds means something is wrong beyond what restarting fixes, and the
supervisor gives up so the service manager (systemd, podman) can restart the whole process.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from teambot.errors import FatalError, find_error

ChildRun = Callable[..., Coroutine[Any, Any, None]]


class RestartIntensityExceeded(Exception):
    pass


@dataclass
class ChildSpec:
    name: str
    run: ChildRun  # async def run(*, task_status) -> None; runs until cancelled
    # Called once on shutdown before the child is cancelled; the child then has
    # `stop_timeout` seconds to return by itself (e.g. to finish updates in flight).
    request_stop: Callable[[], None] | None = None
    stop_timeout: float = 0.0


@dataclass
class _Running:
    spec: ChildSpec
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    finished: anyio.Event = field(default_factory=anyio.Event)


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec],
        *,
        intensity: int = 5,
        period: float = 60.0,
        min_backoff: float = 0.5,
        max_backoff: float = 10.0,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        self.children = children
        self.intensity = intensity
        self.period = period
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.on_restart = on_restart
        self._restarts: deque[float] = deque()
        self._running: list[_Running] = []
        self._stopping = False
        self._stop_requested = anyio.Event()
        self._starting = anyio.CancelScope()
        self.started = False  # every child has started

    def request_stop(self) -> None:
        self._stop_requested.set()
        self._starting.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, run until `request_stop()`, stop them in reverse.

        Reports started only once every child has; a stop requested before that returns
        without reporting it."""
        async with anyio.create_task_group() as tg:
            with self._starting:
                for spec in self.children:
                    running = _Running(spec)
                    self._running.append(running)
                    await tg.start(self._supervise, running)
            if not self._starting.cancel_called:
                self.started = True
                task_status.started()
                await self._stop_requested.wait()
            await self._stop_children()

    async def _stop_children(self) -> None:
        self._stopping = True
        for running in reversed(self._running):
            spec = running.spec
            if spec.request_stop is not None:
                spec.request_stop()
                with anyio.move_on_after(spec.stop_timeout):
                    await running.finished.wait()
                if not running.finished.is_set():
                    logger.bind(actor="supervisor").warning(
                        "{} did not stop within {} s, cancelling it", spec.name, spec.stop_timeout
                    )
            running.scope.cancel()
            await running.finished.wait()
            logger.bind(actor="supervisor").debug("{} stopped", spec.name)

    async def _supervise(self, running: _Running, *, task_status: TaskStatus[None]) -> None:
        spec = running.spec
        log = logger.bind(actor="supervisor")
        reported = False
        backoff = self.min_backoff
        try:
            with running.scope:
                while True:
                    try:
                        async with anyio.create_task_group() as tg:
                            await tg.start(spec.run)
                            if not reported:
                                reported = True
                                task_status.started()
                            backoff = self.min_backoff
                        if self._stopping:
                            return
                        raise RuntimeError(f"{spec.name} returned while it should run")
                    except Exception as exc:
                        if self._stopping:
                            return
                        if find_error(exc, FatalError) is not None:
                            raise  # restarting cannot help
                        log.opt(exception=exc).error("{} crashed: {!r}", spec.name, exc)
                        self._count_restart(spec.name)
                        if self.on_restart is not None:
                            self.on_restart(spec.name)
                        wait = random.uniform(backoff / 2, backoff)
                        backoff = min(backoff * 2, self.max_backoff)
                        log.info("restarting {} in {:.1f} s", spec.name, wait)
                        await anyio.sleep(wait)
        finally:
            running.finished.set()

    def _count_restart(self, name: str) -> None:
        now = anyio.current_time()
        self._restarts.append(now)
        while self._restarts and now - self._restarts[0] > self.period:
            self._restarts.popleft()
        if len(self._restarts) > self.intensity:
            raise RestartIntensityExceeded(
                f"{name} crashed: more than {self.intensity} restarts in {self.period:g} s"
            )
