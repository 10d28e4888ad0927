"""/broadcast: an admin writes an announcement, picks who gets it, sees it exactly as they
will with the number of recipients, and confirms; then one message shows the progress, with
a Stop button. Only ADMIN_IDS get here (for anyone else the command is unknown and the
buttons stale). The broadcast actor (teambot/actors/broadcast.py) does the sending."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, or_f
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from loguru import logger
from pydantic import Field

from teambot import notices
from teambot.adapters.database import Database
from teambot.domain import Audience, AudienceChoice, BroadcastProgress
from teambot.routers.admin import IsAdmin
from teambot.routers.views import StopBroadcast
from teambot.services import broadcasts
from teambot.services.broadcasts import MAX_LENGTH, Stop
from teambot.texts import text
from teambot.utils import escape

log = logger.bind(actor="broadcast")
router = Router(name="broadcast")
router.message.filter(IsAdmin())
router.callback_query.filter(IsAdmin())


class Composing(StatesGroup):
    writing = State()
    choosing = State()  # the text is kept, the audience buttons are live
    confirming = State()  # the preview and its Send button are shown


DraftKey = Annotated[int, Field(ge=0, le=2**31)]
EventKey = Annotated[int, Field(ge=0, le=2**63 - 1)]  # 0: no event


class Draft(CallbackData, prefix="bcast"):
    """A button of one draft (`draft` tells it from the buttons of an earlier one)."""

    draft: DraftKey
    action: Literal["everyone", "teamless", "event", "send", "cancel"]
    event: EventKey = 0


@router.message(Command("broadcast"))
async def begin(message: Message, state: FSMContext, lang: str) -> None:
    await state.set_state(Composing.writing)
    await state.set_data({})
    await message.answer(text(lang, "broadcast_ask", max=MAX_LENGTH))


# a new text while choosing or confirming starts the draft over (its buttons go stale)
@router.message(
    or_f(Composing.writing, Composing.choosing, Composing.confirming), ~F.text.startswith("/")
)
async def written(message: Message, state: FSMContext, database: Database, lang: str) -> None:
    if message.text is None:
        await message.answer(text(lang, "broadcast_text_only"))
        return
    # Telegram counts UTF-16 code units (an emoji may be two)
    length = len(message.text.encode("utf-16-le")) // 2
    if length > MAX_LENGTH:
        await message.answer(text(lang, "broadcast_too_long", length=length, max=MAX_LENGTH))
        return
    draft = secrets.randbelow(2**31)
    # the formatting the admin used comes through; what they typed is escaped
    await state.set_data({"body": message.html_text, "draft": draft})
    await state.set_state(Composing.choosing)
    choices = await broadcasts.audiences(database)
    await message.answer(
        text(lang, "broadcast_choose"), reply_markup=_audience_markup(lang, draft, choices)
    )


def _audience_markup(lang: str, draft: int, choices: list[AudienceChoice]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for choice in choices:
        kind, count = choice.audience.kind, choice.count
        if kind == "event":
            name = (choice.event_name or "")[:40]  # a button shows a short line
            label = text(lang, "broadcast_event", name=name, count=count)
            data = Draft(draft=draft, action="event", event=choice.audience.event_id or 0)
        elif kind == "teamless":
            label = text(lang, "broadcast_teamless", count=count)
            data = Draft(draft=draft, action="teamless")
        else:
            label = text(lang, "broadcast_everyone", count=count)
            data = Draft(draft=draft, action="everyone")
        builder.button(text=label, callback_data=data)
    builder.button(
        text=text(lang, "broadcast_cancel"), callback_data=Draft(draft=draft, action="cancel")
    )
    builder.adjust(1)
    return builder.as_markup()


def _audience(pressed: Draft) -> Audience | None:
    """What the button names; None for data no button of ours carries."""
    if (pressed.action == "event") != (pressed.event > 0):
        return None
    return (
        Audience("event", pressed.event) if pressed.action == "event" else Audience(pressed.action)
    )


async def _draft(
    query: CallbackQuery, state: FSMContext, pressed: Draft, lang: str
) -> dict[str, Any] | None:
    """The draft being written, if the button is one of its own; else the press is answered
    as stale (an earlier draft, a sent or dropped one, a forged press)."""
    data = await state.get_data()
    if data.get("draft") != pressed.draft or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return None
    return data


def _described(lang: str, chosen: AudienceChoice) -> str:
    name = escape(chosen.event_name or "")
    return text(lang, "broadcast_audience", kind=chosen.audience.kind, name=name)


@router.callback_query(
    Composing.choosing, Draft.filter(F.action.in_({"everyone", "teamless", "event"}))
)
async def choose(
    query: CallbackQuery,
    callback_data: Draft,
    state: FSMContext,
    database: Database,
    bot: Bot,
    lang: str,
) -> None:
    data = await _draft(query, state, callback_data, lang)
    if data is None:
        return
    audience = _audience(callback_data)
    chosen = None if audience is None else await broadcasts.sized(database, audience)
    if chosen is None:  # forged, or the event is gone
        await query.answer(text(lang, "stale_button"))
        return
    if chosen.count == 0:
        await query.answer(text(lang, "broadcast_nobody"), show_alert=True)
        return
    described = _described(lang, chosen)
    await state.set_state(Composing.confirming)
    await query.answer()
    assert isinstance(query.message, Message) and audience is not None
    await query.message.edit_text(text(lang, "broadcast_chosen", audience=described))
    # the preview: the message exactly as people get it (the last line in their language)
    await bot.send_message(query.from_user.id, notices.announcement(lang, data["body"]))
    draft = callback_data.draft
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "broadcast_send", count=chosen.count),
        callback_data=Draft(draft=draft, action="send"),
    )
    builder.button(
        text=text(lang, "broadcast_cancel"), callback_data=Draft(draft=draft, action="cancel")
    )
    await state.update_data(kind=audience.kind, event=audience.event_id)
    await bot.send_message(
        query.from_user.id,
        text(lang, "broadcast_confirm", count=chosen.count, audience=described),
        reply_markup=builder.as_markup(),
    )


@router.callback_query(Composing.confirming, Draft.filter(F.action == "send"))
async def send(
    query: CallbackQuery, callback_data: Draft, state: FSMContext, database: Database, lang: str
) -> None:
    data = await _draft(query, state, callback_data, lang)
    if data is None:
        return
    # the audience this draft's preview counted
    audience = Audience(data["kind"], data["event"])
    assert isinstance(query.message, Message)
    started = await broadcasts.start(
        database,
        query.from_user.id,
        data["body"],
        audience,
        query.message.chat.id,
        query.message.message_id,
    )
    await state.clear()
    if started is None:  # everyone turned announcements off meanwhile
        await query.answer()
        await query.message.edit_text(text(lang, "broadcast_nobody_now"))
        return
    broadcast_id, total = started
    log.info("admin {} started broadcast {} to {} people", query.from_user.id, broadcast_id, total)
    await query.answer(text(lang, "broadcast_started"))
    body, markup = notices.broadcast_view(
        BroadcastProgress(
            broadcast_id, "sending", lang, query.message.chat.id, query.message.message_id, total
        )
    )
    await query.message.edit_text(body, reply_markup=markup)


@router.callback_query(
    or_f(Composing.choosing, Composing.confirming), Draft.filter(F.action == "cancel")
)
async def drop(query: CallbackQuery, callback_data: Draft, state: FSMContext, lang: str) -> None:
    if await _draft(query, state, callback_data, lang) is None:
        return
    await state.clear()
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(text(lang, "broadcast_dropped"))


@router.callback_query(StopBroadcast.filter())
async def stop(
    query: CallbackQuery, callback_data: StopBroadcast, database: Database, lang: str
) -> None:
    outcome = await broadcasts.stop(database, callback_data.id)
    if outcome is Stop.NO_SUCH:
        await query.answer(text(lang, "stale_button"))
        return
    if outcome is Stop.STOPPED:
        log.info("admin {} stopped broadcast {}", query.from_user.id, callback_data.id)
    await query.answer(
        text(
            lang, "broadcast_stopping" if outcome is Stop.STOPPED else "broadcast_finished_already"
        )
    )
    if isinstance(query.message, Message):
        # the figures stay; the actor writes the last ones when the messages on their way
        # have gone
        await query.message.edit_reply_markup(reply_markup=None)
