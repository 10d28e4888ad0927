"""The Telegram actor: owns the Bot API session. Checks the token at start (getMe), drops a
webhook left from another setup (polling mode; in webhook mode the leader sets it,
`actors/pipeline/inbox.py`), publishes the command menu, and closes the session at stop."""

from __future__ import annotations

from collections.abc import Callable

import anyio
from aiogram import Bot
from aiogram.exceptions import TelegramUnauthorizedError
from anyio.abc import TaskStatus
from loguru import logger

from teambot.actors.pipeline.handling import publish_commands
from teambot.adapters.telegram import (
    CERTIFICATE_ADVICE,
    TRANSIENT_TELEGRAM_ERRORS,
    CertificateNotTrustedError,
    reachability_of,
)
from teambot.errors import FatalError
from teambot.health import Health

log = logger.bind(actor="telegram")


class TelegramActor:
    """Owns the Bot API session: checks the token at start, closes the session at stop.
    The bot's @username (from getMe) goes to `on_username` (the dispatcher's data: links
    to the bot's private chat are built with it)."""

    # A certificate failure this many times in a row before the Bot API ever answered is a
    # setup problem to fix, not an outage to wait out: exit 78.
    CERTIFICATE_ATTEMPTS = 3

    def __init__(
        self,
        bot: Bot,
        health: Health,
        on_username: Callable[[str | None], None] = lambda _: None,
        *,
        polling: bool = True,
    ) -> None:
        self.bot = bot
        self.polling = polling
        self.health = health
        self.reachability = reachability_of(bot)
        self.username: str | None = None
        self.on_username = on_username

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.health.set_status("connecting to the Bot API")
        try:
            await self._introduce()
            task_status.started()
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await self.bot.session.close()

    async def _introduce(self) -> None:
        delay = 1.0
        certificate_failures = 0
        while True:
            try:
                me = await self.bot.get_me()
                if self.polling:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                await publish_commands(self.bot)
                break
            except TelegramUnauthorizedError:
                raise FatalError(
                    "BOT_TOKEN was rejected by the Bot API (401 Unauthorized)"
                ) from None
            except CertificateNotTrustedError as exc:
                certificate_failures += 1
                if certificate_failures >= self.CERTIFICATE_ATTEMPTS:
                    raise FatalError(
                        f"Bot API at {self.reachability.host}: {exc.message}; {CERTIFICATE_ADVICE}"
                    ) from None
                self.reachability.failed(exc, delay)
            except TRANSIENT_TELEGRAM_ERRORS as exc:
                certificate_failures = 0
                self.reachability.failed(exc, delay)
            await anyio.sleep(delay)
            delay = min(delay * 2, 30)
        self.username = me.username
        self.on_username(me.username)
        log.info("connected as @{}", me.username)
