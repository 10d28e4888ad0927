"""/help and /language (/start itself is the registration router's)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from teambot.adapters.database import Database
from teambot.routers.views import LanguageChoice, language_keyboard
from teambot.services import accounts
from teambot.texts import text

router = Router(name="start")


@router.message(Command("help"))
async def help_(message: Message, lang: str) -> None:
    await message.answer(text(lang, "help"))


@router.message(Command("language"))
async def language(message: Message, lang: str) -> None:
    await message.answer(text(lang, "choose_language"), reply_markup=language_keyboard())


@router.callback_query(LanguageChoice.filter())
async def chose_language(
    query: CallbackQuery, callback_data: LanguageChoice, database: Database
) -> None:
    # outside registration (that step has its own handler, matched first)
    lang = callback_data.code
    await accounts.set_language(database, query.from_user.id, lang)
    await query.answer(text(lang, "language_set"))
    if isinstance(query.message, Message):
        await query.message.edit_text(text(lang, "language_set"))
