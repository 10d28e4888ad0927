"""aiogram adapter: a Bot API session on an anyio-native HTTP client (so it runs on asyncio
and trio), the Bot factory, and the entry into aiogram's dispatcher without asyncio.

The token travels in every Bot API URL, so no URL and no transport exception text ever
leaves this module: errors are re-raised as aiogram errors with a neutral message and no
cause.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextvars import ContextVar
from functools import partial
from http import HTTPStatus
from typing import Any, Final, cast
from urllib.parse import urlsplit

import anyio
from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.dispatcher.middlewares.manager import MiddlewareManager
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
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
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
    User,
)
from loguru import logger

from teambot import __version__
from teambot.adapters import routing
from teambot.adapters.effects import CollectEffects, payload_of
from teambot.adapters.flood_control import FloodControl, background
from teambot.adapters.http_client import (
    CertificateNotTrusted,
    HttpClient,
    HttpFailure,
    parse_proxy,
)
from teambot.adapters.leader_lock import leading
from teambot.health import Health
from teambot.metrics import Metrics

log = logger.bind(actor="telegram")

# An outage this long is reported at ERROR: Telegram's own hiccups rarely last a minute, a
# firewall, DNS or routing problem on our side does.
OUTAGE_ERROR_AFTER_SECONDS: Final = 60.0
CERTIFICATE_ADVICE: Final = (
    "a setup problem, not an outage: a TLS-inspecting proxy or a missing CA bundle; "
    "set SSL_CERT_FILE to a CA bundle (PEM) that includes the proxy's CA"
)


class CertificateNotTrustedError(TelegramNetworkError):
    """The Bot API host's TLS certificate failed the check. Retried like a network error
    once the Bot API has answered; before that, the first start gives up (exit 78)."""


# A request that fails with one of these may be sent again.
TRANSIENT_TELEGRAM_ERRORS: tuple[type[TelegramAPIError], ...] = (
    TelegramNetworkError,
    TelegramServerError,
    RestartingTelegram,
    TelegramRetryAfter,
)


class NotLeading(TelegramNetworkError):
    """The call was not made: this instance's lease may have been taken over (it was
    frozen, or cut off from the database), so it calls Telegram no more
    (adapters/leader_lock.py). Not retried; the leader steps down in a moment."""


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
        instance: str | None = None,
    ) -> None:
        super().__init__(api=TelegramAPIServer.from_base(api_url), timeout=timeout)
        self._http = HttpClient(
            connections=connections,
            # the instance's name (leader_lock.instance_name) tells whose a request was
            user_agent=f"teambot/{__version__}" + (f" ({instance})" if instance else ""),
            proxy=parse_proxy(proxy) if proxy else None,
        )
        self.reachability = Reachability(api_url)
        self.flood: FloodControl | None = None  # create_bot's pacing, when it paces

    async def close(self) -> None:
        await self._http.aclose()

    def _body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes:
        try:
            return _json_body(payload_of(bot, method))
        except TypeError as exc:  # a file: the bot sends text only
            raise TelegramNetworkError(method=method, message=str(exc)) from None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        lease = leading.get()
        if lease is not None and not await lease.wait_fresh():
            # a leader whose lease may have been taken over (it was frozen, or cut off)
            # calls Telegram no more: adapters/leader_lock.py
            raise NotLeading(method=method, message="not sent: this instance may no longer lead")
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        ready = _ready.get()
        if ready is not None and ready[0] is method:
            raw, body = True, ready[1]
        else:
            raw, body = False, self._body(bot, method)

        def go_ahead() -> None:
            # asked again at the last moment: the wait for a free connection may have
            # spanned a freeze
            if lease is not None and not lease.fresh():
                raise NotLeading(
                    method=method, message="not sent: this instance may no longer lead"
                )

        try:
            response = await self._http.request(
                "POST",
                url,
                body=body,
                timeout=self.timeout if timeout is None else timeout,
                go_ahead=go_ahead if lease is not None else None,
            )
        except CertificateNotTrusted as exc:
            raise CertificateNotTrustedError(method=method, message=str(exc)) from None
        except HttpFailure as exc:
            raise TelegramNetworkError(method=method, message=str(exc)) from None
        if raw and response.status == HTTPStatus.OK:
            answer = _json_or_none(response.body)
            if isinstance(answer, dict) and answer.get("ok") is True and "result" in answer:
                return cast(TelegramType, answer["result"])
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


# A call whose body is ready (the outbox row's payload) and whose result is wanted as plain
# JSON: send_ready's.
_ready: ContextVar[tuple[TelegramMethod[Any], bytes] | None] = ContextVar(
    "teambot_ready_call", default=None
)


async def send_ready(bot: Bot, method: TelegramMethod[Any], fields: Mapping[str, Any]) -> Any:
    """Make `method` with `fields` (effects.payload_of's) as its body, through the session's
    middlewares like any call, and return Telegram's result as plain JSON (a dict for a
    message). The outbox reads only a sent message's id: the fields are not dumped from the
    model again, and the answer is not parsed into one. (A session other than
    BotApiSession makes the call its own way and returns the model.)"""
    token = _ready.set((method, _json_body(fields)))
    try:
        return await bot(method)
    finally:
        _ready.reset(token)


def _json_body(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class Reachability:
    """Tells the operator whether the Bot API answers, without a line per failed request:
    "Bot API unreachable at <host> (<cause>); retrying in N s" at WARNING, first at once,
    then at most once per 1, 2, 4 … 60 s; at ERROR once the outage has lasted
    OUTAGE_ERROR_AFTER_SECONDS; a certificate failure at ERROR at once (a setup problem);
    and one line when the Bot API answers again. The host comes from TELEGRAM_API_URL,
    which holds no token (the token goes into the path of each request)."""

    def __init__(self, api_url: str, *, error_after: float = OUTAGE_ERROR_AFTER_SECONDS) -> None:
        parts = urlsplit(api_url)
        self.host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self.error_after = error_after
        self.reached = False  # the Bot API has answered since the process started
        self._down_since: float | None = None
        self._quiet_until = 0.0
        self._gap = 1.0

    def failed(self, error: TelegramAPIError, retry_in: float) -> None:
        now = anyio.current_time()
        if self._down_since is None:
            self._down_since, self._quiet_until, self._gap = now, now, 1.0
        if now < self._quiet_until:
            return
        self._quiet_until = now + self._gap
        self._gap = min(self._gap * 2, 60.0)
        down_for = now - self._down_since
        if isinstance(error, CertificateNotTrustedError):
            log.error(
                "Bot API at {}: {}; {}; retrying in {:.1f} s",
                self.host,
                error.message,
                CERTIFICATE_ADVICE,
                retry_in,
            )
        elif down_for >= self.error_after:
            log.error(
                "Bot API unreachable at {} for {:.0f} s ({}); retrying in {:.1f} s",
                self.host,
                down_for,
                _cause(error),
                retry_in,
            )
        else:
            log.warning(
                "Bot API unreachable at {} ({}); retrying in {:.1f} s",
                self.host,
                _cause(error),
                retry_in,
            )

    def answered(self) -> None:
        self.reached = True
        if self._down_since is not None:
            down_for = anyio.current_time() - self._down_since
            self._down_since = None
            log.info("Bot API at {} answers again (after {:.0f} s)", self.host, down_for)


def _cause(error: TelegramAPIError) -> str:
    if isinstance(error, TelegramServerError | RestartingTelegram):
        return f"server error: {error.message}"
    return error.message


def reachability_of(bot: Bot) -> Reachability:
    session = bot.session
    if not isinstance(session, BotApiSession):
        raise TypeError("the bot was not made by create_bot")
    return session.reachability


def flood_control_of(bot: Bot) -> FloodControl | None:
    session = bot.session
    if not isinstance(session, BotApiSession):
        raise TypeError("the bot was not made by create_bot")
    return session.flood


class RetryTransient:
    """Session middleware: wait out 429s and retry 5xx / network errors with jittered backoff.

    A reply is never dropped because Telegram asked us to slow down; a request that keeps
    failing for `give_up_after` seconds raises so the update is retried as a whole later.
    A certificate failure before the Bot API ever answered is not retried here: the first
    start decides whether it is a setup problem (runtime.TelegramActor).
    """

    def __init__(
        self, reachability: Reachability, give_up_after: float = 60, max_backoff: float = 10
    ) -> None:
        self.reachability = reachability
        self.give_up_after = give_up_after
        self.max_backoff = max_backoff

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if method.__api_method__ == "getUpdates":
            return await self._attempt(make_request, bot, method)  # the poller retries
        deadline = anyio.current_time() + self.give_up_after
        delay = 0.2
        while True:
            try:
                return await self._attempt(make_request, bot, method)
            except TelegramRetryAfter as exc:
                failure: TelegramAPIError = exc
                wait = float(exc.retry_after)
                log.warning("{} flood-limited, retrying in {} s", method.__api_method__, wait)
            except (TelegramNetworkError, TelegramServerError, RestartingTelegram) as exc:
                if isinstance(exc, NotLeading):
                    raise
                if isinstance(exc, CertificateNotTrustedError) and not self.reachability.reached:
                    raise
                failure = exc
                wait = random.uniform(delay / 2, delay)
                delay = min(delay * 2, self.max_backoff)
                if anyio.current_time() + wait <= deadline:
                    self.reachability.failed(exc, wait)
            if anyio.current_time() + wait > deadline:
                raise failure
            await anyio.sleep(wait)

    async def _attempt(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        try:
            result = await make_request(bot, method)
        except (TelegramNetworkError, TelegramServerError):
            raise
        except TelegramAPIError:
            self.reachability.answered()  # a refusal is an answer
            raise
        self.reachability.answered()
        return result


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
    instance: str | None = None,
) -> Bot:
    session = BotApiSession(api_url, proxy=proxy, instance=instance)
    # outermost first: inside a unit of work nothing is sent (effects.py); every attempt
    # of a retried request is paced and observed
    session.middleware(CollectEffects())
    session.middleware(IgnoreHarmlessRefusals())
    session.middleware(RetryTransient(session.reachability))
    if flood_control:
        session.flood = FloodControl(metrics)
        session.middleware(session.flood)
    session.middleware(ObserveRequests(health, metrics))
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def _call_inline(self: CallableObject, *args: Any, **kwargs: Any) -> Any:
    result = partial(self.callback, *args, **self._prepare_kwargs(kwargs))()
    if inspect.isawaitable(result):
        return await result
    return result


def _wrap_middlewares(
    middlewares: Sequence[Any], handler: Callable[..., Any]
) -> Callable[[TelegramObject, dict[str, Any]], Any]:
    def handler_wrapper(event: TelegramObject, kwargs: dict[str, Any]) -> Any:
        return handler(event, **kwargs)

    middleware: Callable[..., Any] = handler_wrapper
    for m in reversed(middlewares):
        middleware = partial(m, middleware)
    return middleware


def patch_aiogram() -> None:
    """Applied once at start (build_app), never on import. aiogram runs every sync callback
    (magic filters, lambdas) through asyncio.to_thread: a thread hop per filter under asyncio
    and a crash under trio. Filters are cheap and handlers are all async, so sync callbacks
    run inline.

    aiogram wraps each router's middlewares anew for every event that passes it, copying
    the handler's name and doc onto the wrapper (functools.wraps) that nothing reads: the
    same wrapper without the copy (bench.capacity: 0.1 ms of the 1.7 ms CPU a /help costs).

    It also keeps the `Response[T]` models aiogram checks every answer with alive: pydantic
    caches parametrized models only weakly, so `Response[Message]` and the others were
    built anew for every call, a tenth of the bot's CPU per update.

    And it passes over handlers whose leading filters would refuse the update
    (adapters/routing.py)."""
    routing.patch()
    CallableObject.call = _call_inline  # type: ignore[method-assign]
    MiddlewareManager.wrap_middlewares = staticmethod(_wrap_middlewares)  # type: ignore[method-assign]
    _RESPONSE_MODELS.extend(
        Response[returning]  # type: ignore[valid-type]
        for returning in _method_results()
    )


_RESPONSE_MODELS: list[type[Response[Any]]] = []


class GetRawUpdates(methods.GetUpdates):
    """getUpdates whose result stays raw JSON, so one malformed update cannot block the rest."""

    __returning__ = list[dict[str, Any]]


def _method_results() -> set[Any]:
    """What each Bot API method returns (TelegramMethod itself declares it abstractly)."""
    found = [*(getattr(methods, name) for name in methods.__all__), GetRawUpdates]
    return {
        method.__returning__
        for method in found
        if isinstance(method, type)
        and issubclass(method, TelegramMethod)
        and method is not TelegramMethod
    }


def parse_update(raw: dict[str, Any], bot: Bot) -> Update:
    return Update.model_validate(raw, context={"bot": bot})


def update_sender(update: Update) -> User | None:
    """Who sent the update, found the way aiogram's own user-context middleware finds it;
    raises for update types aiogram does not know."""
    return UserContextMiddleware.resolve_event_context(update).user


async def feed_update(dispatcher: Dispatcher, bot: Bot, update: Update, **data: Any) -> Any:
    """`Dispatcher.feed_update` without its asyncio clock: the same middleware chain;
    `data` joins the handlers' data."""
    return await dispatcher.propagate_event(
        "update",
        update,
        **{**dispatcher.workflow_data, **data, "dispatcher": dispatcher, "bot": bot},
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
