"""aiogram adapter: a Bot API session on an anyio-native HTTP client (so it runs on asyncio
and trio), the Bot factory, and the entry into aiogram's dispatcher without asyncio.

The token travels in every Bot API URL, so no URL and no transport exception text ever
leaves this module: errors are re-raised as aiogram errors with a neutral message and no
cause.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any, cast
from urllib.parse import urlencode

import anyio
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup, InputFile, Message, Update
from loguru import logger

from teambot import __version__
from teambot.adapters.flood_control import FloodControl, background
from teambot.adapters.http_client import HttpClient, HttpFailure, parse_proxy
from teambot.health import Health
from teambot.metrics import Metrics

# A request that fails with one of these may be sent again.
TRANSIENT_TELEGRAM_ERRORS: tuple[type[BaseException], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    RestartingTelegram,
    TelegramRetryAfter,
)


class BotApiSession(BaseSession):
    """A Bot API session on our small HTTP client, which runs on whichever anyio backend
    is current."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float = 30,
        connections: int = 16,
        proxy: str | None = None,
    ) -> None:
        super().__init__(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
        self._http = HttpClient(
            connections=connections,
            user_agent=f"teambot/{__version__}",
            proxy=parse_proxy(proxy) if proxy else None,
        )

    async def close(self) -> None:
        await self._http.aclose()

    def _form(self, bot: Bot, method: TelegramMethod[Any]) -> bytes:
        fields: dict[str, str] = {}
        files: dict[str, InputFile] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                fields[key] = prepared
        if files:
            # the bot sends text only; an upload would need multipart
            raise TelegramNetworkError(method=method, message="file uploads are not supported")
        return urlencode(fields).encode()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            response = await self._http.request(
                "POST",
                url,
                body=self._form(bot, method),
                timeout=self.timeout if timeout is None else timeout,
            )
        except HttpFailure as exc:
            raise TelegramNetworkError(method=method, message=str(exc)) from None
        try:
            result = self.check_response(
                bot=bot,
                method=method,
                status_code=response.status,
                content=response.body.decode("utf-8", errors="replace"),
            )
        except ClientDecodeError:
            # a proxy's HTML error page, or a body cut short: the request may be sent again
            if response.status >= 500:
                raise TelegramServerError(
                    method=method, message=f"HTTP {response.status}, not JSON"
                ) from None
            raise TelegramNetworkError(
                method=method, message=f"unreadable answer (HTTP {response.status})"
            ) from None
        return cast(TelegramType, result.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        try:
            response = await self._http.request("GET", url, timeout=timeout)
        except HttpFailure as exc:
            raise TelegramNetworkError(method=cast(Any, None), message=str(exc)) from None
        if raise_for_status and response.status >= 400:
            raise TelegramNetworkError(
                method=cast(Any, None), message=f"download failed ({response.status})"
            )
        for start in range(0, len(response.body), chunk_size):
            yield response.body[start : start + chunk_size]


class RetryTransient:
    """Session middleware: wait out 429s and retry 5xx / network errors with jittered backoff.

    A reply is never dropped because Telegram asked us to slow down; a request that keeps
    failing for `give_up_after` seconds raises so the update is retried as a whole later.
    """

    def __init__(self, give_up_after: float = 60, max_backoff: float = 10) -> None:
        self.give_up_after = give_up_after
        self.max_backoff = max_backoff

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if method.__api_method__ == "getUpdates":
            return await make_request(bot, method)  # the poller has its own backoff
        deadline = anyio.current_time() + self.give_up_after
        delay = 0.2
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                logger.bind(actor="telegram").warning(
                    "{} flood-limited, retrying in {} s", method.__api_method__, wait
                )
            except (TelegramNetworkError, TelegramServerError, RestartingTelegram) as exc:
                wait = random.uniform(delay / 2, delay)
                delay = min(delay * 2, self.max_backoff)
                logger.bind(actor="telegram").warning(
                    "{} failed ({}), retrying in {:.1f} s", method.__api_method__, exc, wait
                )
            if anyio.current_time() + wait > deadline:
                raise
            await anyio.sleep(wait)


class IgnoreHarmlessRefusals:
    """Session middleware: two refusals that leave nothing undone are success, not errors to
    apologise for. Editing a message into what it already shows (Next on the only card left,
    a double tap), and answering a button press Telegram no longer waits for (the press was
    handled again after a restart, or waited out a database outage): the spinner has
    stopped either way, and the handler must go on to do what the press asked."""

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            name = method.__api_method__
            if name.startswith("edit") and "not modified" in exc.message:
                return True
            if name == "answerCallbackQuery" and "query is too old" in exc.message:
                return True
            raise


class ObserveRequests:
    """Session middleware: counts what is sent and what fails, and notes that the Bot API
    answered (readiness)."""

    SENDING = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})

    def __init__(self, health: Health, metrics: Metrics) -> None:
        self.health = health
        self.metrics = metrics

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        try:
            result = await make_request(bot, method)
        except TelegramNetworkError:
            self.metrics.bot_api_errors.labels("network").inc()
            raise
        except TelegramAPIError as exc:
            code = getattr(exc, "error_code", None) or _status_of(exc)
            self.metrics.bot_api_errors.labels(str(code)).inc()
            raise
        self.health.api_succeeded()
        if method.__api_method__ in self.SENDING:
            self.metrics.messages_sent.inc()
        return result


