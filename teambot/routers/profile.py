"""/profile: the card, editing (the registration dialogue again), pause and resume
searching, and deleting the account with a confirmation."""

from __future__ import annotations

from typing import Literal, get_args

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot import notices
from teambot.actors.matcher import Matcher
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.domain import Profile, UserRow
from teambot.routers.context import Registered
from teambot.routers.registration import edit_field, leave_dialogue, start_registration
from teambot.routers.views import FieldsOffer, link_buttons, user_card
from teambot.services import accounts, broadcasts, profiles
from teambot.services import matching_fields as fields
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
    builder.button(text=text(lang, "action_preferences"), callback_data=Prefs(screen="all"))
    if me.is_searching:
        builder.button(text=text(lang, "action_pause"), callback_data=ProfileAction(action="pause"))
    else:
        builder.button(
            text=text(lang, "action_resume"), callback_data=ProfileAction(action="resume")
        )
    announcements = "action_announcements_off" if me.announcements else "action_announcements_on"
    builder.button(
        text=text(lang, announcements),
        callback_data=Announcements(turn="off" if me.announcements else "on"),
    )
    # the one that cannot be taken back goes last, on a row of its own
    builder.button(text=text(lang, "action_delete"), callback_data=ProfileAction(action="delete"))
    builder.adjust(2, 2, 1)
    for link in link_buttons(me.links):  # what others see under my card
        builder.row(link)
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


Field = Literal[
    "name",
    "skills",
    "wants",
    "bio",
    "hours",
    "time_zone",
    "work_mode",
    "focus",
    "stage",
    "languages",
    "links",
]
FIELDS: tuple[Field, ...] = get_args(Field)
FIELD_NAMES: dict[Field, str] = {
    "name": "edit_name",
    "skills": "edit_skills",
    "wants": "edit_wants",
    "bio": "edit_bio",
    "hours": "pf_edit_hours",
    "time_zone": "pf_edit_time_zone",
    "work_mode": "pf_edit_work_mode",
    "focus": "pf_edit_focus",
    "stage": "pf_edit_stage",
    "languages": "pf_edit_languages",
    "links": "pf_edit_links",
}


class EditField(CallbackData, prefix="pedit"):
    field: Field | Literal["all"]


@router.callback_query(ProfileAction.filter(F.action == "edit"))
async def edit(query: CallbackQuery, database: Database, me: UserRow, lang: str) -> None:
    """The card's buttons become the fields to edit, and Back."""
    builder = InlineKeyboardBuilder()
    for field in FIELDS:
        if field == "stage" and me.user_type == "participant":  # a stage is a project's
            continue
        label = "pf_edit_needs" if field == "focus" and me.user_type == "team" else None
        builder.button(
            text=text(lang, label or FIELD_NAMES[field]), callback_data=EditField(field=field)
        )
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


# --- the once-made offer to complete the matching fields (sent by /search)


@router.callback_query(FieldsOffer.filter(F.action == "complete"))
async def complete_fields(
    query: CallbackQuery, state: FSMContext, database: Database, me: UserRow
) -> None:
    """The matching fields one after another, then the card to save."""
    await query.answer()
    profile = await profiles.profile(database, me)
    await edit_field(query, state, me, profile.team, "hours", walk=True)


@router.callback_query(FieldsOffer.filter(F.action == "later"))
async def fields_later(query: CallbackQuery, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text(lang, "pf_offer_later_answer"), reply_markup=None)


# --- preferences: how much each matching field matters to me in others

Screen = Literal["all", "commitment", "time_zone", "work_mode", "role", "stage", "language"]
LevelName = Literal["dont_care", "nice", "must"]
LEVELS: tuple[LevelName, ...] = get_args(LevelName)  # by value: 0, 1, 2


class Prefs(CallbackData, prefix="pref"):
    screen: Screen  # all: the list of preferences; else one of them


class PrefLevel(CallbackData, prefix="prefl"):
    pref: fields.Preference
    level: LevelName


class PrefHours(CallbackData, prefix="prefh"):
    hours: fields.TimeZoneHours


class PrefWanted(CallbackData, prefix="prefw"):
    kind: Literal["role", "stage"]
    value: fields.RoleFocus | fields.Stage  # the handler checks it is one of `kind`'s


def _level_name(me: UserRow, pref: fields.Preference) -> str:
    return LEVELS[fields.level(me, pref)]


def _prefs_list(lang: str, me: UserRow) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    for pref in fields.PREFERENCES:
        name = text(lang, "pf_pref_name", pref=pref)
        level = text(lang, "pf_level_value", value=_level_name(me, pref))
        builder.button(text=f"{name} · {level}", callback_data=Prefs(screen=pref))
    builder.button(text=text(lang, "edit_back"), callback_data=ProfileAction(action="card"))
    builder.adjust(1)
    return text(lang, "pf_prefs_intro"), builder.as_markup()


