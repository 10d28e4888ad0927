"""The HTTP listener: /healthz (liveness), /readyz (readiness), /metrics (Prometheus), the
organizers' dashboard under /dashboard (teambot/web/dashboard.py), and in webhook mode
Telegram's POSTs at WEBHOOK_URL's path (teambot/web/webhook.py)."""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import TaskStatus

from teambot.adapters.database import Database
from teambot.adapters.http import Receive, Send, respond, serve_asgi
from teambot.health import Health
from teambot.metrics import Metrics
from teambot.web.dashboard import DashboardSite
from teambot.web.webhook import WebhookEndpoint


class HttpServer:
    def __init__(
        self,
        health: Health,
        database: Database,
        metrics: Metrics,
        host: str,
        port: int,
        dashboard: DashboardSite | None = None,
        webhook: tuple[str, WebhookEndpoint] | None = None,
    ) -> None:
        self.health = health
        self.webhook = webhook
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
        if self.webhook is not None and path == self.webhook[0]:
            await self.webhook[1](scope, receive, send)
        elif path == "/healthz":
            problem = self.health.liveness()
            await respond(send, 503 if problem else 200, (problem or "ok") + "\n")
        elif path == "/readyz":
            problem = await self.health.readiness(self.database)
            await respond(
                send, 503 if problem else 200, (problem or f"ok: {self.health.role}") + "\n"
            )
        elif path == "/metrics":
            self.metrics.ready.set(await self.health.readiness(self.database) is None)
            await respond(
                send, 200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"
            )
        elif self.dashboard is not None and path.split("/")[1] == "dashboard":
            await self.dashboard(scope, receive, send)
        else:
            await respond(send, 404, "not found\n")

    def request_stop(self) -> None:
        self._shutdown.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._shutdown = anyio.Event()
        await serve_asgi(self, self.host, self.port, self._shutdown, task_status=task_status)