def _status_of(exc: TelegramAPIError) -> str:
    statuses = {
        TelegramRetryAfter: "429",
        TelegramServerError: "5xx",
        RestartingTelegram: "5xx",
        TelegramBadRequest: "400",
        TelegramUnauthorizedError: "401",
        TelegramForbiddenError: "403",
        TelegramNotFound: "404",
        TelegramConflictError: "409",
    }
    for kind, status in statuses.items():
        if isinstance(exc, kind):
            return status
    return "other"


def create_bot(
    token: str,
    api_url: str,
    health: Health,
    metrics: Metrics,
    *,
    flood_control: bool = True,
    proxy: str | None = None,
) -> Bot:
    session = BotApiSession(api_url, proxy=proxy)
    # outermost first: every attempt of a retried request is paced and observed
    session.middleware(IgnoreHarmlessRefusals())
    session.middleware(RetryTransient())
    if flood_control:
        session.middleware(FloodControl(metrics))
    session.middleware(ObserveRequests(health, metrics))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def _call_inline(self: CallableObject, *args: Any, **kwargs: Any) -> Any:
    # aiogram runs every sync callback (magic filters, lambdas) through asyncio.to_thread:
    # a thread hop per filter under asyncio and a crash under trio. Filters are cheap and
    # handlers are all async, so sync callbacks run inline.
    result = partial(self.callback, *args, **self._prepare_kwargs(kwargs))()
    if inspect.isawaitable(result):
        return await result
    return result


CallableObject.call = _call_inline  # type: ignore[method-assign]


def parse_update(raw: dict[str, Any], bot: Bot) -> Update:
    return Update.model_validate(raw, context={"bot": bot})


async def feed_update(dispatcher: Dispatcher, bot: Bot, update: Update) -> Any:
    """`Dispatcher.feed_update` without its asyncio clock: the same middleware chain."""
    return await dispatcher.propagate_event(
        "update", update, **{**dispatcher.workflow_data, "dispatcher": dispatcher, "bot": bot}
    )


async def tell(
    bot: Bot, user_id: int, body: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """A message the bot starts on its own (it yields to replies); None when Telegram will
    not deliver it: the user blocked the bot, or never started it ("chat not found")."""
    try:
        with background():
            return await bot.send_message(user_id, body, reply_markup=markup)
    except TelegramForbiddenError:
        return None
    except TelegramBadRequest as exc:
        if "chat not found" in exc.message:
            return None
        raise
