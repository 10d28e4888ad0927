"""The webhook endpoint: Telegram POSTs each update here (UPDATES_MODE=webhook).

An update is answered 200 only once it is stored in the inbox: then Telegram forgets it
and we may not lose it. When it cannot be stored (the database is away) the answer is 503
and Telegram delivers it again later. (aiogram's own webhook handler answers before
handling, which loses the update if the process dies in between.) A request without
the secret Telegram was given (`X-Telegram-Bot-Api-Secret-Token`) is refused with 401,
compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from loguru import logger

from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.adapters.http import Receive, Send, read_body, respond
from teambot.data import inbox
from teambot.metrics import Metrics

log = logger.bind(actor="webhook")

# Telegram's updates are a few kilobytes; a body far larger is not from Telegram.
MAX_BODY_BYTES = 1 << 20
# Telegram waits a while for the answer, then counts a failed delivery and retries later;
# with the database away a quick 503 says so, rather than a wait for the pool's timeout
STORE_WITHIN_SECONDS = 2.0
SECRET_HEADER = b"x-telegram-bot-api-secret-token"


class WebhookEndpoint:
    def __init__(
        self,
        database: Database,
        secret: str,
        metrics: Metrics,
        on_stored: Callable[[], None],
    ) -> None:
        self.database = database
        self.secret = secret.encode()
        self.metrics = metrics
        self.on_stored = on_stored

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await respond(send, 405, "POST only\n", headers=[(b"allow", b"POST")])
            return
        given = dict(scope["headers"]).get(SECRET_HEADER, b"")
        if not hmac.compare_digest(given, self.secret):
            self.metrics.webhook_requests.labels("refused").inc()
            await respond(send, 401, "wrong or missing secret token\n")
            return
        body = await read_body(receive, MAX_BODY_BYTES)
        if body is None:
            self.metrics.webhook_requests.labels("malformed").inc()
            await respond(
                send, 413, "too large for an update\n", headers=[(b"connection", b"close")]
            )
            return
        try:
            update = json.loads(body)
            if not isinstance(update, dict):
                raise TypeError("not an object")
            update_id = int(update["update_id"])
        except (ValueError, TypeError, KeyError):
            self.metrics.webhook_requests.labels("malformed").inc()
            await respond(send, 400, "expected one Telegram update as JSON\n")
            return
        try:
            stored = await self.database.run_within(
                STORE_WITHIN_SECONDS, inbox.store, update_id, update
            )
        except TRANSIENT_ERRORS as exc:
            # Telegram tries again later; the database actor reports the outage itself
            log.debug("update {} not stored, Telegram will retry: {!r}", update_id, exc)
            self.metrics.webhook_requests.labels("unavailable").inc()
            await respond(send, 503, "cannot store the update now, try again\n")
            return
        self.metrics.webhook_requests.labels("stored" if stored else "again").inc()
        if stored:
            self.on_stored()
        await respond(send, 200, "")
