"""Where and who: private chats only (a group gets one short pointer to the private chat,
nothing personal), then who is talking: loads (or creates) the user on every message and
button press, keeps them marked active, gives handlers `me` and `lang`, and turns banned
users away once."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Filter
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    User,
)
from loguru import logger

from teambot.adapters.database import Database
from teambot.domain import UserRow
from teambot.services import accounts
from teambot.texts import language_from_code, text

log = logger.bind(actor="dispatch")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# "/search", "/search@teambot python": the command and whom it names
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?:\s+(\S*))?")
# what t.me/<bot>?start= carries through: up to 64 of these characters
_START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


class PrivateChatsOnly(BaseMiddleware):
    """Profiles, cards, invitations and their buttons are for one person: in a group (or
    supergroup, or channel) anyone would read them and press the buttons. There a command
    of ours gets one short answer with a button to the private chat, a button press is
    told it works there, and everything else is left alone; nothing reaches the routers,
    and nothing is stored. `commands`: the bot's commands, so those of other bots in the
    group stay unanswered (unless they name this bot: /help@this_bot)."""

    def __init__(self, commands: frozenset[str]) -> None:
        self.commands = commands

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message):
            if event.chat.type == ChatType.PRIVATE:
                return await handler(event, data)
            await self._point_to_private_chat(event, data)
            return None
        if isinstance(event, CallbackQuery):
            if event.message is not None and event.message.chat.type == ChatType.PRIVATE:
                return await handler(event, data)
            await event.answer(text(_language(event.from_user), "private_only_button"))
            return None
        return await handler(event, data)

    async def _point_to_private_chat(self, message: Message, data: dict[str, Any]) -> None:
        sender = message.from_user
        found = _COMMAND.match(message.text or "")
        if sender is None or sender.is_bot or found is None:
            return  # chatter, or a post of a channel or an anonymous admin
        name, addressee, argument = found.groups()
        username = await bot_username(data["bot"], data.get("bot_username"))
        if addressee is not None and addressee.lower() != username.lower():
            return  # another bot's
        if addressee is None and name.lower() not in self.commands:
            return
        # "/start team_…" keeps its join link; anything else opens the chat with /start
        payload = argument if name.lower() == "start" and argument else name.lower()
        if not _START_PAYLOAD.fullmatch(payload):
            payload = "start"
        lang = _language(sender)
        button = InlineKeyboardButton(
            text=text(lang, "private_only_open"), url=f"https://t.me/{username}?start={payload}"
        )
        try:
            await message.reply(
                text(lang, "private_only"),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
            )
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            # muted there, or removed from the group since: nobody to tell
            log.info("no answer in chat {}: {}", message.chat.id, exc.message)


async def bot_username(bot: Bot, known: str | None) -> str:
    """The bot's username: the one the Telegram actor learned at start (dispatcher data
    `bot_username`), else aiogram's cached getMe (a Bot API call inside the update's
    transaction, the first time only: tests that build no Telegram actor)."""
    return known or (await bot.me()).username or ""


def _language(user: User) -> str:
    # the sender's app language: a group answer reads nothing of theirs from the database
    return language_from_code(user.language_code)


class UserContext(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        if sender is None or sender.is_bot:
            return None
        database: Database = data["database"]
        # read with the update's first round trip (actors/pipeline/handling.py), or now
        me: UserRow | None = data.get("sender")
        if me is None:
            me = await accounts.seen(
                database,
                sender.id,
                username=sender.username,
                first_name=sender.first_name,
                last_name=sender.last_name,
                language=language_from_code(sender.language_code),
            )
        if me.is_banned:
            if not me.ban_notified:
                bot: Bot = data["bot"]
                await bot.send_message(sender.id, text(me.language, "banned"))
                await accounts.ban_told(database, sender.id)
            return None
        data["me"] = me
        data["lang"] = me.language
        return await handler(event, data)


class Registered(Filter):
    """Passes for people with a finished, not deleted profile."""

    async def __call__(self, event: TelegramObject, me: UserRow) -> bool:
        return me.registered
