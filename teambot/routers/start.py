"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from teambot.texts import language_from_code, text
from teambot.utils import escape

router = Router(name="start")


@router.message(CommandStart())
async def start(message: Message) -> None:
    user = message.from_user
    language = language_from_code(user.language_code if user else None)
    name = escape(user.first_name if user else "")
    await message.answer(text(language, "start", name=name))


@router.message(Command("help"))
async def help_(message: Message) -> None:
    user = message.from_user
    await message.answer(text(language_from_code(user.language_code if user else None), "help"))
