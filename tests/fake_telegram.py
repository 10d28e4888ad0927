"""A fake Telegram Bot API server speaking real HTTP on 127.0.0.1.

The server is an aiohttp application on its own asyncio loop in a daemon thread, so the bot
under test may run in-process on asyncio or trio, or as a subprocess, and the fake never
shares an event loop with it. Everything a test reads is guarded by one lock, and the
waiting helpers poll that state, so they work from any anyio backend and from plain threads.

It behaves like Telegram wherever a bot can tell the difference: getUpdates long-polls and
keeps updates until a later offset confirms them, a second poller ends the first with 409,
message ids count per chat (shared with the user's own messages), bad Telegram HTML is
refused with 400, an edit that changes nothing is refused, callback queries can be answered
once, and (when asked) flood limits answer 429 with retry_after. Faults (5xx, garbage,
dropped connections, stalls) can be injected per method.

Deliberate departures from Telegram: a bare "&" in HTML is an error here (Telegram keeps it
literally) so the bot's escaping is tested strictly; Markdown parse modes are stored
unparsed; a bot may message any chat, whether or not the user ever wrote to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import inspect
import itertools
import json
import math
import re
import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
from aiohttp import ClientConnectorError, ClientError, ClientSession, ClientTimeout, web

DEFAULT_TOKEN = "123456789:AAHfakeTokenForTestsOnly-xxxxxxxxxxxxxx"
BOT_USER: dict[str, Any] = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "TeamBot",
    "username": "teambot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}

FAULT_KINDS = frozenset({"500", "502", "malformed", "reset", "timeout", "429"})

UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What Telegram delivers while allowed_updates is unset or empty.
DEFAULT_UPDATE_TYPES = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}

MAX_MESSAGE_LENGTH = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

_METHOD_NAMES = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
)
_CANONICAL = {name.lower(): name for name in _METHOD_NAMES}

# Form encodings carry every value as a string; these hold JSON-serialized objects.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "rights",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "offset",
        "limit",
        "message_id",
        "user_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "reply_to_message_id",
    }
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "allow_paid_broadcast",
        "for_channels",
    }
)
_INT_RE = re.compile(r"-?\d+")

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LEADING_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_])")


class ApiError(Exception):
    """A Bot API error answer: the HTTP status equals error_code, as at Telegram."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class ApiCall:
    """One request as the fake saw it. `status` is 0 while the request is in flight and
    stays 0 when no HTTP answer was sent (an injected reset, or the client hung up)."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    fault: str | None = None
    result: Any = None  # what a successful call answered
    agent: str = ""  # the User-Agent: teambot names its instance there


@dataclass(frozen=True)
class SentMessage:
    """A snapshot of one bot message as it currently stands in the chat."""

    message_id: int
    chat_id: int
    text: str
    html: str
    reply_markup: dict[str, Any] | None
    buttons: list[str]
    edited: bool
    entities: list[dict[str, Any]] = field(default_factory=list)
    parse_mode: str | None = None

    def callback_data(self, button_text: str) -> str | None:
        for button in _inline_buttons(self.reply_markup):
            if button.get("text") == button_text and "callback_data" in button:
                return str(button["callback_data"])
        return None


@dataclass
class _Stored:
    message_id: int
    chat_id: int
    text: str
    html: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    parse_mode: str | None
    date: int
    edit_date: int | None = None
    deleted: bool = False

    def snapshot(self) -> SentMessage:
        return SentMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            text=self.text,
            html=self.html,
            reply_markup=_copy(self.reply_markup),
            buttons=[str(b.get("text")) for b in _inline_buttons(self.reply_markup)],
            edited=self.edit_date is not None,
            entities=_copy(self.entities),
            parse_mode=self.parse_mode,
        )


def _chat_key(update: dict[str, Any]) -> int:
    """The queue Telegram keeps an update in for webhook delivery: its chat's (a button
    press: its sender's); an update of no chat is a queue of its own."""
    for kind in ("message", "edited_message", "channel_post", "my_chat_member", "chat_member"):
        if isinstance(update.get(kind), dict) and "chat" in update[kind]:
            return int(update[kind]["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("from"), dict):
        return int(query["from"]["id"])
    return -int(update["update_id"])


def _copy(value: Any) -> Any:
    # JSON round trips keep the fake's state and what callers hold fully apart
    return None if value is None else json.loads(json.dumps(value))


def _inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = (markup or {}).get("inline_keyboard") or []
    return [b for row in rows if isinstance(row, list) for b in row if isinstance(b, dict)]


def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of reply_markup that Telegram keeps on a message: a non-empty inline keyboard."""
    if markup and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


# --- Telegram HTML --------------------------------------------------------------------------

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_AMP_RE = re.compile(r"&(?!(?:lt|gt|amp|quot);|#[0-9]+;|#[xX][0-9a-fA-F]+;)")
_LT_RE = re.compile(r"<(?!/?[A-Za-z])")
_TAG_NAME_RE = re.compile(r"[^\s>/]*")


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str | None]
    start: int  # UTF-16 offset into the plain text
    language: str | None = None


class _TelegramHtml(html.parser.HTMLParser):
    """Telegram's HTML subset on top of html.parser: plain text plus entities, or ApiError."""

    def __init__(self, source: str) -> None:
        # charrefs stay unconverted so a "<" in data can only be a bare, unescaped one
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self.parts: list[str] = []
        self.length = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def _here(self) -> int:
        line, column = self.getpos()
        return _byte_offset(self.source, self.line_starts[line - 1] + column)

    def _fail(self, reason: str) -> ApiError:
        return _bad(f"can't parse entities: {reason}")

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += _utf16_len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ENTITY_TYPES:
            raise self._fail(f'Unsupported start tag "{tag}" at byte offset {self._here()}')
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self._fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._here()}'
            )
        if tag == "tg-emoji" and not (attributes.get("emoji-id") or "").isdigit():
            raise self._fail(
                f"Custom emoji entity must contain a valid custom emoji "
                f"identifier at byte offset {self._here()}"
            )
        self.stack.append(_Open(tag, attributes, self.length))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self._fail(f"Unexpected end tag at byte offset {self._here()}")
        opened = self.stack[-1]
        if opened.tag != tag:
            raise self._fail(
                f"Unmatched end tag at byte offset {self._here()}, expected "
                f'"</{opened.tag}>", found "</{tag}>"'
            )
        self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        code_class = opened.attrs.get("class") or ""
        if tag == "code" and parent is not None and parent.tag == "pre":
            # <pre><code class="language-x"> is one pre entity with a language
            if code_class.startswith("language-"):
                parent.language = code_class.removeprefix("language-")
            return
        length = self.length - opened.start
        if length == 0:
            return
        entity: dict[str, Any] = {
            "type": _ENTITY_TYPES[tag],
            "offset": opened.start,
            "length": length,
        }
        if tag == "a":
            href = opened.attrs.get("href")
            if not href:
                return  # Telegram keeps the text and drops a link without a target
            entity["url"] = href
        elif tag == "pre" and opened.language:
            entity["language"] = opened.language
        elif tag == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            # parse_html let through only "<" before a tag name: a tag html.parser never closed
            offset = self._here() + _byte_offset(data, data.index("<"))
            raise self._fail(f"Unclosed start tag at byte offset {offset}")
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            raise self._fail(f'Unsupported HTML entity "&{name};" at byte offset {self._here()}')
        self._append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name[:1] in "xX" and name else int(name)
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self._fail(f"Invalid character reference at byte offset {self._here()}")
        self._append(chr(code))

    def _unsupported(self, what: str) -> None:
        raise self._fail(f"Unsupported {what} at byte offset {self._here()}")

    def handle_comment(self, data: str) -> None:
        self._unsupported("comment")

    def handle_decl(self, decl: str) -> None:
        self._unsupported("declaration")

    def unknown_decl(self, data: str) -> None:
        self._unsupported("declaration")

    def handle_pi(self, data: str) -> None:
        self._unsupported("processing instruction")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and entities of Telegram HTML, or ApiError 400 as Telegram answers."""
    amp = _AMP_RE.search(text)
    if amp:
        raise _bad(
            f'can\'t parse entities: Character "&" is reserved and must be escaped '
            f'as "&amp;" at byte offset {_byte_offset(text, amp.start())}'
        )
    lt = _LT_RE.search(text)
    if lt:
        name = _TAG_NAME_RE.match(text, lt.start() + 1)
        tag = name.group() if name else ""
        offset = _byte_offset(text, lt.start())
        reason = (
            f'Unsupported start tag "{tag}" at byte offset {offset}'
            if tag
            else f"Empty tag name found at byte offset {offset}"
        )
        raise _bad(f"can't parse entities: {reason}")
    parser = _TelegramHtml(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.stack[-1].tag}"'
        )
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities


# --- the server -----------------------------------------------------------------------------


class FakeTelegram:
    """A Bot API server on 127.0.0.1:<ephemeral port>; use as a context manager."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        first_update_id: int = 100_000,
        flood_limits: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.token = token
        # the update ids a bot in this process has taken and not finished (tests' `running`)
        self.in_hand: Callable[[], Container[int]] = frozenset
        self.tls = tls  # serve HTTPS with this server context
        self.bot_user: dict[str, Any] = dict(BOT_USER)
        self.flood_limits = flood_limits
        self.fault_delay = 30.0
        self.fault_retry_after = 1
        # Webhook delivery: Telegram POSTs to the https URL the bot set; in tests a "reverse
        # proxy" maps it to the bot's plain-HTTP listener (scheme and host replaced by
        # this base, the path kept). Several bases: a load balancer over instances, taking
        # them in turn and passing over one that refuses the connection. Unset: nothing is
        # delivered.
        self.webhook_proxy: str | list[str] | None = None
        self._proxy_turn = itertools.count()
        self.webhook_timeout = 5.0  # seconds Telegram waits for the answer to a POST
        self.webhook_retry_base = 0.1  # first wait after a failed POST, doubling up to 2 s
        self.port = 0
        self.api_url = ""
        self._lock = threading.RLock()
        self._next_update_id = first_update_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested: asyncio.Event | None = None
        # only touched on the server's loop
        self._waiters: set[asyncio.Future[None]] = set()
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": self._get_me,
            "logout": self._ok,
            "close": self._ok,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._set_description("description"),
            "getmydescription": self._get_description("description"),
            "setmyshortdescription": self._set_description("short_description"),
            "getmyshortdescription": self._get_description("short_description"),
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
        }
        self._clear()

    def _clear(self) -> None:
        with self._lock:
            self._updates: list[dict[str, Any]] = []
            self._filtered: list[dict[str, Any]] = []
            self._messages: dict[int, list[_Stored]] = {}
            self._user_messages: set[tuple[int, int]] = set()
            self._message_ids: dict[int, itertools.count[int]] = {}
            self._chats: dict[int, dict[str, Any]] = {}
            self._usernames: dict[str, int] = {}
            self._callbacks: dict[str, bool] = {}  # query id -> answered
            self._callback_seq = itertools.count(1)
            self._query_ids: dict[int, str] = {}  # update_id -> query id, of presses
            self._callback_answers: list[tuple[str, str | None, bool]] = []
            self._calls: list[ApiCall] = []
            self._faults: dict[str, deque[str]] = {}
            self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._descriptions: dict[tuple[str, str], str] = {}
            self._allowed_updates: list[str] | None = None
            self._webhook_url = ""
            self._webhook_secret = ""
            self._webhook_max_connections = 40
            self._webhook_error: tuple[int, str] | None = None  # (unix time, message)
            self._webhook_busy: set[int] = set()  # chat keys with a POST on its way
            self._webhook_not_before: dict[int, float] = {}  # chat key -> loop time
            self._webhook_failures: dict[int, int] = {}
            self.webhook_posts: list[tuple[int, int | str]] = []  # (update_id, status or error)
            self._poll_generation = 0
            self._global_sends: deque[float] = deque()
            self._private_buckets: dict[int, tuple[float, float]] = {}
            self._group_sends: dict[int, deque[float]] = {}
            self.blocked_users: set[int] = set()
            self.unknown_chats: set[int] = set()
            self.confirmed_offset = 0
            self.get_updates_calls = 0
            self.flood_rejections = 0
            self.flood_limits_hit: Counter[str] = Counter()  # by which limit

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the fake Bot API server is already running")
        # binding here, before the thread starts, makes api_url valid the moment start returns
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        self.api_url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock, ready))
            except BaseException as exc:  # noqa: BLE001 - handed to the thread calling start()
                failures.append(exc)
            finally:
                ready.set()
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failures or not ready.is_set():
            self._thread = self._loop = None
            sock.close()
            raise RuntimeError("the fake Bot API server did not start") from (
                failures[0] if failures else None
            )

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._stop_requested = asyncio.Event()
        app = web.Application(client_max_size=50 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # a client that gives up (the bot cancelling its long poll) ends its handler, so a
        # stale poll never lingers to collect a 409; shutdown must not wait for long polls
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock, ssl_context=self.tls).start()
            delivery = asyncio.create_task(self._deliver_by_webhook())
            ready.set()
            await self._stop_requested.wait()
            delivery.cancel()
        finally:
            await runner.cleanup()
            sock.close()
            current = asyncio.current_task()
            others = [t for t in asyncio.all_tasks() if t is not current]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

    def stop(self) -> None:
        loop, thread, stop_requested = self._loop, self._thread, self._stop_requested
        if loop is None or thread is None:
            return
        if stop_requested is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop_requested.set)
        thread.join(10)
        if thread.is_alive():
            raise RuntimeError("the fake Bot API server did not stop within 10 s")
        self._loop = self._thread = self._stop_requested = None
        self._waiters = set()

    def reset(self) -> None:
        """Forget messages, calls, updates, faults and counters, keeping the server running.

        update_id keeps counting up, so a bot that carries on polling with its old offset
        still sees the updates enqueued after the reset."""
        self._clear()
        self._notify()

    # --- HTTP -------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return _json(ApiError(404, "Not Found").body(), 404)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = json.loads(await request.text())
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON encoded request parameters")
                params.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                    elif isinstance(value, web.FileField):
                        size = len(value.file.read())
                        params[key] = f"<file {value.filename!r}, {size} bytes>"
                    else:
                        params[key] = bytes(value).decode(errors="replace")
        return _coerce(params)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        sent = request.match_info["method"]
        method = _CANONICAL.get(sent.lower(), sent)
        try:
            params = await self._read_params(request)
            unreadable: ApiError | None = None
        except ApiError as exc:
            params, unreadable = {}, exc
        call = ApiCall(method, params, 0, arrived, agent=request.headers.get("User-Agent", ""))
        with self._lock:
            self._calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if unreadable is not None:
                raise unreadable
            call.fault = self._take_fault(method)
            if call.fault is not None:
                response = await self._inject(call.fault, request)
                if response is not None:
                    call.status = response.status
                    return response
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            call.status, call.result = 200, result
            return _json({"ok": True, "result": result}, 200)
        except ApiError as exc:
            call.status = exc.code
            return _json(exc.body(), exc.code)

    def _take_fault(self, method: str) -> str | None:
        with self._lock:
            for key in (method.lower(), "*"):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    async def _inject(self, kind: str, request: web.Request) -> web.StreamResponse | None:
        """The response a fault replaces the real answer with; None to answer normally."""
        if kind == "500":
            raise ApiError(500, "Internal Server Error")
        if kind == "429":
            retry_after = int(self.fault_retry_after)
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if kind == "502":
            return web.Response(status=502, text=NGINX_502, content_type="text/html")
        if kind == "malformed":
            return web.Response(
                status=200,
                text='{"ok":true,"result":[{"update_id":1',
                content_type="application/json",
            )
        if kind == "reset":
            if request.transport is not None:
                request.transport.abort()
            # nothing can be written now; the handler ends as if the client had gone
            raise asyncio.CancelledError
        if kind == "timeout":
            await asyncio.sleep(self.fault_delay)
            return None
        raise AssertionError(f"unknown fault kind {kind!r}")

    # --- Bot API methods --------------------------------------------------------------------

    def _ok(self, params: dict[str, Any]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = _int_param(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        with self._lock:
            self._webhook_url = url
            self._webhook_secret = secret
            self._webhook_max_connections = max_connections
            if params.get("drop_pending_updates") is True:
                self._updates.clear()
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = [str(t) for t in params["allowed_updates"]]
        self._notify()  # a waiting poll now ends with 409
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._webhook_url = ""
            if params.get("drop_pending_updates") is True:
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            info: dict[str, Any] = {
                "url": self._webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook_url:
                info["max_connections"] = self._webhook_max_connections
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        with self._lock:
            if commands:
                self._commands[key] = _copy(commands)
            else:
                self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params)
        with self._lock:
            return list(_copy(self._commands.get(key, [])))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._commands_key(params)
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _set_description(self, kind: str) -> Callable[[dict[str, Any]], bool]:
        def handler(params: dict[str, Any]) -> bool:
            key = (kind, str(params.get("language_code") or ""))
            with self._lock:
                self._descriptions[key] = str(params.get(kind) or "")
            return True

        return handler

    def _get_description(self, kind: str) -> Callable[[dict[str, Any]], dict[str, str]]:
        def handler(params: dict[str, Any]) -> dict[str, str]:
            key = (kind, str(params.get("language_code") or ""))
            with self._lock:
                return {kind: self._descriptions.get(key, "")}

        return handler

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._resolve_chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    # getUpdates ---------------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int_param(params, "offset", 0)
        limit = max(1, min(100, _int_param(params, "limit", 100)))
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            raise _bad("wrong parameter timeout")
        allowed = params.get("allowed_updates")
        loop = asyncio.get_running_loop()
        with self._lock:
            self.get_updates_calls += 1
            if self._webhook_url:
                raise ApiError(409, WEBHOOK_CONFLICT)
            self._poll_generation += 1
            generation = self._poll_generation
            if isinstance(allowed, list):
                self._allowed_updates = [str(t) for t in allowed]
            self._confirm(offset)
        self._wake_waiters()  # an older poll now ends with 409
        deadline = loop.time() + max(0.0, float(timeout))
        while True:
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(409, POLL_CONFLICT)
                if self._webhook_url:
                    raise ApiError(409, WEBHOOK_CONFLICT)
                ready = self._updates[:limit]
                if ready:
                    return list(_copy(ready))
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                # registered under the lock that guarded the check: no wakeup is missed
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.add(waiter)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter, remaining)
            finally:
                self._waiters.discard(waiter)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        elif offset < 0:
            dropped, self._updates = self._updates[:offset], self._updates[offset:]
            if dropped:
                last = int(dropped[-1]["update_id"])
                self.confirmed_offset = max(self.confirmed_offset, last + 1)

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _notify(self) -> None:
        """Wake long polls from any thread."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._wake_waiters)

    # webhook delivery ---------------------------------------------------------------------

    async def _deliver_by_webhook(self) -> None:
        """As Telegram does with a webhook set: each chat's updates are POSTed one at a time
        in order, at most max_connections at once; a non-2xx answer, a refused connection
        or a timeout is retried with backoff, and reported in getWebhookInfo."""
        loop = asyncio.get_running_loop()
        async with ClientSession() as session:
            posts: set[asyncio.Task[None]] = set()
            while True:
                with self._lock:
                    due = self._due_for_webhook(loop.time(), len(posts))
                    if not due:
                        waiter: asyncio.Future[None] = loop.create_future()
                        self._waiters.add(waiter)
                for key, update in due:
                    task = asyncio.create_task(self._post_update(session, key, update))
                    posts.add(task)
                    task.add_done_callback(posts.discard)
                if not due:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter, 0.05)
                    self._waiters.discard(waiter)

    def _due_for_webhook(self, now: float, posting: int) -> list[tuple[int, dict[str, Any]]]:
        if not self._webhook_url or self.webhook_proxy is None:
            return []
        due: list[tuple[int, dict[str, Any]]] = []
        seen: set[int] = set()
        for update in self._updates:
            if posting + len(due) >= self._webhook_max_connections:
                break
            key = _chat_key(update)
            if key in seen:
                continue  # only a chat's oldest update is on its way
            seen.add(key)
            if key in self._webhook_busy or self._webhook_not_before.get(key, 0) > now:
                continue
            self._webhook_busy.add(key)
            due.append((key, _copy(update)))
        return due

    async def _post_update(self, session: ClientSession, key: int, update: dict[str, Any]) -> None:
        with self._lock:
            url, secret = self._webhook_url, self._webhook_secret
        proxy = self.webhook_proxy
        bases = [proxy] if isinstance(proxy, str) else list(proxy or [])
        first = next(self._proxy_turn)
        bases = [bases[(first + n) % len(bases)] for n in range(len(bases))]
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        reason = "Connection refused"
        outcome: int | str = reason
        for base in bases:
            target = base.rstrip("/") + (urlsplit(url).path or "/")
            try:
                async with session.post(
                    target,
                    json=update,
                    headers=headers,
                    timeout=ClientTimeout(self.webhook_timeout),
                ) as response:
                    outcome = response.status
                    reason = f"{response.status} {response.reason}"
                    break
            except TimeoutError:
                outcome = reason = "Read timeout expired"
                break
            except ClientConnectorError:
                continue  # the balancer passes over an instance that is not there
            except ClientError:
                outcome = reason = "Connection reset"
                break
        loop = asyncio.get_running_loop()
        with self._lock:
            self._webhook_busy.discard(key)
            self.webhook_posts.append((int(update["update_id"]), outcome))
            if isinstance(outcome, int) and 200 <= outcome < 300:
                self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                self._webhook_failures.pop(key, None)
                self._webhook_not_before.pop(key, None)
            else:
                failures = self._webhook_failures[key] = self._webhook_failures.get(key, 0) + 1
                wait = min(2.0, self.webhook_retry_base * 2 ** (failures - 1))
                self._webhook_not_before[key] = loop.time() + wait
                message = (
                    reason
                    if isinstance(outcome, str)
                    else f"Wrong response from the webhook: {reason}"
                )
                self._webhook_error = (int(time.time()), message)
        self._wake_waiters()

    # messages -----------------------------------------------------------------------------

    def _resolve_chat(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value != 0:
            return value
        if isinstance(value, str) and re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", value):
            with self._lock:
                username = value[1:]
                chat_id = self._usernames.get(username.lower())
                if chat_id is None:
                    chat_id = -1_001_000_000_001 - len(self._usernames)
                    self._usernames[username.lower()] = chat_id
                    self._chats[chat_id] = {
                        "id": chat_id,
                        "type": "channel",
                        "title": username,
                        "username": username,
                    }
                return chat_id
        raise _bad("chat not found")

    def _chat(self, chat_id: int) -> dict[str, Any]:
        with self._lock:
            known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        if str(chat_id).startswith("-100"):
            return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        with self._lock:
            return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message_json(self, message: _Stored) -> dict[str, Any]:
        chat = self._chat(message.chat_id)
        body: dict[str, Any] = {"message_id": message.message_id}
        if chat["type"] == "channel":
            body["sender_chat"] = chat
        else:
            body["from"] = dict(self.bot_user)
        body.update(date=message.date, chat=chat, text=message.text)
        if message.edit_date is not None:
            body["edit_date"] = message.edit_date
        if message.entities:
            body["entities"] = _copy(message.entities)
        markup = _inline_markup(message.reply_markup)
        if markup is not None:
            body["reply_markup"] = _copy(markup)
        return body

    def _parse_text(self, params: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        """(raw, plain, entities) of a text parameter, checked as Telegram checks it."""
        raw = params.get("text")
        raw = "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode")
        mode = str(parse_mode).lower() if parse_mode else ""
        if mode == "html":
            plain, entities = parse_html(raw)
        elif mode in ("", "markdown", "markdownv2"):
            given = params.get("entities")
            plain, entities = raw, (given if isinstance(given, list) and not mode else [])
        else:
            raise _bad("unsupported parse_mode")
        if not plain.strip():
            raise _bad("message text is empty")
        if len(plain) > MAX_MESSAGE_LENGTH:
            raise _bad("message is too long")
        return raw, plain, entities

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _bad("can't parse inline keyboard button: Text must be a String")
                    if not _BUTTON_ACTIONS & set(button):
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are "
                            "unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _check_flood(self, chat_id: int) -> None:
        if not self.flood_limits:
            return
        now = time.monotonic()
        with self._lock:
            while self._global_sends and now - self._global_sends[0] >= 1:
                self._global_sends.popleft()
            wait: float | None = None
            tokens = 0.0
            if len(self._global_sends) >= 30:
                wait = self._global_sends[0] + 1 - now
                limit = "global"
            elif chat_id > 0:
                # 1 message a second sustained, with a burst of 3
                tokens, last = self._private_buckets.get(chat_id, (3.0, now))
                tokens = min(3.0, tokens + (now - last))
                if tokens < 1:
                    wait = 1 - tokens
                limit = "private chat"
            else:
                window = self._group_sends.setdefault(chat_id, deque())
                while window and now - window[0] >= 60:
                    window.popleft()
                if len(window) >= 20:
                    wait = window[0] + 60 - now
                limit = "group"
            if wait is not None:
                self.flood_rejections += 1
                self.flood_limits_hit[limit] += 1
                retry_after = max(1, math.ceil(wait))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
            self._global_sends.append(now)
            if chat_id > 0:
                self._private_buckets[chat_id] = (tokens - 1, now)
            else:
                self._group_sends[chat_id].append(now)

    def _check_blocked(self, chat_id: int) -> None:
        with self._lock:
            if chat_id in self.unknown_chats:
                raise _bad("chat not found")
            if chat_id in self.blocked_users:
                raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._resolve_chat(params.get("chat_id"))
        raw, plain, entities = self._parse_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        self._check_blocked(chat_id)
        self._check_flood(chat_id)
        with self._lock:
            message = _Stored(
                message_id=self._new_message_id(chat_id),
                chat_id=chat_id,
                text=plain,
                html=raw,
                entities=_copy(entities),
                reply_markup=_copy(markup),
                parse_mode=params.get("parse_mode"),
                date=int(time.time()),
            )
            self._messages.setdefault(chat_id, []).append(message)
            return self._message_json(message)

    def _find(self, params: dict[str, Any], missing: str) -> _Stored:
        if params.get("inline_message_id"):
            raise _bad(missing)  # the bot sends no inline messages
        chat_id = self._resolve_chat(params.get("chat_id"))
        message_id = params.get("message_id")
        with self._lock:
            for message in self._messages.get(chat_id, []):
                if message.message_id == message_id and not message.deleted:
                    return message
        raise _bad(missing)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocked(self._resolve_chat(params.get("chat_id")))
        message = self._find(params, "message to edit not found")
        raw, plain, entities = self._parse_text(params)
        # like Telegram, an edit without reply_markup removes the inline keyboard
        markup = self._check_markup(params.get("reply_markup"))
        with self._lock:
            unchanged = (
                plain == message.text
                and entities == message.entities
                and _inline_markup(markup) == _inline_markup(message.reply_markup)
            )
        if unchanged:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._check_flood(message.chat_id)
        with self._lock:
            message.text, message.html, message.entities = plain, raw, _copy(entities)
            message.reply_markup = _copy(markup)
            message.parse_mode = params.get("parse_mode")
            message.edit_date = int(time.time())
            return self._message_json(message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocked(self._resolve_chat(params.get("chat_id")))
        message = self._find(params, "message to edit not found")
        markup = self._check_markup(params.get("reply_markup"))
        with self._lock:
            if _inline_markup(markup) == _inline_markup(message.reply_markup):
                raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
            message.reply_markup = _copy(markup)
            message.edit_date = int(time.time())
            return self._message_json(message)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._resolve_chat(params.get("chat_id"))
        with self._lock:
            key = (chat_id, params.get("message_id"))
            if key in self._user_messages:
                self._user_messages.discard(key)
                return True
        message = self._find(params, "message to delete not found")
        with self._lock:
            message.deleted = True
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        with self._lock:
            if self._callbacks.get(query_id, True):
                raise _bad(QUERY_INVALID.removeprefix("Bad Request: "))
            self._callbacks[query_id] = True
            self._callback_answers.append(
                (query_id, None if text is None else str(text), params.get("show_alert") is True)
            )
        return True

    # --- test side: updates -----------------------------------------------------------------

    def enqueue_raw(self, update: dict[str, Any]) -> int:
        """Queue any update (assigning update_id if missing); returns its update_id.

        Update types Telegram knows are dropped, as at Telegram, when the bot's
        allowed_updates excludes them (see filtered_updates); unknown types always pass."""
        update = _copy(update)
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            update_id = int(update["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
            if not self._wanted(update):
                self._filtered.append(update)
                return update_id
            # kept in update_id order even when a test supplies ids out of order
            position = len(self._updates)
            while position and self._updates[position - 1]["update_id"] > update_id:
                position -= 1
            self._updates.insert(position, update)
        self._notify()
        return update_id

    def _wanted(self, update: dict[str, Any]) -> bool:
        kinds = [key for key in update if key in UPDATE_TYPES]
        if not kinds:
            return True
        allowed = set(self._allowed_updates or DEFAULT_UPDATE_TYPES)
        return any(kind in allowed for kind in kinds)

    @staticmethod
    def _user(
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _user_chat(self, user: dict[str, Any], chat_id: int) -> dict[str, Any]:
        if chat_id != user["id"]:
            return self._chat(chat_id)
        chat = {"id": chat_id, "type": "private"}
        chat.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
        with self._lock:
            self._chats[chat_id] = chat
        return dict(chat)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
        date: int | None = None,
    ) -> int:
        """Queue a text message from a user (to their private chat unless chat_id is given;
        sent now unless `date` says when, in Unix seconds); returns the update_id."""
        user = self._user(user_id, first_name, last_name, username, language_code)
        chat = self._user_chat(user, user_id if chat_id is None else chat_id)
        with self._lock:
            message_id = self._new_message_id(chat["id"])
            self._user_messages.add((chat["id"], message_id))
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": int(time.time()) if date is None else date,
            "text": text,
        }
        command = _LEADING_COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group())}
            ]
        return self.enqueue_raw({"message": message})

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
    ) -> int:
        """Queue a callback_query from a button under a bot message; returns the update_id.

        The data need not belong to a real button, so forged and stale presses can be sent.
        An unknown or deleted message arrives as an inaccessible message (date 0)."""
        user = self._user(user_id, first_name, last_name, username, language_code)
        chat = self._user_chat(user, user_id if chat_id is None else chat_id)
        with self._lock:
            query_id = str(4_000_000_000_000_000_000 + next(self._callback_seq))
            self._callbacks[query_id] = False
            stored = next(
                (
                    m
                    for m in self._messages.get(chat["id"], [])
                    if m.message_id == message_id and not m.deleted
                ),
                None,
            )
            message = (
                self._message_json(stored)
                if stored is not None
                else {"chat": chat, "message_id": message_id, "date": 0}
            )
        update_id = self.enqueue_raw(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(-(abs(chat["id"]) * 7919 % 10**18) - 1),
                    "data": callback_data,
                }
            }
        )
        with self._lock:
            self._query_ids[update_id] = query_id
        return update_id

    def callback_query_id(self, update_id: int) -> str:
        """The id of the button press queued as update_id (callback_answers name it)."""
        with self._lock:
            return self._query_ids[update_id]

    def press(self, user_id: int, button_text: str, **kwargs: Any) -> int:
        """Press the button labelled button_text under the latest bot message in the user's
        chat that has one; returns the update_id. kwargs go to press_button."""
        chat_id = kwargs.get("chat_id") or user_id
        messages = self.messages(chat_id)
        for message in reversed(messages):
            if button_text in message.buttons:
                data = message.callback_data(button_text)
                if data is None:
                    raise AssertionError(
                        f"button {button_text!r} in chat {chat_id} has no callback_data"
                    )
                return self.press_button(user_id, message.message_id, data, **kwargs)
        available = {m.message_id: m.buttons for m in messages if m.buttons}
        raise AssertionError(
            f"no button {button_text!r} in chat {chat_id}; buttons by message id: {available}"
        )

    # --- test side: state -------------------------------------------------------------------

    def messages(self, chat_id: int | str) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, as they stand now (edits applied,
        deleted ones gone). Snapshots: later edits do not change what was returned."""
        chat = self._resolve_chat(chat_id) if isinstance(chat_id, str) else chat_id
        with self._lock:
            return [m.snapshot() for m in self._messages.get(chat, []) if not m.deleted]

    def last_message(self, chat_id: int | str) -> SentMessage:
        messages = self.messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {chat_id}")
        return messages[-1]

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if c.method.lower() == method.lower()]

    @property
    def callback_answers(self) -> list[tuple[str, str | None, bool]]:
        with self._lock:
            return list(self._callback_answers)

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._updates)

    def expire_callback_queries(self) -> None:
        """Stop waiting for answers to the button presses so far, as Telegram does after
        about 15 s: answering one now is refused as too old."""
        with self._lock:
            self._callbacks = dict.fromkeys(self._callbacks, True)

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Ids of button presses the bot never answered (the user sees a spinner)."""
        with self._lock:
            return [query_id for query_id, answered in self._callbacks.items() if not answered]

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(_copy(self._updates))

    @property
    def filtered_updates(self) -> list[dict[str, Any]]:
        """Updates dropped because the bot's allowed_updates excluded their type."""
        with self._lock:
            return list(_copy(self._filtered))

    @property
    def allowed_updates(self) -> list[str] | None:
        with self._lock:
            return None if self._allowed_updates is None else list(self._allowed_updates)

    def delete_webhook_elsewhere(self) -> None:
        """Another client with the same token removes the webhook (deleteWebhook)."""
        self._delete_webhook({})

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return self._webhook_url

    def my_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        key = self._commands_key({"scope": scope, "language_code": language_code})
        with self._lock:
            return list(_copy(self._commands.get(key, [])))

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Make sends to this chat fail with 403, as when the user blocked the bot."""
        with self._lock:
            if blocked:
                self.blocked_users.add(user_id)
            else:
                self.blocked_users.discard(user_id)

    def unknown_chat(self, chat_id: int) -> None:
        """Make sends to this chat fail with 400 "chat not found", as for a user id that
        never started the bot (a mistyped id in the bot's configuration)."""
        with self._lock:
            self.unknown_chats.add(chat_id)

    def inject_fault(self, method: str, kind: str, times: int = 1) -> None:
        """Make the next `times` calls of a method ("*": any method) fail with `kind`:
        "500", "502" (HTML body), "malformed" (truncated JSON, status 200), "reset"
        (connection dropped, no answer), "timeout" (answered after fault_delay seconds) or
        "429" (retry_after = fault_retry_after)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.setdefault(method.lower(), deque()).extend([kind] * times)

    # --- test side: waiting -----------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for a polled condition
        what: str = "a condition",
    ) -> None:
        """Poll until predicate() holds; AssertionError after timeout seconds."""
        deadline = anyio.current_time() + timeout
        while True:
            if predicate():
                return
            if anyio.current_time() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            await anyio.sleep(0.01)

    def wait_until_sync(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,
        what: str = "a condition",
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.01)

    def _messages_failure(self, chat_id: int, count: int, timeout: float) -> AssertionError:
        texts = [m.text for m in self.messages(chat_id)]
        return AssertionError(
            f"timed out after {timeout} s waiting for {count} bot messages in chat {chat_id}; "
            f"it holds {len(texts)}: {texts}"
        )

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for a polled condition
    ) -> list[SentMessage]:
        """Wait until the chat holds at least count bot messages; returns them all."""
        try:
            await self.wait_until(lambda: len(self.messages(chat_id)) >= count, timeout)
        except AssertionError:
            raise self._messages_failure(chat_id, count, timeout) from None
        return self.messages(chat_id)

    def wait_for_messages_sync(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        try:
            self.wait_until_sync(lambda: len(self.messages(chat_id)) >= count, timeout)
        except AssertionError:
            raise self._messages_failure(chat_id, count, timeout) from None
        return self.messages(chat_id)

    async def wait_confirmed(
        self,
        update_id: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for a polled condition
    ) -> None:
        """Wait until update_id and every update before it are done: a getUpdates offset
        confirmed them, and no bot in this process still has one in hand (the bot confirms
        what it has stored, before handling it: `in_hand`, set by the tests' `running`)."""
        await self.wait_until(
            lambda: self._done_with(update_id),
            timeout,
            f"update {update_id} to be handled (confirmed offset {self.confirmed_offset})",
        )

    def wait_confirmed_sync(self, update_id: int, timeout: float = 10.0) -> None:
        self.wait_until_sync(
            lambda: self._done_with(update_id), timeout, f"update {update_id} to be handled"
        )

    def _done_with(self, update_id: int) -> bool:
        return self.confirmed_offset > update_id and not any(
            in_hand <= update_id for in_hand in self.in_hand()
        )


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json"
    )


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    """Decode form-encoded strings into the types Telegram reads them as."""
    for key, value in list(params.items()):
        if not isinstance(value, str):
            continue
        if key in _JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except ValueError:
                if key == "reply_markup":
                    raise _bad("can't parse reply keyboard markup JSON object") from None
                raise _bad(f"can't parse {key} JSON object") from None
        elif key in _INT_FIELDS and _INT_RE.fullmatch(value.strip()):
            params[key] = int(value)
        elif key in _FLOAT_FIELDS:
            with contextlib.suppress(ValueError):
                params[key] = float(value)
        elif key in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
            params[key] = value.lower() in ("true", "1")
    return params


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"wrong parameter {name}")
    return value
