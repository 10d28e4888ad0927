"""/search: ranked candidates, one card at a time, and sending an invitation from a card.

A card's buttons name it by a reference of the viewer's (teambot/data/search.py), never by
the Telegram id of the person on it. A reference that is not the presser's, and any field
out of its bounds, gets the same neutral "This button is no longer active".
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import replace
from typing import Annotated, Any, Literal

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from teambot import notices
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.domain import HOURS_PER_WEEK, ROLE_FOCUSES, Reason, UserRow
from teambot.routers.invitations import INVITE_REFUSALS
from teambot.routers.views import (
    DatabaseKey,
    Position,
    fields_offer_keyboard,
    link_buttons,
    profile_card,
)
from teambot.services import invitations, matching_fields
from teambot.services import search as search_rules
from teambot.services.fit import CRITERIA, Criterion, Filters
from teambot.services.matching import invitation_kind
from teambot.services.search import Emptiness, Empty, NoCard, Query, Shown
from teambot.services.skills import normalize_tag
from teambot.texts import text
from teambot.utils import escape

router = Router(name="search")
# Comes before every other router: a command leaves the note question (below).
leave_note = Router(name="search_leave_note")

INVITE_ACTIONS = {
    "invite": "action_invite",
    "request": "action_request",
    "connect": "action_connect",
}
Nonce = Annotated[int, Field(ge=0, le=2**31 - 1)]
NEW_SEARCH = Query()  # /search as typed: no quick filter, my event's pool if I am in one


class Card(CallbackData, prefix="card"):
    action: Literal["connect", "next", "hide", "report", "save"]
    ref: DatabaseKey  # the viewer's reference to the card (search_cards), not a Telegram id
    offset: Position


class Quick(CallbackData, prefix="qf"):
    """A quick filter pressed: the next value of that filter (kept in the dialogue's state,
    so Next goes on with it); scope switches between my event's pool and everyone."""

    kind: Literal["role", "hours", "remote", "scope"]


class Relax(CallbackData, prefix="relax"):
    """Search once without one of my must-haves (the one the empty answer named)."""

    criterion: Criterion


class SendWithoutNote(CallbackData, prefix="note"):
    # matches the note question now open, and only that one: a button of an earlier
    # question (answered, cancelled, or asked again) must not send anything
    nonce: Nonce


class Inviting(StatesGroup):
    note = State()


_NOTE_KEYS = ("invite_target", "invite_nonce", "invite_prompt")


def _card(
    lang: str, me: UserRow, shown: Shown, query: Query = NEW_SEARCH
) -> tuple[str, InlineKeyboardMarkup]:
    candidate, ref, offset = shown.candidate, shown.ref, shown.offset
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
    reasons = [_reason(lang, reason) for reason in candidate.reasons]
    why = "\n".join(reasons) if reasons else text(lang, "why_recent")
    # the total is counted up to a cap: "613 of 1000+"
    position = text(
        lang, "position_more" if candidate.more else "position", n=offset + 1, total=candidate.total
    )
    if shown.scoped and shown.event:
        position = f"{position}\n{text(lang, 'rank_in_event', event=escape(shown.event))}"
    kind = invitation_kind(me.user_type or "", candidate.user_type) or "connect"
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, INVITE_ACTIONS[kind]),
        callback_data=Card(action="connect", ref=ref, offset=offset),
    )
    builder.button(
        text=text(lang, "action_next"), callback_data=Card(action="next", ref=ref, offset=offset)
    )
    builder.button(
        text=text(lang, "action_save"), callback_data=Card(action="save", ref=ref, offset=offset)
    )  # answered in routers/saved.py
    builder.button(
        text=text(lang, "action_hide"), callback_data=Card(action="hide", ref=ref, offset=offset)
    )
    builder.button(
        text=text(lang, "action_report"),
        callback_data=Card(action="report", ref=ref, offset=offset),
    )
    builder.adjust(2, 3)
    for link in link_buttons(candidate.links):  # open their GitHub, LinkedIn, site
        builder.row(link)
    builder.attach(_quick_filters(lang, query, shown.event))
    return f"{body}\n\n<i>{why}</i>\n{position}", builder.as_markup()


