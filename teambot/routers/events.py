"""Events: `/event new` (admins) asks for a name, the dates and an optional team size limit,
and answers with the event's link; `/events` lists them for admins (with End and "Suggest
teams for everyone left") and, for everyone else, the events they are in. Opening a link
(the registration router's /start calls `follow_event_link`) joins with one tap. Auto-fill's
proposals are answered here too (Accept / Decline)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from loguru import logger
from pydantic import Field

from teambot import notices
from teambot.adapters.database import Database
from teambot.domain import EventRow, UserRow
from teambot.routers import context
from teambot.routers.admin import IsAdmin
from teambot.routers.views import DatabaseKey, ProposalAnswer
from teambot.services import events
from teambot.services.events import Refusal
from teambot.texts import text
from teambot.utils import escape

router = Router(name="events")
log = logger.bind(actor="events")

SIZES = (2, 3, 4, 5, 6)  # the team size limits offered as buttons; others can be typed


class EventNew(StatesGroup):
    name = State()
    starts = State()
    ends = State()
    size = State()


class DateChoice(CallbackData, prefix="evd"):
    step: Literal["starts", "ends"]
    days: Annotated[int, Field(ge=0, le=7)]  # after today (starts) or after the start (ends)


class SizeChoice(CallbackData, prefix="evs"):
    size: Annotated[int, Field(ge=0, le=events.MAX_TEAM_SIZE)]  # 0: no limit


class EventAction(CallbackData, prefix="eva"):
    action: Literal["end", "fill", "join"]
    id: DatabaseKey


_NOT_A_COMMAND = F.text & ~F.text.startswith("/")


def _day(lang: str, day: date) -> str:
    return day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat()


def _dates(lang: str, event: EventRow) -> str:
    if event.starts_on == event.ends_on:
        return _day(lang, event.starts_on)
    return f"{_day(lang, event.starts_on)} – {_day(lang, event.ends_on)}"


def link(bot_username: str, event: EventRow) -> str:
    return f"https://t.me/{bot_username}?start={events.LINK_PREFIX}{event.slug}"


def _keyboard(*rows: list[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data.pack()) for label, data in row]
            for row in rows
        ]
    )


# --- /event new: name, dates, team size


@router.message(Command("event", magic=F.args.lower() == "new"), IsAdmin())
async def new_event(message: Message, state: FSMContext, lang: str) -> None:
    await state.clear()
    await state.set_state(EventNew.name)
    await message.answer(text(lang, "event_ask_name", max=events.MAX_NAME))


@router.message(EventNew.name, _NOT_A_COMMAND, IsAdmin())
async def typed_name(message: Message, state: FSMContext, lang: str) -> None:
    name = events.clean_name(message.text or "")
    if name is None:
        await message.answer(text(lang, "event_name_invalid", max=events.MAX_NAME))
        return
    await state.update_data(event_name=name)
    await state.set_state(EventNew.starts)
    await message.answer(
        text(lang, "event_ask_starts"),
        reply_markup=_keyboard(
            [
                (text(lang, "event_today"), DateChoice(step="starts", days=0)),
                (text(lang, "event_tomorrow"), DateChoice(step="starts", days=1)),
            ]
        ),
    )


@router.message(EventNew.starts, _NOT_A_COMMAND, IsAdmin())
@router.message(EventNew.ends, _NOT_A_COMMAND, IsAdmin())
async def typed_date(message: Message, state: FSMContext, lang: str) -> None:
    day = events.parse_date(message.text or "")
    if day is None:
        await message.answer(text(lang, "event_date_invalid"))
        return
    await _dated(message, state, lang, day)


@router.callback_query(EventNew.starts, DateChoice.filter(F.step == "starts"), IsAdmin())
@router.callback_query(EventNew.ends, DateChoice.filter(F.step == "ends"), IsAdmin())
async def chose_date(
    query: CallbackQuery, callback_data: DateChoice, state: FSMContext, lang: str
) -> None:
    data = await state.get_data()
    start = date.fromisoformat(data["starts_on"]) if callback_data.step == "ends" else None
    day = (start or date.today()) + timedelta(days=callback_data.days)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _dated(query.message, state, lang, day)


async def _dated(message: Message, state: FSMContext, lang: str, day: date) -> None:
    if await state.get_state() == EventNew.starts.state:
        await state.update_data(starts_on=day.isoformat())
        await state.set_state(EventNew.ends)
        await message.answer(
            text(lang, "event_ask_ends", starts=_day(lang, day)),
            reply_markup=_keyboard(
                [
                    (text(lang, "event_same_day"), DateChoice(step="ends", days=0)),
                    (text(lang, "event_week_later"), DateChoice(step="ends", days=7)),
                ]
            ),
        )
        return
    starts = date.fromisoformat((await state.get_data())["starts_on"])
    if day < starts:
        await message.answer(text(lang, "event_ends_before_start", starts=_day(lang, starts)))
        return
    if day < date.today():
        await message.answer(text(lang, "event_ends_in_past"))
        return
    await state.update_data(ends_on=day.isoformat())
    await state.set_state(EventNew.size)
    builder = InlineKeyboardBuilder()
    for size in SIZES:
        builder.button(text=str(size), callback_data=SizeChoice(size=size))
    builder.button(text=text(lang, "event_no_limit"), callback_data=SizeChoice(size=0))
    builder.adjust(len(SIZES), 1)
    await message.answer(
        text(lang, "event_ask_size", max=events.MAX_TEAM_SIZE), reply_markup=builder.as_markup()
    )


@router.message(EventNew.size, _NOT_A_COMMAND, IsAdmin())
async def typed_size(
    message: Message,
    state: FSMContext,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
    bot_username: str | None = None,
) -> None:
    raw = (message.text or "").strip()
    size = int(raw) if raw.isdigit() and len(raw) <= 3 else -1
    if not events.MIN_TEAM_SIZE <= size <= events.MAX_TEAM_SIZE:
        await message.answer(text(lang, "event_size_invalid", max=events.MAX_TEAM_SIZE))
        return
    await _create(message, state, database, bot, bot_username, me, lang, size)


@router.callback_query(EventNew.size, SizeChoice.filter(), IsAdmin())
async def chose_size(
    query: CallbackQuery,
    callback_data: SizeChoice,
    state: FSMContext,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
    bot_username: str | None = None,
) -> None:
    if callback_data.size == 1:  # no button offers it: forged
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        size = callback_data.size or None
        await _create(query.message, state, database, bot, bot_username, me, lang, size)


async def _create(
    message: Message,
    state: FSMContext,
    database: Database,
    bot: Bot,
    bot_username: str | None,
    me: UserRow,
    lang: str,
    size: int | None,
) -> None:
    data = await state.get_data()
    event = await events.create(
        database,
        me.id,
        name=data["event_name"],
        starts_on=date.fromisoformat(data["starts_on"]),
        ends_on=date.fromisoformat(data["ends_on"]),
        team_size_limit=size,
    )
    await state.clear()
    log.info("admin {} created event {} ({})", me.id, event.id, event.slug)
    await message.answer(
        text(
            lang,
            "event_created",
            event=escape(event.name),
            dates=_dates(lang, event),
            size=_size(lang, event),
            link=escape(link(await context.bot_username(bot, bot_username), event)),
        )
    )


def _size(lang: str, event: EventRow) -> str:
    if event.team_size_limit is None:
        return text(lang, "event_size_none")
    return text(lang, "event_size_limit", size=event.team_size_limit)


# --- /events: organizers see every event, people their own


def _card(lang: str, event: EventRow, username: str) -> str:
    lines = [f"<b>{escape(event.name)}</b> · {_dates(lang, event)}"]
    lines.append(text(lang, "event_card_people", count=event.members) + " · " + _size(lang, event))
    if event.open:
        lines.append(escape(link(username, event)))
    else:
        lines.append(text(lang, "event_card_ended"))
    return "\n".join(lines)


def _card_markup(lang: str, event: EventRow) -> InlineKeyboardMarkup | None:
    if not event.open:
        return None
    return _keyboard(
        [(text(lang, "action_event_fill"), EventAction(action="fill", id=event.id))],
        [(text(lang, "action_event_end"), EventAction(action="end", id=event.id))],
    )


@router.message(Command("event", "events"), IsAdmin())
async def list_events(
    message: Message,
    state: FSMContext,
    database: Database,
    bot: Bot,
    lang: str,
    bot_username: str | None = None,
) -> None:
    if (await state.get_state() or "").startswith(f"{EventNew.__name__}:"):
        await state.clear()  # /events abandons a half-done /event new
    listed = await events.listing(database)
    if not listed:
        await message.answer(text(lang, "event_none_yet"))
        return
    username = await context.bot_username(bot, bot_username)
    for event in reversed(listed):  # the newest last, nearest the keyboard
        await message.answer(_card(lang, event, username), reply_markup=_card_markup(lang, event))


@router.message(Command("event", "events"))
async def my_events(message: Message, database: Database, me: UserRow, lang: str) -> None:
    if not me.registered:
        await message.answer(text(lang, "register_first"))
        return
    mine = await events.mine(database, me.id)
    if not mine:
        await message.answer(text(lang, "event_mine_none"))
        return
    lines = [
        f"• <b>{escape(event.name)}</b> · {_dates(lang, event)}"
        + ("" if event.open else f" · {text(lang, 'event_card_ended')}")
        for event in mine
    ]
    await message.answer(text(lang, "event_mine", events="\n".join(lines)))


@router.callback_query(EventAction.filter(F.action == "end"), IsAdmin())
async def end_event(
    query: CallbackQuery,
    callback_data: EventAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
    bot_username: str | None = None,
) -> None:
    ended = await events.end(database, callback_data.id)
    if ended is Refusal.ALREADY:
        await query.answer(text(lang, "event_already_ended"))
        return
    if isinstance(ended, Refusal):
        await query.answer(text(lang, "stale_button"))
        return
    log.info("admin {} ended event {}", me.id, ended.id)
    await query.answer(text(lang, "event_ended_done", event=ended.name))
    if isinstance(query.message, Message):
        username = await context.bot_username(bot, bot_username)
        await query.message.edit_text(_card(lang, ended, username), reply_markup=None)


@router.callback_query(EventAction.filter(F.action == "fill"), IsAdmin())
async def fill_event(
    query: CallbackQuery,
    callback_data: EventAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    result = await events.autofill(database, me.id, callback_data.id)
    if isinstance(result, Refusal):
        key = {
            Refusal.ENDED: "event_ended_short",
            Refusal.NOBODY: "event_fill_nobody",
        }.get(result, "stale_button")
        await query.answer(text(lang, key), show_alert=result is Refusal.NOBODY)
        return
    log.info("admin {} proposed {} groups in event {}", me.id, len(result.groups), result.event.id)
    await query.answer()
    report = await bot.send_message(
        me.id, notices.autofill_report(lang, result.event, result.counts)
    )
    shown = await notices.propose(bot, result, me)
    await events.remember_messages(database, result.run, report.message_id, shown)


# --- the link, and the Join button


async def follow_event_link(message: Message, target: events.LinkTarget, lang: str) -> None:
    """Someone opened t.me/<bot>?start=ev_<slug>: a registered person joins with one tap;
    an ended or unknown event is said so."""
    event = target.event
    if event is None:
        await message.answer(text(lang, "event_link_unknown"))
    elif not event.open:
        await message.answer(text(lang, "event_link_ended", event=escape(event.name)))
    elif target.member:
        await message.answer(text(lang, "event_already_in", event=escape(event.name)))
    else:
        await message.answer(
            text(lang, "event_invite", event=escape(event.name), dates=_dates(lang, event)),
            reply_markup=_keyboard(
                [
                    (
                        text(lang, "action_event_join", event=event.name[:40]),
                        EventAction(action="join", id=event.id),
                    )
                ]
            ),
        )


async def joined_after_registration(
    bot: Bot, database: Database, user_id: int, lang: str, slug: str
) -> None:
    """A newcomer registered from an event's link: they land in it."""
    joined = await events.join_by_slug(database, user_id, slug)
    if isinstance(joined, EventRow):
        await bot.send_message(user_id, text(lang, "event_joined", event=escape(joined.name)))
    elif joined is Refusal.ENDED:  # ended while they registered
        await bot.send_message(user_id, text(lang, "event_ended_short"))


