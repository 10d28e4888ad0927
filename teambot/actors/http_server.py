"""The HTTP listener: /healthz (liveness), /readyz (readiness), /metrics (Prometheus), and
the organizers' dashboard under /dashboard (teambot/web/dashboard.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskStatus

from teambot.adapters.database import Database
from teambot.adapters.http import serve_asgi
from teambot.health import Health
from teambot.metrics import Metrics
from teambot.web.dashboard import DashboardSite

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class HttpServer:
    def __init__(
        self,
        health: Health,
        database: Database,
        metrics: Metrics,
        host: str,
        port: int,
        dashboard: DashboardSite | None = None,
    ) -> None:
        self.health = health
        self.dashboard = dashboard
        self.database = database
        self.metrics = metrics
        self.host = host
        self.port = port

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/healthz":
            problem = self.health.liveness()
            await _reply(send, 503 if problem else 200, (problem or "ok") + "\n")
        elif path == "/readyz":
            problem = await self.health.readiness(self.database)
            await _reply(send, 503 if problem else 200, (problem or "ok") + "\n")
        elif path == "/metrics":
            self.metrics.ready.set(await self.health.readiness(self.database) is None)
            await _reply(
                send, 200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"
            )
        elif self.dashboard is not None and path.split("/")[1] == "dashboard":
            await self.dashboard(scope, receive, send)
        else:
            await _reply(send, 404, "not found\n")

    def request_stop(self) -> None:
        self._shutdown.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._shutdown = anyio.Event()
        await serve_asgi(self, self.host, self.port, self._shutdown, task_status=task_status)


async def _reply(
    send: Send, status: int, body: str | bytes, content_type: str = "text/plain; charset=utf-8"
) -> None:
    data = body.encode() if isinstance(body, str) else body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