def _reason(lang: str, reason: Reason) -> str:
    value = escape(reason.value)
    match reason.code:
        case "they_have":
            return text(lang, "why_they_have", tags=value)
        case "they_want":
            return text(lang, "why_they_want", tags=value)
        case "both_hours":
            band = text(lang, "rank_band", band=f"h_{value}")
            return text(lang, "reason_both_hours", band=band)
        case "hours":
            return text(lang, "reason_hours", band=text(lang, "rank_band", band=f"h_{value}"))
        case "time_zone":  # a number, so "0" picks "same time zone"
            hours = float(reason.value)
            return text(lang, "reason_time_zone", hours=int(hours) if hours.is_integer() else hours)
        case "both_remote":
            return text(lang, "reason_both_remote")
        case "same_city":
            return text(lang, "reason_same_city", city=value)
        case "role":
            return text(lang, "reason_role", role=text(lang, "rank_role", role=value))
        case "needs_you":
            return text(lang, "reason_needs_you", role=value)
        case "stage":
            return text(lang, "reason_stage", stage=value)
        case _:
            return text(lang, "reason_language", languages=value)


def _quick_filters(lang: str, query: Query, event: str | None) -> InlineKeyboardBuilder:
    """The quick filters' row (and, in an event, the pool's switch)."""
    filters = query.filters
    row = InlineKeyboardBuilder()
    row.button(
        text=text(lang, "rank_filter_role", role=filters.role or "any"),
        callback_data=Quick(kind="role"),
    )
    row.button(
        # the bands start with a digit, which Fluent's variant keys may not: "h_" before
        text=text(lang, "rank_filter_hours", band=f"h_{filters.hours}" if filters.hours else "any"),
        callback_data=Quick(kind="hours"),
    )
    row.button(
        text=text(lang, "rank_filter_remote", on="yes" if filters.remote else "no"),
        callback_data=Quick(kind="remote"),
    )
    if event is not None:  # the other pool: everyone, or back to my event's
        label = (
            text(lang, "rank_scope_event", event=event)
            if query.everyone
            else text(lang, "rank_scope_everyone")
        )
        row.button(text=label, callback_data=Quick(kind="scope"))
    row.adjust(3, 1)
    return row


def _query(data: dict[str, Any]) -> Query:
    """The search under way, as the dialogue's state keeps it (anything odd: none)."""
    role, hours = data.get("search_role"), data.get("search_hours")
    relaxed = data.get("search_relaxed")
    return Query(
        skill=data.get("search_skill") if isinstance(data.get("search_skill"), str) else None,
        filters=Filters(
            role=role if role in ROLE_FOCUSES else None,
            hours=hours if hours in HOURS_PER_WEEK else None,
            remote=data.get("search_remote") is True,
            relaxed=frozenset({relaxed}) if relaxed in CRITERIA else frozenset(),
        ),
        everyone=data.get("search_everyone") is True,
    )


async def _keep(state: FSMContext, query: Query) -> None:
    relaxed = next(iter(query.filters.relaxed), None)
    await state.update_data(
        search_skill=query.skill,
        search_role=query.filters.role,
        search_hours=query.filters.hours,
        search_remote=query.filters.remote,
        search_relaxed=relaxed,
        search_everyone=query.everyone,
    )


async def _first_page(
    target: Message,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    query: Query,
    *,
    edit: bool,
) -> None:
    """Keep the search in the dialogue (Next goes on from it) and show its first card."""
    await _keep(state, query)
    page = await search_rules.page(database, me, query, 0)
    await _show(target, me, lang, query, page, edit=edit)


def _cycle(value: str | None, values: tuple[str, ...]) -> str | None:
    """The next value: none, the first, ..., the last, none."""
    if value not in values:
        return values[0]
    at = values.index(value)
    return values[at + 1] if at + 1 < len(values) else None


def _empty_text(lang: str, empty: Empty, skill: str | None) -> str:
    if empty.why is Emptiness.FILTERED:
        why = text(lang, "search_empty_filtered", skill=escape(skill or ""))
    elif empty.why is Emptiness.LEFT_OUT:
        why = text(lang, "search_empty_left_out", hidden=empty.hidden, pending=empty.pending)
    else:
        why = text(lang, "search_empty")
    if empty.scoped and empty.event:
        why = f"{why}\n{text(lang, 'rank_in_event', event=escape(empty.event))}"
    if empty.blocker is not None:
        why = f"{why}\n{text(lang, 'rank_blocker', criterion=empty.blocker)}"
    return f"{why}\n{text(lang, 'search_hint', hint=empty.hint.value)}"


