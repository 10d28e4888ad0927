"""Outgoing messages as effects of a unit of work (aiogram side of the outbox).

Inside `collecting(effects)` a Bot API call that changes a chat (a message, an edit, the
answer to a button press) is not made: `CollectEffects`, the outermost session middleware,
records it in `effects` and hands the caller a stand-in result, so handlers keep aiogram's
idiom (`message.answer(...)`, `query.answer()`, `bot.edit_message_text(...)`). The unit of
work writes the records as outbox rows in its transaction and sends them after the commit
(`deliver`). Reads (getMe) go through at once.

A stand-in Message carries a provisional `message_id`: the negative of its outbox row's id.
A handler may keep it (in the dialogue's data, in invitation_messages) and edit that
message later; the id is resolved to Telegram's when the edit is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiogram.methods
from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, InlineKeyboardMarkup, Message

from teambot.adapters.flood_control import in_background

# Calls that change nothing a person sees: made at once, also inside a unit of work.
READS = frozenset({"getMe", "getChat", "getChatMember", "getUpdates", "getWebhookInfo"})

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__: cls
    for name in aiogram.methods.__all__
    if isinstance(cls := getattr(aiogram.methods, name), type)
    and issubclass(cls, TelegramMethod)
    and hasattr(cls, "__api_method__")
}


@dataclass(frozen=True)
class Followup:
    """What follows when Telegram refuses a message sent to someone on another's behalf
    (they blocked the bot, or never started it): a message to the actor (`chat_id`,
    `text`), a warning for the operator's log, or both."""

    chat_id: int | None = None
    text: str | None = None
    warning: str | None = None


@dataclass
class Outgoing:
    """One Bot API call to make after the commit; `id` is its outbox row's, `payload` the
    call's fields as Telegram reads them (payload_of): the row's payload, and the body the
    call is sent with."""

    id: int
    method: TelegramMethod[Any]
    payload: dict[str, Any]
    background: bool = False
    if_undelivered: Followup | None = None

    # Read from the payload: a pydantic model asked for a field it does not have (an
    # answerCallbackQuery's chat_id, a sendMessage's message_id) takes ~8 us to say so.
    @property
    def chat_id(self) -> int | None:
        chat = self.payload.get("chat_id")
        return chat if isinstance(chat, int) else None

    @property
    def refers_to(self) -> int | None:
        """The outbox row whose message this call edits, if it names one provisionally."""
        message_id = self.payload.get("message_id")
        return -message_id if isinstance(message_id, int) and message_id < 0 else None


@dataclass
class Effects:
    """What one unit of work sends after it commits, in the order it was asked for."""

    allocate: Callable[[], Awaitable[int]]  # a fresh outbox row id
    outgoing: list[Outgoing] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    async def add(self, bot: Bot, method: TelegramMethod[Any]) -> Outgoing:
        outgoing = Outgoing(
            await self.allocate(),
            method,
            payload_of(bot, method),
            in_background(),
            _if_undelivered.get(),
        )
        self.outgoing.append(outgoing)
        return outgoing

    def in_order(self) -> list[Outgoing]:
        """Replies first, then messages to other people; each group as asked."""
        return sorted(self.outgoing, key=lambda item: item.background)


_effects: ContextVar[Effects | None] = ContextVar("teambot_effects", default=None)
_if_undelivered: ContextVar[Followup | None] = ContextVar("teambot_if_undelivered", default=None)


@contextmanager
def collecting(effects: Effects) -> Iterator[Effects]:
    token = _effects.set(effects)
    try:
        yield effects
    finally:
        _effects.reset(token)


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once the current unit of work has committed (at once outside one); not
    at all if it rolls back."""
    effects = _effects.get()
    if effects is None:
        action()
    else:
        effects.after_commit.append(action)


@contextmanager
def not_collecting() -> Iterator[None]:
    """Calls made inside are made at once (sending what a unit of work collected)."""
    token = _effects.set(None)
    try:
        yield
    finally:
        _effects.reset(token)


@contextmanager
def on_behalf_of(followup: Followup | None) -> Iterator[None]:
    """Messages sent inside go to someone else for the actor; if one does not arrive, the
    actor is sent `followup` instead."""
    token = _if_undelivered.set(followup)
    try:
        yield
    finally:
        _if_undelivered.reset(token)


class CollectEffects:
    """Session middleware, outermost: inside `collecting`, calls that change a chat are
    recorded instead of made (see the module docstring)."""

    async def __call__(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        effects = _effects.get()
        if effects is None or method.__api_method__ in READS:
            return await make_request(bot, method)
        outgoing = await effects.add(bot, method)
        return stand_in(bot, outgoing)


def stand_in(bot: Bot, outgoing: Outgoing) -> Any:
    method = outgoing.method
    if isinstance(method, SendMessage):
        # copies of validated templates: a third of what validating a new Message costs
        return _MESSAGE.model_copy(
            update={
                "message_id": -outgoing.id,
                "date": datetime.now(UTC),
                "chat": _CHAT.model_copy(update={"id": int(method.chat_id)}),
                "text": method.text,
                "reply_markup": method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None,
            }
        ).as_(bot)
    returning = str(getattr(method, "__returning__", ""))
    if "bool" in returning:
        return True
    raise TypeError(f"{method.__api_method__} cannot be sent from inside a unit of work")


_CHAT = Chat(id=0, type="private")
_MESSAGE = Message(message_id=0, date=datetime.now(UTC), chat=_CHAT)


def payload_of(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The call's fields as Telegram reads them, plain JSON: unset fields left out, the
    bot's defaults (parse mode…) written as their values. aiogram's own conversion, so the
    outbox row, the request's body and a call made at once agree."""
    files: dict[str, Any] = {}
    # None fields are dropped by prepare_value too: left out of the dump, they are not
    # walked at all (a card with its keyboard: 35 -> 23 us)
    fields: dict[str, Any] = bot.session.prepare_value(
        method.model_dump(warnings=False, exclude_none=True),
        bot=bot,
        files=files,
        _dumps_json=False,
    )
    if files:
        # the bot sends text only; an upload would need multipart and a file kept with the row
        raise TypeError(f"{method.__api_method__} with a file cannot be sent")
    return fields


def method_from(name: str, payload: Mapping[str, Any]) -> TelegramMethod[Any]:
    return METHODS[name].model_validate(dict(payload))
