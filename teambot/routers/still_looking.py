"""The answers to "Still looking?", asked before the inactivity pause (teambot/jobs.py).

Any update from a person marks them active and clears the question (teambot/data/users.py
`SEEN`), so [Yes, keep me] needs nothing more: they are not paused for another full
stretch. [Pause] pauses their search at once. Either way the question becomes what
happened, without buttons; a press on an old copy gets a short answer that fits now."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from teambot.adapters.database import Database
from teambot.domain import UserRow
from teambot.routers.context import Registered
from teambot.routers.views import StillLooking
from teambot.services import accounts
from teambot.texts import text

router = Router(name="still_looking")
# a deleted account's presses fall through to "no longer active"
router.callback_query.filter(Registered())


async def _settle(query: CallbackQuery, body: str) -> None:
    """The question becomes the answer; a message too old to edit gets it as the press's."""
    if isinstance(query.message, Message):
        await query.message.edit_text(body, reply_markup=None)
        await query.answer()
    else:
        await query.answer(body)


@router.callback_query(StillLooking.filter(F.answer == "yes"))
async def keep(query: CallbackQuery, me: UserRow, lang: str) -> None:
    # paused since (by the inactivity rule or by themselves): resuming is /profile's
    await _settle(
        query, text(lang, "still_looking_kept" if me.is_searching else "still_looking_was_paused")
    )


@router.callback_query(StillLooking.filter(F.answer == "pause"))
async def pause(query: CallbackQuery, database: Database, me: UserRow, lang: str) -> None:
    if not me.is_searching:
        await _settle(query, text(lang, "still_looking_was_paused"))
        return
    await accounts.set_searching(database, me.id, False)
    await _settle(query, text(lang, "still_looking_paused"))
