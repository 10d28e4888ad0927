"""Last in line: buttons nobody handled (stale, forged, from an old message) and messages
that fit no dialogue get a short answer, never silence or an error."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from loguru import logger

from teambot.texts import text

router = Router(name="fallback")


@router.callback_query()
async def stale_button(query: CallbackQuery, lang: str) -> None:
    logger.bind(actor="fallback").info(
        "unhandled button {!r} from user {}", (query.data or "")[:64], query.from_user.id
    )
    await query.answer(text(lang, "stale_button"))


@router.message()
async def unknown_input(message: Message, lang: str) -> None:
    await message.answer(text(lang, "unknown_input"))
