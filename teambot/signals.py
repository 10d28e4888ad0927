"""Signals that arrive while no event loop listens for them."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any


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