def _pref_screen(
    lang: str, me: UserRow, pref: fields.Preference
) -> tuple[str, InlineKeyboardMarkup]:
    current = _level_name(me, pref)
    body = text(
        lang,
        "pf_pref_detail",
        pref=text(lang, "pf_pref_name", pref=pref),
        level=text(lang, "pf_level_value", value=current),
    )
    builder = InlineKeyboardBuilder()
    row = [
        _marked_button(
            text(lang, "pf_level_value", value=level),
            level == current,
            PrefLevel(pref=pref, level=level),
        )
        for level in reversed(LEVELS)  # must-have first
    ]
    builder.row(*row)
    if pref == "time_zone":
        body += "\n" + text(lang, "pf_pref_time_zone_hours", hours=me.time_zone_hours)
        if me.time_zone is None:  # nothing to measure from yet
            body += "\n" + text(lang, "pf_pref_time_zone_unset")
        builder.row(
            *[
                _marked_button(
                    text(lang, "pf_hours_within", hours=hours),
                    me.time_zone_hours == int(hours),
                    PrefHours(hours=hours),
                )
                for hours in get_args(fields.TimeZoneHours)
            ]
        )
    elif pref in ("role", "stage"):
        kind: Literal["role", "stage"] = "role" if pref == "role" else "stage"
        chosen = me.wanted_roles if kind == "role" else me.wanted_stages
        vocabulary = fields.ROLE_FOCUSES if kind == "role" else fields.STAGES
        value_id = "pf_role_value" if kind == "role" else "pf_stage_value"
        names = ", ".join(text(lang, value_id, value=v) for v in chosen) or text(
            lang, "nothing_chosen"
        )
        body += "\n" + text(
            lang, "pf_pref_roles" if kind == "role" else "pf_pref_stages", chosen=names
        )
        buttons = [
            _marked_button(
                text(lang, value_id, value=value),
                value in chosen,
                PrefWanted.model_validate({"kind": kind, "value": value}),
            )
            for value in vocabulary
        ]
        for first in range(0, len(buttons), 2):
            builder.row(*buttons[first : first + 2])
    else:
        body += "\n" + text(lang, "pf_pref_same")
    builder.row(
        InlineKeyboardButton(text=text(lang, "edit_back"), callback_data=Prefs(screen="all").pack())
    )
    return body, builder.as_markup()


def _marked_button(label: str, chosen: bool, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=f"✓ {label}" if chosen else label, callback_data=data.pack())


async def _show_prefs(query: CallbackQuery, lang: str, me: UserRow, screen: Screen) -> None:
    body, markup = _prefs_list(lang, me) if screen == "all" else _pref_screen(lang, me, screen)
    await _replace(query, body, markup)


@router.callback_query(Prefs.filter())
async def preferences(query: CallbackQuery, callback_data: Prefs, me: UserRow, lang: str) -> None:
    await query.answer()
    await _show_prefs(query, lang, me, callback_data.screen)


@router.callback_query(PrefLevel.filter())
async def preference_level(
    query: CallbackQuery,
    callback_data: PrefLevel,
    database: Database,
    matcher: Matcher,
    me: UserRow,
    lang: str,
) -> None:
    fresh = await fields.set_level(
        database, me.id, callback_data.pref, LEVELS.index(callback_data.level)
    )
    await _preference_saved(query, matcher, fresh or me, lang, callback_data.pref)


@router.callback_query(PrefHours.filter())
async def preference_hours(
    query: CallbackQuery,
    callback_data: PrefHours,
    database: Database,
    matcher: Matcher,
    me: UserRow,
    lang: str,
) -> None:
    fresh = await fields.set_time_zone_hours(database, me.id, int(callback_data.hours))
    await _preference_saved(query, matcher, fresh or me, lang, "time_zone")


@router.callback_query(PrefWanted.filter())
async def preference_wanted(
    query: CallbackQuery,
    callback_data: PrefWanted,
    database: Database,
    matcher: Matcher,
    me: UserRow,
    lang: str,
) -> None:
    vocabulary = fields.ROLE_FOCUSES if callback_data.kind == "role" else fields.STAGES
    if callback_data.value not in vocabulary:  # a stage under roles: no button says that
        await query.answer(text(lang, "stale_button"))
        return
    fresh = await fields.toggle_wanted(database, me, callback_data.kind, callback_data.value)
    await _preference_saved(query, matcher, fresh or me, lang, callback_data.kind)


async def _preference_saved(
    query: CallbackQuery, matcher: Matcher, me: UserRow, lang: str, pref: fields.Preference
) -> None:
    matcher.profile_changed(me.id)  # whom the digest finds for me changed
    await query.answer()
    await _show_prefs(query, lang, me, pref)
