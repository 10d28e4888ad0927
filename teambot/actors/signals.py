"""The signal watcher: SIGTERM/SIGINT stop the supervisor gracefully; a second one exits at
once. `EarlySignals` covers the time before the event loop listens."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Any

import anyio
from loguru import logger

from teambot.actors.watchdog import SystemdNotifier
from teambot.embedded import stop_embedded_servers
from teambot.health import Health
from teambot.supervisor import Supervisor

log = logger.bind(actor="runtime")


class EarlySignals:
    """SIGTERM/SIGINT while no event loop listens: `teambot run` starts an embedded
    PostgreSQL before the loop and stops it after. The first signal is remembered (the loop
    acts on it as soon as it listens, see `serve`); a second one exits at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> EarlySignals:
        self._previous = {signum: signal.getsignal(signum) for signum in self.SIGNALS}
        self.listen()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def listen(self) -> None:
        """(Again:) asyncio's signal handling leaves SIG_DFL behind when the loop ends."""
        for signum in self.SIGNALS:
            signal.signal(signum, self._remember)

    def _remember(self, signum: int, frame: FrameType | None) -> None:
        # nothing logged here: the signal may have interrupted a log line being written
        if self.received is None:
            self.received = signum
        else:
            raise SystemExit(128 + signum)


async def watch_signals(
    supervisor: Supervisor,
    health: Health,
    notifier: SystemdNotifier,
    early: EarlySignals | None = None,
) -> None:
    """The first SIGTERM/SIGINT asks the supervisor to stop (updates in flight finish); a
    second one exits at once."""
    received = 0

    def on_signal(signum: int) -> None:
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received == 1:
            if supervisor.started:
                log.info("{} received: finishing updates in flight, then stopping", name)
                health.set_status("draining updates in flight")
            else:
                log.info("{} received while {}: stopping", name, health.status)
                health.set_status("stopping")
            notifier.notify("STOPPING=1")
            supervisor.request_stop()
        else:
            log.warning("second {} received: exiting now", name)
            # unconfirmed updates stay on Telegram's side and come back next start
            stop_embedded_servers()  # os._exit skips the exit handler that would
            os._exit(128 + signum)

    with anyio.open_signal_receiver(*EarlySignals.SIGNALS) as signals:
        if early is not None and early.received is not None:
            on_signal(early.received)  # arrived before this receiver listened
        async for signum in signals:
            on_signal(signum)
