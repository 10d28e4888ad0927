"""Who is talking: loads (or creates) the user on every message and button press, keeps
them marked active, gives handlers `me` and `lang`, and turns banned users away once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.filters import Filter
from aiogram.types import TelegramObject, User

from teambot.adapters.database import Database
from teambot.data import users
from teambot.data.users import UserRow
from teambot.texts import language_from_code, text

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UserContext(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        if sender is None or sender.is_bot:
            return None
        database: Database = data["database"]
        me = await database.run(
            users.seen,
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
                await database.run(users.mark_ban_notified, sender.id)
            return None
        data["me"] = me
        data["lang"] = me.language
        return await handler(event, data)


class Registered(Filter):
    """Passes for people with a finished, not deleted profile."""

    async def __call__(self, event: TelegramObject, me: UserRow) -> bool:
        return me.registered
