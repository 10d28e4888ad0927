"""/profile: the card, editing (the registration dialogue again), pause and resume
searching, and deleting the account with a confirmation."""

from __future__ import annotations

from typing import Literal, get_args

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot import notices
from teambot.actors.matcher import Matcher
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.domain import Profile, UserRow
from teambot.routers.context import Registered
from teambot.routers.registration import edit_field, leave_dialogue, start_registration
from teambot.routers.views import user_card
from teambot.services import accounts, broadcasts, profiles
from teambot.texts import text
from teambot.utils import escape

router = Router(name="profile")
# a button of a deleted (or never finished) profile falls through to the fallback's
# "no longer active"
router.callback_query.filter(Registered())


class ProfileAction(CallbackData, prefix="prof"):
    # card: back from the fields to edit to the card's own buttons
    action: Literal["edit", "card", "pause", "resume", "delete", "delete_yes", "delete_no"]


def _markup(lang: str, me: UserRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text(lang, "action_edit"), callback_data=ProfileAction(action="edit"))
    if me.is_searching:
        builder.button(text=text(lang, "action_pause"), callback_data=ProfileAction(action="pause"))
    else:
        builder.button(
            text=text(lang, "action_resume"), callback_data=ProfileAction(action="resume")
        )
    builder.button(text=text(lang, "action_delete"), callback_data=ProfileAction(action="delete"))
    announcements = "action_announcements_off" if me.announcements else "action_announcements_on"
    builder.button(
        text=text(lang, announcements),
        callback_data=Announcements(turn="off" if me.announcements else "on"),
    )
    builder.adjust(2, 1, 1)
    return builder.as_markup()


def _card(lang: str, profile: Profile) -> str:
    status = text(lang, "searching_on" if profile.user.is_searching else "searching_off")
    announcements = text(
        lang, "announcements_on" if profile.user.announcements else "announcements_off"
    )
    return f"{user_card(lang, profile)}\n\n{status}\n{announcements}"


@router.message(Command("profile"))
async def show(message: Message, database: Database, me: UserRow, lang: str) -> None:
    if not me.registered:
        await message.answer(text(lang, "register_first"))
        return
    profile = await profiles.profile(database, me)
    await message.answer(_card(lang, profile), reply_markup=_markup(lang, me))


@router.callback_query(F.data == "resume")
@router.callback_query(ProfileAction.filter(F.action.in_({"pause", "resume"})))
async def toggle_searching(
    query: CallbackQuery, database: Database, matcher: Matcher, me: UserRow, lang: str
) -> None:
    searching = query.data == "resume" or ProfileAction.unpack(query.data or "").action == "resume"
    fresh = await accounts.set_searching(database, me.id, searching)
    if searching:
        matcher.profile_changed(me.id)
    await query.answer(text(lang, "resumed" if searching else "paused"))
    if fresh is not None:
        await _replace(query, _card(lang, fresh), _markup(lang, fresh.user))


class Announcements(CallbackData, prefix="announce"):
    turn: Literal["on", "off"]


@router.callback_query(Announcements.filter())
async def toggle_announcements(
    query: CallbackQuery, callback_data: Announcements, database: Database, me: UserRow, lang: str
) -> None:
    """The organizers' broadcasts (routers/broadcast.py) skip people who turned them off."""
    on = callback_data.turn == "on"
    fresh = await broadcasts.set_announcements(database, me.id, on)
    await query.answer(text(lang, "announcements_turned_on" if on else "announcements_turned_off"))
    if fresh is not None:
        profile = await profiles.profile(database, fresh)
        await _replace(query, _card(lang, profile), _markup(lang, fresh))


async def _replace(query: CallbackQuery, body: str, markup: InlineKeyboardMarkup | None) -> None:
    """The pressed message becomes `body`: one card, one live keyboard (Edit, Delete and
    their answers happen in place, however often they are pressed)."""
    if isinstance(query.message, Message):
        await query.message.edit_text(body, reply_markup=markup)
    elif query.bot is not None:  # too old to edit, or deleted
        await query.bot.send_message(query.from_user.id, body, reply_markup=markup)


Field = Literal["name", "skills", "wants", "bio"]
FIELDS: tuple[Field, ...] = get_args(Field)
FIELD_NAMES: dict[Field, str] = {
    "name": "edit_name",
    "skills": "edit_skills",
    "wants": "edit_wants",
    "bio": "edit_bio",
}


class EditField(CallbackData, prefix="pedit"):
    field: Field | Literal["all"]


@router.callback_query(ProfileAction.filter(F.action == "edit"))
async def edit(query: CallbackQuery, database: Database, me: UserRow, lang: str) -> None:
    """The card's buttons become the fields to edit, and Back."""
    builder = InlineKeyboardBuilder()
    for field in FIELDS:
        builder.button(text=text(lang, FIELD_NAMES[field]), callback_data=EditField(field=field))
    profile = await profiles.profile(database, me)
    # starting over may change the role, which a team's owner or member cannot do here
    if not profile.in_team:
        builder.button(text=text(lang, "edit_all"), callback_data=EditField(field="all"))
    builder.button(text=text(lang, "edit_back"), callback_data=ProfileAction(action="card"))
    builder.adjust(2)
    await query.answer(text(lang, "edit_which"))
    await _replace(query, _card(lang, profile), builder.as_markup())


@router.callback_query(ProfileAction.filter(F.action.in_({"card", "delete_no"})))
async def back_to_card(
    query: CallbackQuery, callback_data: ProfileAction, database: Database, me: UserRow, lang: str
) -> None:
    profile = await profiles.profile(database, me)
    await query.answer(text(lang, "delete_kept") if callback_data.action == "delete_no" else None)
    await _replace(query, _card(lang, profile), _markup(lang, me))


@router.callback_query(EditField.filter(F.field.in_(FIELDS)))
async def edit_one(
    query: CallbackQuery,
    callback_data: EditField,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    await query.answer()
    profile = await profiles.profile(database, me)
    await edit_field(query, state, me, profile.team, callback_data.field)


@router.callback_query(EditField.filter(F.field == "all"))
async def edit_all(
    query: CallbackQuery, state: FSMContext, database: Database, me: UserRow, lang: str
) -> None:
    if (await profiles.profile(database, me)).in_team:
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer()
    await start_registration(query, state, lang)


@router.callback_query(ProfileAction.filter(F.action == "delete"))
async def ask_delete(
    query: CallbackQuery, database: Database, me: UserRow, lang: str, settings: Settings
) -> None:
    """The card asks, in place: No brings the card back."""
    builder = InlineKeyboardBuilder()
    builder.button(text=text(lang, "delete_yes"), callback_data=ProfileAction(action="delete_yes"))
    builder.button(text=text(lang, "delete_no"), callback_data=ProfileAction(action="delete_no"))
    await query.answer()
    body = text(lang, "delete_confirm", days=settings.deleted_user_retention_days)
    team = (await profiles.profile(database, me)).team
    if team is not None:
        body += "\n" + text(lang, "delete_confirm_team", team=escape(team.name))
    await _replace(query, body, builder.as_markup())


@router.callback_query(ProfileAction.filter(F.action == "delete_yes"))
async def delete(
    query: CallbackQuery, state: FSMContext, database: Database, bot: Bot, me: UserRow, lang: str
) -> None:
    departure = await accounts.delete(database, me.id)
    await leave_dialogue(query, state)  # a half-done edit, its buttons with it
    await query.answer()
    await _replace(query, text(lang, "deleted"), None)
    if departure is not None:
        await notices.announce_departure(bot, departure, me)