def _empty_markup(lang: str, empty: Empty, query: Query) -> InlineKeyboardMarkup | None:
    """The quick filters (and the pool's switch) when any is set, and the offer to relax."""
    builder = InlineKeyboardBuilder()
    if empty.blocker is not None:
        builder.button(text=text(lang, "rank_relax"), callback_data=Relax(criterion=empty.blocker))
        builder.adjust(1)
    filters = query.filters
    if filters.role or filters.hours or filters.remote or empty.event is not None:
        builder.attach(_quick_filters(lang, query, empty.event))
    return builder.as_markup() if builder.buttons else None


async def _show(
    target: Message,
    me: UserRow,
    lang: str,
    query: Query,
    page: Shown | Empty,
    *,
    edit: bool,
) -> None:
    if isinstance(page, Empty):
        body, markup = _empty_text(lang, page, query.skill), _empty_markup(lang, page, query)
    else:
        body, markup = _card(lang, me, page, query)
    relaxed = next(iter(query.filters.relaxed), None)
    if relaxed is not None:
        body = f"{text(lang, 'rank_relaxed', criterion=relaxed)}\n\n{body}"
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
    # registered before the matching fields existed: offered once to complete them, above
    # the results (which still come)
    if await matching_fields.offer_once(database, me):
        await message.answer(text(lang, "pf_offer"), reply_markup=fields_offer_keyboard(lang))
    skill = normalize_tag(command.args) if command.args else None
    if command.args and skill is None:
        await message.answer(text(lang, "skills_refused", text=escape(command.args[:64])))
        return
    query = replace(NEW_SEARCH, skill=skill)
    await _first_page(message, state, database, me, lang, query, edit=False)