@router.callback_query(EventAction.filter(F.action == "join"))
async def join_event(
    query: CallbackQuery, callback_data: EventAction, database: Database, me: UserRow, lang: str
) -> None:
    if not me.registered:
        await query.answer(text(lang, "register_first"))
        return
    joined = await events.join(database, me.id, callback_data.id)
    if joined is Refusal.ALREADY or joined is Refusal.ENDED:
        await query.answer(
            text(
                lang, "event_already_in_short" if joined is Refusal.ALREADY else "event_ended_short"
            )
        )
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    if isinstance(joined, Refusal):
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            text(lang, "event_joined", event=escape(joined.name)), reply_markup=None
        )


# --- auto-fill's proposals: Accept / Decline


PROPOSAL_REFUSALS = {
    Refusal.ALREADY: "event_proposal_answered",
    Refusal.DECIDED: "event_proposal_closed",
    Refusal.EXPIRED: "event_proposal_expired",
    Refusal.ENDED: "event_ended_short",
}


@router.callback_query(ProposalAnswer.filter())
async def answer_proposal(
    query: CallbackQuery,
    callback_data: ProposalAnswer,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    accept = callback_data.action == "accept"
    answered = await events.answer(database, me.id, callback_data.id, accept=accept)
    if isinstance(answered, Refusal):
        log.info(
            "proposal button {!r} from user {} refused: {}",
            (query.data or "")[:64],
            me.id,
            answered.name,
        )
        if answered not in PROPOSAL_REFUSALS:
            await query.answer(text(lang, "stale_button"))
            return
        await query.answer(text(lang, PROPOSAL_REFUSALS[answered]))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await query.answer()
    if isinstance(query.message, Message):
        body = notices.proposal_text(lang, answered.event, answered.number, answered.members)
        if answered.status == "pending":
            line = text(lang, "event_proposal_waiting")
        else:
            line = notices.proposal_outcome(lang, answered, answered.actor)
        await query.message.edit_text(f"{body}\n\n{line}", reply_markup=None)
    await notices.proposal_decided(bot, answered)
    await notices.autofill_progress(bot, answered)
