"""/search: ranked candidates, one card at a time, and sending an invitation from a card."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.data import search as search_data
from teambot.data.search import Candidate
from teambot.data.users import UserRow
from teambot.routers.admin import send_report
from teambot.routers.invitations import INVITE_REFUSALS, deliver
from teambot.routers.views import profile_card
from teambot.services import invitations
from teambot.services.matching import invitation_kind, visible_types
from teambot.services.skills import normalize_tag
from teambot.texts import text
from teambot.utils import escape

router = Router(name="search")
INVITE_ACTIONS = {
    "invite": "action_invite",
    "request": "action_request",
    "connect": "action_connect",
}


class Card(CallbackData, prefix="card"):
    action: str  # connect, next, hide, report, send
    target: int
    offset: int


class Inviting(StatesGroup):
    note = State()


async def _next_candidate(
    database: Database, me: UserRow, skill: str | None, offset: int
) -> Candidate | None:
    return await database.run(
        search_data.ranked,
        me=me.id,
        skills=me.skills,
        wants=me.looking_for,
        types=visible_types(me.user_type or ""),
        skill=skill,
        offset=offset,
    )


def _card(
    lang: str, me: UserRow, candidate: Candidate, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    body = profile_card(
        lang,
        user_type=candidate.user_type,
        display_name=candidate.display_name,
        skills=candidate.skills,
        looking_for=candidate.looking_for,
        bio=candidate.bio,
        team_name=candidate.team_name,
        team_description=candidate.team_description or "",
    )
    reasons = []
    if candidate.they_have:
        reasons.append(text(lang, "why_they_have", tags=escape(", ".join(candidate.they_have))))
    if candidate.they_want:
        reasons.append(text(lang, "why_they_want", tags=escape(", ".join(candidate.they_want))))
    why = "\n".join(reasons) if reasons else text(lang, "why_recent")
    # the total is counted up to a cap: "613 of 1000+"
    position = text(
        lang, "position_more" if candidate.more else "position", n=offset + 1, total=candidate.total
    )
    kind = invitation_kind(me.user_type or "", candidate.user_type) or "connect"
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, INVITE_ACTIONS[kind]),
        callback_data=Card(action="connect", target=candidate.id, offset=offset),
    )
    builder.button(
        text=text(lang, "action_next"),
        callback_data=Card(action="next", target=candidate.id, offset=offset),
    )
    builder.button(
        text=text(lang, "action_hide"),
        callback_data=Card(action="hide", target=candidate.id, offset=offset),
    )
    builder.button(
        text=text(lang, "action_report"),
        callback_data=Card(action="report", target=candidate.id, offset=offset),
    )
    builder.adjust(2, 2)
    return f"{body}\n\n<i>{why}</i>\n{position}", builder.as_markup()


async def _show(
    target: Message,
    database: Database,
    me: UserRow,
    lang: str,
    skill: str | None,
    offset: int,
    *,
    edit: bool,
) -> None:
    candidate = await _next_candidate(database, me, skill, offset)
    if candidate is None and offset > 0:
        candidate = await _next_candidate(database, me, skill, 0)  # wrap round
        offset = 0
    if candidate is None:
        key = "search_empty_filtered" if skill else "search_empty"
        body, markup = text(lang, key, skill=escape(skill or "")), None
    else:
        body, markup = _card(lang, me, candidate, offset)
    if edit:
        await target.edit_text(body, reply_markup=markup)
    else:
        await target.answer(body, reply_markup=markup)


@router.message(Command("search"))
async def search(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    if not me.registered:
        await message.answer(text(lang, "register_first"))
        return
    skill = normalize_tag(command.args) if command.args else None
    if command.args and skill is None:
        await message.answer(text(lang, "skills_refused", text=escape(command.args[:64])))
        return
    await state.update_data(search_skill=skill)
    await _show(message, database, me, lang, skill, 0, edit=False)


@router.callback_query(Card.filter(F.action.in_({"next", "hide", "report"})))
async def card_action(
    query: CallbackQuery,
    callback_data: Card,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    if not me.registered or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return
    skill = (await state.get_data()).get("search_skill")
    offset = callback_data.offset + 1
    if callback_data.action == "hide":
        await database.run(search_data.hide, me.id, callback_data.target)
        offset = callback_data.offset
        await query.answer(text(lang, "hidden"))
    elif callback_data.action == "report":
        first = await database.run(search_data.report, me.id, callback_data.target)
        await database.run(search_data.hide, me.id, callback_data.target)
        offset = callback_data.offset
        if first:
            await send_report(bot, database, settings, me.id, callback_data.target)
        await query.answer(text(lang, "reported"))
    else:
        await query.answer()
    await _show(query.message, database, me, lang, skill, offset, edit=True)


@router.callback_query(Card.filter(F.action == "connect"))
async def start_invitation(
    query: CallbackQuery, callback_data: Card, state: FSMContext, me: UserRow, lang: str
) -> None:
    if not me.registered:
        await query.answer(text(lang, "stale_button"))
        return
    await state.set_state(Inviting.note)
    await state.update_data(invite_target=callback_data.target)
    await query.answer()
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "send_without_note"),
        callback_data=Card(action="send", target=callback_data.target, offset=0),
    )
    if isinstance(query.message, Message):
        await query.message.answer(
            text(lang, "ask_note", max=invitations.MAX_NOTE), reply_markup=builder.as_markup()
        )


@router.message(Inviting.note, F.text, ~F.text.startswith("/"))  # a command is no note
async def typed_note(
    message: Message,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    note = (message.text or "").strip()
    if len(note) > invitations.MAX_NOTE:
        await message.answer(text(lang, "bio_too_long", length=len(note), max=invitations.MAX_NOTE))
        return
    target = (await state.get_data()).get("invite_target")
    await state.set_state(None)
    if not isinstance(target, int):
        await message.answer(text(lang, "stale_button"))
        return
    await _send_invitation(message, database, me, lang, bot, settings, target, note)


@router.callback_query(Card.filter(F.action == "send"))
async def sent_without_note(
    query: CallbackQuery,
    callback_data: Card,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    await state.set_state(None)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _send_invitation(
            query.message, database, me, lang, bot, settings, callback_data.target, ""
        )


async def _send_invitation(
    reply_to: Message,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
    settings: Settings,
    target: int,
    note: str,
) -> None:
    result = await invitations.send(
        database,
        me.id,
        target,
        note,
        per_day=settings.invites_per_day,
        hours=settings.cleanup_expired_invitations_hours,
    )
    if result.refusal is not None:
        await reply_to.answer(
            text(lang, INVITE_REFUSALS[result.refusal], per_day=settings.invites_per_day)
        )
        return
    await deliver(bot, database, result, me)
