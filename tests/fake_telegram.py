"""A fake Telegram Bot API server speaking real HTTP on 127.0.0.1.

It runs aiohttp on its own event loop in a daemon thread, so the bot under test may run
in-process on asyncio or trio, or as a subprocess. It behaves like Telegram where the bot
can tell: getUpdates long-polls and keeps updates until a later offset confirms them,
message ids count per chat, bad HTML is refused with 400, a second concurrent getUpdates
ends the first with 409, and (when asked) flood limits answer 429 with retry_after.
"""

from __future__ import annotations

import asyncio
import html.parser
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import anyio
from aiohttp import web

DEFAULT_TOKEN = "123456789:AAHfakeTokenForTestsOnly-xxxxxxxxxxxxxx"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "TeamBot",
    "username": "teambot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "entities"}
_INT_FIELDS = {"chat_id", "offset", "limit", "message_id", "user_id", "cache_time"}
_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    at: float


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str
    html: str
    reply_markup: dict[str, Any] | None
    edited: bool = False
    deleted: bool = False

    @property
    def buttons(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button["text"] for row in rows for button in row]

    def callback_data(self, label: str) -> str | None:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if button["text"] == label:
                    return str(button.get("callback_data"))
        return None


class _TelegramHtml(html.parser.HTMLParser):
    """Checks Telegram's HTML subset and collects the plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.error = self.error or f'unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'unexpected end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_html(text: str) -> str:
    """The plain text of Telegram HTML, or ApiError 400 like Telegram's."""
    # a bare "<" or "&" that forms no tag or entity is an error at Telegram
    for index, char in enumerate(text):
        if char == "&":
            end = text.find(";", index)
            entity = text[index : end + 1] if end != -1 else ""
            if entity not in ("&lt;", "&gt;", "&amp;", "&quot;") and not entity.startswith("&#"):
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported entity "
                                    f"at byte offset {index}")
        if char == "<" and (index + 1 >= len(text) or not
                            (text[index + 1].isalpha() or text[index + 1] == "/")):
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected \"<\" at "
                                f"byte offset {index}")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.error or parser.stack:
        reason = parser.error or f'can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
        raise ApiError(400, f"Bad Request: can't parse entities: {reason}")
    return "".join(parser.parts)


