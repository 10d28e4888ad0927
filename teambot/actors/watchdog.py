"""systemd integration: READY=1, STATUS=, WATCHDOG=1 while healthy, STOPPING=1.

The notify protocol is one datagram per message to $NOTIFY_SOCKET; without systemd
(no NOTIFY_SOCKET) every call is a no-op.
"""

from __future__ import annotations

import os
import socket

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from teambot.health import Health

log = logger.bind(actor="watchdog")


class SystemdNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_interval = int(usec) / 1_000_000 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, message: str) -> None:
        if not self._address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self._address)
            except OSError as exc:
                log.warning("sd_notify failed: {}", exc)

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")


class Watchdog:
    """Pings systemd's watchdog at half its interval, but only while the process is live:
    a stuck poller stops the pings, and systemd restarts the service."""

    def __init__(self, notifier: SystemdNotifier, health: Health) -> None:
        self.notifier = notifier
        self.health = health

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        interval = self.notifier.watchdog_interval
        if interval is None:
            await anyio.sleep_forever()
            return
        while True:
            problem = self.health.liveness()
            if problem is None:
                self.notifier.notify("WATCHDOG=1")
            else:
                log.error("not pinging the watchdog: {}", problem)
            await anyio.sleep(interval / 2)