@router.callback_query(Quick.filter())
async def quick_filter(
    query: CallbackQuery,
    callback_data: Quick,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    if not me.registered or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return
    search = _query(await state.get_data())
    filters = search.filters
    match callback_data.kind:
        case "role":
            filters = replace(filters, role=_cycle(filters.role, ROLE_FOCUSES))
        case "hours":
            filters = replace(filters, hours=_cycle(filters.hours, HOURS_PER_WEEK))
        case "remote":
            filters = replace(filters, remote=not filters.remote)
        case "scope":
            search = replace(search, everyone=not search.everyone)
    search = replace(search, filters=filters)
    await _first_page(query.message, state, database, me, lang, search, edit=True)
    await query.answer()


@router.callback_query(Relax.filter())
async def relax(
    query: CallbackQuery,
    callback_data: Relax,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    if not me.registered or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return
    search = _query(await state.get_data())
    search = replace(
        search, filters=replace(search.filters, relaxed=frozenset({callback_data.criterion}))
    )
    await _first_page(query.message, state, database, me, lang, search, edit=True)
    await query.answer()


@router.callback_query(Card.filter(F.action == "next"))
async def next_card(
    query: CallbackQuery,
    callback_data: Card,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    if not me.registered or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return
    search = _query(await state.get_data())
    shown = await search_rules.next_card(
        database, me, callback_data.ref, search, callback_data.offset
    )
    if shown is NoCard.STALE:
        await query.answer(text(lang, "stale_button"))
        return
    if shown is NoCard.END:
        # the card stays: an edit into the same card would change nothing on the screen
        await query.answer(text(lang, "search_end", hint=search_rules.hint(me).value))
        return
    body, markup = _card(lang, me, shown, search)
    relaxed = next(iter(search.filters.relaxed), None)
    if relaxed is not None:
        body = f"{text(lang, 'rank_relaxed', criterion=relaxed)}\n\n{body}"
    await query.message.edit_text(body, reply_markup=markup)
    await query.answer()


@router.callback_query(Card.filter(F.action.in_({"hide", "report"})))
async def hide_or_report(
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
    search = _query(await state.get_data())
    ref, offset = callback_data.ref, callback_data.offset
    page: Shown | Empty | None
    if callback_data.action == "hide":
        page = await search_rules.hide(database, me, ref, search, offset)
        answer = text(lang, "hidden")
    else:
        reported = await search_rules.report(database, me, ref, search, offset, settings.admin_ids)
        page = reported.page if reported is not None else None
        if reported is not None and reported.report is not None:
            await notices.send_report(bot, reported.report)
        answer = text(lang, "reported")
    if page is None:  # not one of this person's cards: the same answer as any invalid button
        await query.answer(text(lang, "stale_button"))
        return
    # the one hidden left the list: the next one took its place
    await _show(query.message, me, lang, search, page, edit=True)
    await query.answer(answer)


@router.callback_query(Card.filter(F.action == "connect"))
async def start_invitation(
    query: CallbackQuery,
    callback_data: Card,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
) -> None:
    await offer_invitation(query, callback_data.ref, state, database, me, lang, bot)


async def offer_invitation(
    query: CallbackQuery,
    ref: int,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
) -> None:
    """Ask for a note to the person on my card `ref` (pressed on the card, or in /saved);
    the note, or [Send without a note], sends the invitation."""
    found = await search_rules.target(database, me, ref) if me.registered else None
    if found is None or not isinstance(query.message, Message):
        await query.answer(text(lang, "stale_button"))
        return
    if found.teammate:
        await query.answer(text(lang, "card_teammate"))
        return
    if found.theirs_pending:  # theirs came meanwhile: the answer is mine to give
        await query.answer(text(lang, "invite_theirs_pending"))
        return
    if found.pending:  # sent from this card already
        await query.answer(text(lang, "invite_already_pending"))
        return
    if not found.available:
        await query.answer(text(lang, "invite_gone"))
        return
    await _close_note_question(bot, query.message.chat.id, await state.get_data())
    nonce = secrets.randbelow(2**31)
    prompt = await query.message.answer(
        text(lang, "ask_note", max=invitations.MAX_NOTE),
        reply_markup=InlineKeyboardBuilder()
        .button(text=text(lang, "send_without_note"), callback_data=SendWithoutNote(nonce=nonce))
        .as_markup(),
    )
    await state.set_state(Inviting.note)
    await state.update_data(
        invite_target=found.id, invite_nonce=nonce, invite_prompt=prompt.message_id
    )
    await query.answer()


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
    data = await state.get_data()
    await _leave_note_question(bot, message.chat.id, state, data)
    target = data.get("invite_target")
    if not isinstance(target, int):
        await message.answer(text(lang, "stale_button"))
        return
    await _send_invitation(message, database, me, lang, bot, settings, target, note)


@router.callback_query(SendWithoutNote.filter())
async def sent_without_note(
    query: CallbackQuery,
    callback_data: SendWithoutNote,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    data = await state.get_data()
    target = data.get("invite_target")
    if (
        await state.get_state() != Inviting.note.state
        or data.get("invite_nonce") != callback_data.nonce
        or not isinstance(target, int)
        or not isinstance(query.message, Message)
    ):
        # an earlier question's button: the person is not asking for this now
        await query.answer(text(lang, "note_stale"))
        return
    await _leave_note_question(bot, query.message.chat.id, state, data)
    await _send_invitation(query.message, database, me, lang, bot, settings, target, "")
    await query.answer()


@leave_note.message(Inviting.note, F.text.startswith("/"))
async def command_leaves_the_note(message: Message, state: FSMContext, bot: Bot) -> None:
    """A command while the note is asked for ends that question (its button goes), then
    goes on to its own handler. /cancel ends the dialogue itself and says so."""
    data = await state.get_data()
    if (message.text or "").split(maxsplit=1)[0].split("@")[0] == "/cancel":
        await _close_note_question(bot, message.chat.id, data)
    else:
        await _leave_note_question(bot, message.chat.id, state, data)
    raise SkipHandler


async def _leave_note_question(
    bot: Bot, chat_id: int, state: FSMContext, data: dict[str, Any]
) -> None:
    await _close_note_question(bot, chat_id, data)
    await state.set_state(None)
    await state.set_data({key: value for key, value in data.items() if key not in _NOTE_KEYS})


async def _close_note_question(bot: Bot, chat_id: int, data: dict[str, Any]) -> None:
    """Take [Send without a note] off the question's message, if one is open."""
    prompt = data.get("invite_prompt")
    if not isinstance(prompt, int):
        return
    # deleted by the person, or too old to edit: the nonce keeps its button inert anyway
    with suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=prompt, reply_markup=None)


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
    await notices.deliver(bot, database, result, me)
