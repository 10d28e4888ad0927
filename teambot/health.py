"""What the process knows about its own health: shared by the HTTP probes, the systemd
watchdog and `teambot healthcheck`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from teambot.adapters.database import TRANSIENT_ERRORS, Database


@dataclass
class Health:
    # seconds without getUpdates progress after which the poller counts as stuck
    stale_after: float = 60.0
    status: str = "starting"
    polling: bool = False
    # this instance holds the lead (actors/leadership.py): it takes updates and sends
    leader: bool = False
    last_poll: float = field(default_factory=anyio.current_time)
    last_api_ok: float | None = None
    on_status: list[Callable[[str], None]] = field(default_factory=list)

    def set_status(self, status: str) -> None:
        self.status = status
        for listener in self.on_status:
            listener(status)

    def poller_alive(self) -> None:
        """The poller went once more round its loop (whatever Telegram answered)."""
        self.last_poll = anyio.current_time()

    def api_succeeded(self) -> None:
        self.last_api_ok = anyio.current_time()

    def liveness(self) -> str | None:
        """None when alive, else why not."""
        if self.polling and anyio.current_time() - self.last_poll > self.stale_after:
            return f"the update poller made no progress for {self.stale_after:.0f} s"
        return None

    async def readiness(self, database: Database) -> str | None:
        """None when ready to serve users, else why not."""
        if (problem := self.liveness()) is not None:
            return problem
        if not database.is_open:
            return f"not ready: {self.status}"
        try:
            await database.ping(timeout=2)
        except TRANSIENT_ERRORS as exc:
            return f"PostgreSQL does not answer ({type(exc).__name__})"
        # a standby makes no Bot API calls after its start: only the leader's are news
        if self.leader and (
            self.last_api_ok is None or anyio.current_time() - self.last_api_ok > self.stale_after
        ):
            return "the Bot API has not answered recently"
        return None

    @property
    def role(self) -> str:
        return "leader" if self.leader else "standby"