class FakeTelegram:
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        first_update_id: int = 100_000,
        flood_limits: bool = False,
    ) -> None:
        self.token = token
        self.bot_user = dict(BOT_USER)
        self.flood_limits = flood_limits
        self.flood_rejections = 0
        self.fault_delay = 30.0
        self.fault_retry_after = 1
        self.api_url = ""
        self._lock = threading.RLock()
        self._next_update_id = first_update_id
        self._updates: list[dict[str, Any]] = []
        self._messages: dict[int, list[SentMessage]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._faults: dict[str, deque[str]] = {}
        self._sends: deque[tuple[float, int]] = deque()
        self._callback_seq = itertools.count(1)
        self.calls: list[ApiCall] = []
        self.callback_answers: list[tuple[str, str | None, bool]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.confirmed_offset = 0
        self.get_updates_calls = 0
        self._poll_generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._new_update: asyncio.Condition | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_server())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot API server did not start")

    async def _start_server(self) -> None:
        self._new_update = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # pending long polls must not hold up stopping the fake
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.api_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def reset(self) -> None:
        with self._lock:
            self._updates.clear()
            self._messages.clear()
            self._message_ids.clear()
            self.calls.clear()
            self.callback_answers.clear()

    # --- HTTP -----------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items()
                               if isinstance(v, str)})
        for key, value in list(params.items()):
            if key in _JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
            elif key in _INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
                params[key] = int(value)
            elif key == "timeout" and isinstance(value, str):
                params[key] = float(value)
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        status = 200
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            fault = self._take_fault(method)
            if fault is not None:
                response = await self._fault(fault, request)
                if response is not None:
                    status = response.status
                    return response
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            status = exc.code
            body: dict[str, Any] = {"ok": False, "error_code": exc.code,
                                    "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.code)
        finally:
            with self._lock:
                self.calls.append(ApiCall(method, params, status, time.monotonic()))

    def _take_fault(self, method: str) -> str | None:
        with self._lock:
            for key in (method, "*"):
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    async def _fault(self, kind: str, request: web.Request) -> web.StreamResponse | None:
        if kind == "500":
            raise ApiError(500, "Internal Server Error")
        if kind == "429":
            raise ApiError(429, f"Too Many Requests: retry after {self.fault_retry_after}",
                           self.fault_retry_after)
        if kind == "502":
            return web.Response(status=502, text="<html>502 Bad Gateway</html>",
                                content_type="text/html")
        if kind == "malformed":
            return web.Response(status=200, text='{"ok": true, "result": [',
                                content_type="application/json")
        if kind == "reset":
            if request.transport is not None:
                request.transport.abort()
            raise ApiError(500, "connection reset")
        if kind == "timeout":
            await asyncio.sleep(self.fault_delay)
            return None
        raise ValueError(f"unknown fault {kind}")

    def inject_fault(self, method: str, kind: str, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(method, deque()).extend([kind] * times)

    # --- Bot API methods ------------------------------------------------------------------

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": self.pending_update_count}

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        key = (json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True),
               str(params.get("language_code") or ""))
        with self._lock:
            self.commands[key] = list(params.get("commands") or [])
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = (json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True),
               str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    def _api_setmydescription(self, params: dict[str, Any]) -> bool:
        return True

    _api_setmyshortdescription = _api_setmydescription
    _api_sendchataction = _api_setmydescription
    _api_close = _api_setmydescription
    _api_logout = _api_setmydescription

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._new_update is not None
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        with self._lock:
            self.get_updates_calls += 1
            self._poll_generation += 1
            generation = self._poll_generation
            if isinstance(offset, int) and offset < 0:
                self._updates = self._updates[offset:]
            elif isinstance(offset, int) and offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self.confirmed_offset = max(self.confirmed_offset, offset)
        async with self._new_update:
            # a newer getUpdates wakes the older one, which then answers 409
            self._new_update.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                ready = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return [json.loads(json.dumps(u)) for u in ready]
            async with self._new_update:
                try:
                    await asyncio.wait_for(self._new_update.wait(), remaining)
                except TimeoutError:
                    pass

    def _check_flood(self, chat_id: int) -> None:
        if not self.flood_limits:
            return
        now = time.monotonic()
        with self._lock:
            while self._sends and now - self._sends[0][0] > 60:
                self._sends.popleft()
            last_second = [c for t, c in self._sends if now - t < 1]
            in_chat = [t for t, c in self._sends if c == chat_id and now - t < 3]
            per_minute = [t for t, c in self._sends if c == chat_id]
            over = (
                len(last_second) >= 30
                or (chat_id > 0 and len(in_chat) >= 3)
                or (chat_id < 0 and len(per_minute) >= 20)
            )
            if over:
                self.flood_rejections += 1
                raise ApiError(429, "Too Many Requests: retry after 1", 1)
            self._sends.append((now, chat_id))

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        text = str(params.get("text") or "")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if len(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_flood(chat_id)
        with self._lock:
            message = SentMessage(self._new_message_id(chat_id), chat_id, plain, text,
                                  params.get("reply_markup"))
            self._messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private" if message.chat_id > 0 else "group",
                     "first_name": "User"} if message.chat_id > 0 else
                    {"id": message.chat_id, "type": "group", "title": "Group"},
            "from": self.bot_user,
            "text": message.text,
        }
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.edited:
            body["edit_date"] = int(time.time())
        return body

    def _find(self, params: dict[str, Any]) -> SentMessage:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        with self._lock:
            for message in self._messages.get(chat_id, []) if isinstance(chat_id, int) else []:
                if message.message_id == message_id and not message.deleted:
                    return message
        raise ApiError(400, "Bad Request: message to edit not found")

    def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = parse_html(text) if params.get("parse_mode") == "HTML" else text
        markup = params.get("reply_markup")
        if plain == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        self._check_flood(message.chat_id)
        with self._lock:
            message.text, message.html, message.reply_markup = plain, text, markup
            message.edited = True
        return self._message_json(message)

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params)
        markup = params.get("reply_markup")
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        with self._lock:
            message.reply_markup = markup
            message.edited = True
        return self._message_json(message)

    def _api_deletemessage(self, params: dict[str, Any]) -> bool:
        message = self._find(params)
        with self._lock:
            message.deleted = True
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self._lock:
            if self._callbacks.get(query_id, True):
                raise ApiError(400, "Bad Request: query is too old and response timeout "
                                    "expired or query ID is invalid")
            self._callbacks[query_id] = True
            self.callback_answers.append(
                (query_id, params.get("text"), str(params.get("show_alert")).lower() == "true")
            )
        return True

    # --- test side ------------------------------------------------------------------------

    def _enqueue(self, update: dict[str, Any]) -> int:
        with self._lock:
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
            update_id = int(update["update_id"])
        loop = self._loop
        if loop is not None and self._new_update is not None:
            condition = self._new_update

            async def wake() -> None:
                async with condition:
                    condition.notify_all()

            asyncio.run_coroutine_threadsafe(wake(), loop)
        return update_id

    def enqueue_raw(self, update: dict[str, Any]) -> int:
        return self._enqueue(dict(update))

    @staticmethod
    def _user(user_id: int, first_name: str, last_name: str | None, username: str | None,
              language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

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
    ) -> int:
        chat = user_id if chat_id is None else chat_id
        with self._lock:
            message_id = self._new_message_id(chat)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": first_name},
            "from": self._user(user_id, first_name, last_name, username, language_code),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.encode("utf-16-le")) // 2}]
        return self._enqueue({"message": message})

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> int:
        query_id = f"cb{next(self._callback_seq)}"
        with self._lock:
            self._callbacks[query_id] = False
            stored = next((m for m in self._messages.get(user_id, [])
                           if m.message_id == message_id), None)
        message = (self._message_json(stored) if stored is not None else
                   {"message_id": message_id, "date": 0,
                    "chat": {"id": user_id, "type": "private", "first_name": first_name}})
        return self._enqueue({"callback_query": {
            "id": query_id,
            "from": self._user(user_id, first_name, None, username, language_code),
            "chat_instance": str(user_id),
            "message": message,
            "data": callback_data,
        }})

    def press(self, user_id: int, button_text: str, **kwargs: Any) -> int:
        messages = self.messages(user_id)
        for message in reversed(messages):
            data = message.callback_data(button_text)
            if data is not None:
                return self.press_button(user_id, message.message_id, data, **kwargs)
        available = [b for m in messages for b in m.buttons]
        raise AssertionError(f"no button {button_text!r} in chat {user_id}; buttons: {available}")

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Snapshots: a later edit does not change what a test already looked at."""
        with self._lock:
            return [replace(m) for m in self._messages.get(chat_id, []) if not m.deleted]

    def last_message(self, chat_id: int) -> SentMessage:
        messages = self.messages(chat_id)
        assert messages, f"the bot sent nothing to {chat_id}"
        return messages[-1]

    def calls_of(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._updates)

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "a condition"
    ) -> None:
        with anyio.move_on_after(timeout):
            while not predicate():
                await anyio.sleep(0.01)
            return
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_until_sync(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "a condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.02)

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        try:
            await self.wait_until(lambda: len(self.messages(chat_id)) >= count, timeout,
                                  f"{count} messages to {chat_id}")
        except AssertionError:
            texts = [m.text for m in self.messages(chat_id)]
            raise AssertionError(f"chat {chat_id} holds {len(texts)} of {count}: {texts}") from None
        return self.messages(chat_id)

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        await self.wait_until(lambda: self.confirmed_offset > update_id, timeout,
                              f"update {update_id} to be confirmed")
