"""Free text with a length limit, and the long pastes Telegram's apps split.

An app sends a text longer than Telegram's 4096 characters as several messages at once:
Desktop cuts at a line or word break in the second half of each 4096, Android hard at
4096. The first piece is refused as too long; the last one alone may fit the limit and
would pass for the whole text, cut mid-word. So a refused piece long enough to be a cut
one is remembered in the dialogue (its step and Telegram's date), and a text arriving at
the same step within a few seconds of it is the rest of it, refused as well. Telegram's
dates, not our clock, decide: a backlog handled late still pairs the pieces right."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from pydantic import BaseModel, ValidationError

from teambot.texts import text

TELEGRAM_TEXT_LIMIT = 4096
# the shortest first piece an app cuts (Desktop breaks only in the second half)
SHORTEST_CUT_PIECE = TELEGRAM_TEXT_LIMIT // 2
# the pieces of one paste leave the app together; nobody types a new text this fast
PIECES_APART_SECONDS = 5
_KEY = "long_text"


class _Refused(BaseModel):
    step: str
    sent_at: int  # Telegram's date of the latest piece, in seconds
    length: int  # the characters of all pieces so far

    def continued_by(self, step: str, sent_at: int) -> bool:
        return step == self.step and 0 <= sent_at - self.sent_at <= PIECES_APART_SECONDS


async def refused_as_too_long(
    message: Message, state: FSMContext, value: str, limit: int, refusal: str, lang: str
) -> bool:
    """True when `value` (the message's text as the step reads it) is refused: longer than
    `limit` (the person reads `refusal`), or the rest of a long text whose first piece was
    refused (they read that it was). A cut piece is remembered for the next message."""
    data = await state.get_data()
    step = await state.get_state() or ""
    sent_at = int(message.date.timestamp())
    try:
        earlier = _Refused.model_validate(data.get(_KEY))
    except ValidationError:
        earlier = None
    if earlier is not None and earlier.continued_by(step, sent_at):
        total = earlier.length + len(value)
        await state.update_data(
            {_KEY: _Refused(step=step, sent_at=sent_at, length=total).model_dump()}
        )
        await message.answer(text(lang, "too_long_continued", length=total, max=limit))
        return True
    if len(value) <= limit:
        return False
    piece = len(message.text or "")
    cut = (
        _Refused(step=step, sent_at=sent_at, length=len(value))
        if piece >= SHORTEST_CUT_PIECE
        else None
    )
    await state.update_data({_KEY: cut.model_dump() if cut else None})
    await message.answer(refusal)
    return True
