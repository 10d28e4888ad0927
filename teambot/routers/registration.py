"""/start for newcomers: the registration dialogue, one step per message, buttons wherever
the choice is finite. Its state lives in PostgreSQL, so a restart mid-dialogue loses nothing.
`/cancel` leaves it at any step. `/start team_<token>` (a team's join link) sends a join
request; a newcomer registers first and the request goes out when they confirm.
`/start ev_<slug>` (an event's link) offers to join the event; a newcomer registers first
and lands in it when they confirm.

After the bio (a team: its name and description) come the matching fields (issue 12), one
step each, with buttons, each skippable, and "Finish later" to go straight to the card:
commitment, time zone, work mode (and city), role focus (a team: roles needed and size),
stage, languages, links. /profile edits one of them through the same steps (`edit_field`),
and the offer made once to older profiles walks through all of them (`walk`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Annotated, Any, Literal, cast, get_args

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field, ValidationError

from teambot.actors.matcher import Matcher
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.domain import TeamRow, UserRow
from teambot.routers.events import follow_event_link, joined_after_registration
from teambot.routers.long_text import refused_as_too_long
from teambot.routers.teams import follow_join_link
from teambot.routers.views import (
    ROLE_NAMES,
    LanguageChoice,
    hours_label,
    language_keyboard,
    language_name,
    profile_card,
    tags_line,
)
from teambot.services import accounts, profiles
from teambot.services import events as event_rules
from teambot.services import matching_fields as fields
from teambot.services import skills as skill_tags
from teambot.services import teams as team_rules
from teambot.texts import text
from teambot.utils import escape

router = Router(name="registration")


class Registration(StatesGroup):
    language = State()
    role = State()
    name = State()
    skills = State()
    wants = State()
    bio = State()
    team_name = State()
    team_description = State()
    # the matching fields (migration 0010), each skippable
    hours = State()
    available = State()
    time_zone = State()
    work_mode = State()
    city = State()
    focus = State()
    size = State()
    stage = State()
    languages = State()
    links = State()
    confirm = State()


Role = Literal["participant", "cofounder", "team"]
ROLES: tuple[Role, ...] = get_args(Role)


class RoleChoice(CallbackData, prefix="role"):
    role: Role


TagField = Literal["skills", "looking_for"]


class TagToggle(CallbackData, prefix="tag"):
    # the field it belongs to: a second tap on the skills message, handled after the
    # dialogue moved on to "looking for", must not change what the person looks for
    field: TagField
    tag: Annotated[str, Field(min_length=1, max_length=skill_tags.MAX_TAG_LENGTH)]


class Step(CallbackData, prefix="step"):
    action: Literal[
        "keep_name", "skills_done", "looking_for_done", "skip", "confirm", "restart", "discard"
    ]


TAG_FIELD: dict[str | None, TagField] = {
    Registration.skills.state: "skills",
    Registration.wants.state: "looking_for",
}
# The message that shows the current step's buttons: when the step is asked again (a
# refused answer, tags typed instead of tapped) or the dialogue moves on or starts over,
# its buttons go, so no two keyboards of one dialogue can be pressed.
PROMPT = "prompt"
# A typed list of skills is at most this long; a longer text is no list of skills.
MAX_TAGS_TEXT = skill_tags.MAX_SKILLS * (skill_tags.MAX_TAG_LENGTH + 2)
# At most this many refused pieces are quoted back, each shortened to QUOTED characters.
QUOTED_PIECES = 5
QUOTED = 24


def _keyboard(*rows: Sequence[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(*[_button(label, data) for label, data in row])
    return builder.as_markup()


def _button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=label, callback_data=data.pack())


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(team_rules.JOIN_PREFIX)))
async def start_from_join_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    database: Database,
    bot: Bot,
    settings: Settings,
    me: UserRow,
    lang: str,
) -> None:
    token = team_rules.token_from_payload(command.args or "") or ""
    if me.registered:
        await leave_dialogue(message, state)
        await follow_join_link(bot, database, settings, me.id, lang, token)
        return
    target = await team_rules.link_target(database, me.id, token)
    if target.team is None:
        await message.answer(text(lang, "team_link_invalid"))
        await start_registration(message, state, lang)
    else:
        await message.answer(text(lang, "team_join_register", team=escape(target.team.name)))
        # kept with the dialogue's state, so it survives a restart mid-registration too
        await start_registration(message, state, lang, join_token=token)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(event_rules.LINK_PREFIX)))
async def start_from_event_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    slug = event_rules.slug_from_payload(command.args or "") or ""
    target = await event_rules.link_target(database, me.id, slug)
    if me.registered:
        await leave_dialogue(message, state)
        await follow_event_link(message, target, lang)
        return
    if target.event is None or not target.event.open:
        await follow_event_link(message, target, lang)  # says why not
        await start_registration(message, state, lang)
    else:
        await message.answer(text(lang, "event_register", event=escape(target.event.name)))
        # kept with the dialogue's state, so it survives a restart mid-registration too
        await start_registration(message, state, lang, event_slug=slug)


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, me: UserRow, lang: str) -> None:
    if me.registered:
        await leave_dialogue(message, state)
        await message.answer(text(lang, "menu", name=escape(me.display_name)))
        return
    await start_registration(message, state, lang)


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, lang: str) -> None:
    if await state.get_state() is None:
        await message.answer(text(lang, "nothing_to_cancel"))
        return
    await leave_dialogue(message, state)
    await message.answer(text(lang, "cancelled"))


async def start_registration(
    event: Message | CallbackQuery,
    state: FSMContext,
    lang: str,
    *,
    join_token: str | None = None,
    event_slug: str | None = None,
) -> None:
    """The dialogue from its first step (/start, Start over, Edit → Everything)."""
    await leave_dialogue(event, state)
    if join_token is not None:
        await state.update_data(join_token=join_token)
    if event_slug is not None:
        await state.update_data(event_slug=event_slug)
    await state.set_state(Registration.language)
    await _send(event, state, text(lang, "choose_language"), language_keyboard())


@router.callback_query(Registration.language, LanguageChoice.filter())
async def chose_language(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    state: FSMContext,
    database: Database,
) -> None:
    lang = callback_data.code
    await accounts.set_language(database, query.from_user.id, lang)
    await state.update_data(lang=lang)
    await state.set_state(Registration.role)
    await query.answer()
    await _edit_or_send(
        query,
        state,
        text(lang, "choose_role"),
        _keyboard(*[[(text(lang, ROLE_NAMES[role]), RoleChoice(role=role))] for role in ROLES]),
    )


@router.callback_query(Registration.role, RoleChoice.filter())
async def chose_role(query: CallbackQuery, callback_data: RoleChoice, state: FSMContext) -> None:
    data = await state.update_data(user_type=callback_data.role)
    lang = data["lang"]
    await state.set_state(Registration.name)
    await query.answer()
    await _edit_or_send(query, state, text(lang, "ask_name"), _name_keyboard(query, lang))


def _name_keyboard(query: CallbackQuery, lang: str) -> InlineKeyboardMarkup:
    name = query.from_user.full_name[: profiles.MAX_NAME]
    return _keyboard([(text(lang, "keep_name", name=name), Step(action="keep_name"))])


@router.callback_query(Registration.name, Step.filter(F.action == "keep_name"))
async def kept_name(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    name = profiles.clean_name(query.from_user.full_name) or query.from_user.first_name[:64]
    await _after_name(query, state, name)


# A command is never an answer: "/search" typed at "your name?" is the command.
@router.message(Registration.name, F.text, ~F.text.startswith("/"))
async def typed_name(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    name = " ".join((message.text or "").split())
    refusal = text(lang, "name_invalid")
    if await refused_as_too_long(message, state, name, profiles.MAX_NAME, refusal, lang):
        return
    if not name:
        await message.answer(refusal)
        return
    await _after_name(message, state, name)


async def _after_name(event: Message | CallbackQuery, state: FSMContext, name: str) -> None:
    if (await state.get_data()).get("editing"):
        await state.update_data(display_name=name)
        await _ask_confirmation(event, state)
        return
    await state.update_data(display_name=name, skills=[], looking_for=[])
    await state.set_state(Registration.skills)
    await _show_tags(event, state, edit=isinstance(event, CallbackQuery))


async def _show_tags(event: Message | CallbackQuery, state: FSMContext, *, edit: bool) -> None:
    data = await state.get_data()
    lang = data["lang"]
    field = TAG_FIELD[await state.get_state()]
    chosen: list[str] = data.get(field, [])
    prompt = "ask_skills" if field == "skills" else "ask_wants"
    body = text(lang, prompt, max=skill_tags.MAX_SKILLS, chosen=tags_line(lang, chosen))
    builder = InlineKeyboardBuilder()
    for tag in skill_tags.CURATED:
        label = f"✓ {tag}" if tag in chosen else tag
        builder.button(text=label, callback_data=TagToggle(field=field, tag=tag))
    builder.adjust(3)
    # typed tags get a button too, to take them off again (when their data fits Telegram's
    # 64 bytes: up to 24 Cyrillic letters)
    typed = [
        _button(f"✓ {tag}", TagToggle(field=field, tag=tag))
        for tag in chosen
        if tag not in skill_tags.CURATED and _fits(TagToggle(field=field, tag=tag))
    ]
    for first in range(0, len(typed), 3):
        builder.row(*typed[first : first + 3])
    done = Step(action="skills_done" if field == "skills" else "looking_for_done")
    builder.row(_button(text(lang, "done"), done))
    markup = builder.as_markup()
    if edit and isinstance(event, CallbackQuery):
        await _edit_or_send(event, state, body, markup)
    else:
        await _send(event, state, body, markup)


def _fits(data: CallbackData) -> bool:
    try:
        data.pack()
    except ValueError:  # longer than 64 bytes
        return False
    return True


@router.callback_query(Registration.skills, TagToggle.filter(F.field == "skills"))
@router.callback_query(Registration.wants, TagToggle.filter(F.field == "looking_for"))
async def toggled_tag(query: CallbackQuery, callback_data: TagToggle, state: FSMContext) -> None:
    data = await state.get_data()
    field = TAG_FIELD[await state.get_state()]
    chosen: list[str] = list(data.get(field, []))
    tag = callback_data.tag
    if tag in chosen:
        chosen.remove(tag)
    elif tag not in skill_tags.CURATED:  # no button offers it: forged
        await query.answer(text(data["lang"], "stale_button"))
        return
    elif len(chosen) >= skill_tags.MAX_SKILLS:
        await query.answer(text(data["lang"], "skills_full", max=skill_tags.MAX_SKILLS))
        return
    else:
        chosen.append(tag)
    await state.update_data({field: chosen})
    await query.answer()
    await _show_tags(query, state, edit=True)


@router.message(Registration.skills, F.text, ~F.text.startswith("/"))
@router.message(Registration.wants, F.text, ~F.text.startswith("/"))
async def typed_tags(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    field = TAG_FIELD[await state.get_state()]
    raw = message.text or ""
    refusal = text(lang, "tags_text_too_long", max=skill_tags.MAX_SKILLS)
    if await refused_as_too_long(message, state, raw, MAX_TAGS_TEXT, refusal, lang):
        return
    typed = skill_tags.read_tags(raw)
    if not typed.tags and not typed.refused:  # only commas and spaces
        typed = skill_tags.TypedTags([], [(raw.strip(), skill_tags.Refusal.NOT_A_TAG)], [])
    chosen: list[str] = list(data.get(field, []))
    merged = skill_tags.merge(chosen, typed.tags)
    await state.update_data({field: merged.kept})
    notes = _tag_notes(lang, typed, merged)
    if notes:
        await message.answer("\n".join(notes))
    if merged.kept != chosen:  # else the prompt above still shows the list as it is
        await _show_tags(message, state, edit=False)


def _tag_notes(lang: str, typed: skill_tags.TypedTags, merged: skill_tags.Merged) -> list[str]:
    """One line for each way a typed piece was not added: nothing typed vanishes unsaid."""
    not_tags = [piece for piece, why in typed.refused if why is skill_tags.Refusal.NOT_A_TAG]
    too_long = [piece for piece, why in typed.refused if why is skill_tags.Refusal.TOO_LONG]
    repeated = list(dict.fromkeys([*merged.already, *typed.repeated]))
    notes = []
    if not_tags:
        notes.append(text(lang, "tags_not_tags", tags=_quoted(lang, not_tags)))
    if too_long:
        notes.append(
            text(lang, "tags_too_long", tags=_quoted(lang, too_long), max=skill_tags.MAX_TAG_LENGTH)
        )
    if repeated:
        notes.append(text(lang, "tags_repeated", tags=_quoted(lang, repeated)))
    if merged.over_limit:
        notes.append(
            text(
                lang,
                "tags_over_limit",
                tags=_quoted(lang, merged.over_limit),
                max=skill_tags.MAX_SKILLS,
            )
        )
    return notes


def _quoted(lang: str, pieces: list[str]) -> str:
    shown = ", ".join(
        f"«{escape(p if len(p) <= QUOTED else p[: QUOTED - 1] + '…')}»"
        for p in pieces[:QUOTED_PIECES]
    )
    more = len(pieces) - QUOTED_PIECES
    return text(lang, "tags_and_more", tags=shown, more=more) if more > 0 else shown


@router.callback_query(Registration.skills, Step.filter(F.action == "skills_done"))
async def skills_done(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    if (await state.get_data()).get("editing"):
        await _ask_confirmation(query, state)
        return
    await state.set_state(Registration.wants)
    await _show_tags(query, state, edit=False)


@router.callback_query(Registration.wants, Step.filter(F.action == "looking_for_done"))
async def wants_done(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await query.answer()
    if data.get("editing"):
        await _ask_confirmation(query, state)
        return
    await _ask_bio(query, state, data["lang"])


async def _ask_bio(event: Message | CallbackQuery, state: FSMContext, lang: str) -> None:
    await state.set_state(Registration.bio)
    await _send(
        event,
        state,
        text(lang, "ask_bio", max=profiles.MAX_BIO),
        _keyboard([(text(lang, "skip"), Step(action="skip"))]),
    )


@router.message(Registration.bio, F.text, ~F.text.startswith("/"))
async def typed_bio(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    bio = (message.text or "").strip()
    refusal = text(lang, "bio_too_long", length=len(bio), max=profiles.MAX_BIO)
    if await refused_as_too_long(message, state, bio, profiles.MAX_BIO, refusal, lang):
        return
    await _after_bio(message, state, bio)


@router.callback_query(Registration.bio, Step.filter(F.action == "skip"))
async def skipped_bio(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await _after_bio(query, state, "")


async def _after_bio(event: Message | CallbackQuery, state: FSMContext, bio: str) -> None:
    data = await state.update_data(bio=bio)
    if data.get("editing"):
        await _ask_confirmation(event, state)
    elif data["user_type"] == "team":
        await state.set_state(Registration.team_name)
        await _send(event, state, text(data["lang"], "ask_team_name"))
    else:
        await _next_detail(event, state, None)


@router.message(Registration.team_name, F.text, ~F.text.startswith("/"))
async def typed_team_name(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    name = " ".join((message.text or "").split())
    refusal = text(lang, "team_name_invalid")
    if await refused_as_too_long(message, state, name, profiles.MAX_TEAM_NAME, refusal, lang):
        return
    if not name:
        await message.answer(refusal)
        return
    await state.update_data(team_name=name)
    await state.set_state(Registration.team_description)
    await _send(
        message,
        state,
        text(lang, "ask_team_description", max=profiles.MAX_TEAM_DESCRIPTION),
        _keyboard([(text(lang, "skip"), Step(action="skip"))]),
    )


@router.message(Registration.team_description, F.text, ~F.text.startswith("/"))
async def typed_team_description(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    description = (message.text or "").strip()
    limit = profiles.MAX_TEAM_DESCRIPTION
    refusal = text(lang, "bio_too_long", length=len(description), max=limit)
    if await refused_as_too_long(message, state, description, limit, refusal, lang):
        return
    await state.update_data(team_description=description)
    await _next_detail(message, state, None)


@router.callback_query(Registration.team_description, Step.filter(F.action == "skip"))
async def skipped_team_description(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.update_data(team_description="")
    await _next_detail(query, state, None)


async def _ask_confirmation(event: Message | CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    draft = profiles.ProfileDraft.model_validate(data)
    await state.set_state(Registration.confirm)
    card = profile_card(lang, **draft.model_dump())
    await state.update_data(walk=False)  # from here on, an edit comes back to this card
    await _send(
        event,
        state,
        text(lang, "confirm_profile", card=card),
        _keyboard(
            [
                (text(lang, "confirm"), Step(action="confirm")),
                (text(lang, "edit_discard"), Step(action="discard"))
                if data.get("editing")
                else (text(lang, "start_over"), Step(action="restart")),
            ]
        ),
    )


@router.callback_query(Registration.confirm, Step.filter(F.action == "confirm"))
async def confirmed(
    query: CallbackQuery,
    state: FSMContext,
    database: Database,
    matcher: Matcher,
    bot: Bot,
    settings: Settings,
) -> None:
    data = await state.get_data()
    lang = data["lang"]
    try:
        draft = profiles.ProfileDraft.model_validate(data)
    except ValidationError:
        await leave_dialogue(query, state)
        await query.answer(text(lang, "stale_button"))
        return
    if data.get("editing"):
        await profiles.update(database, query.from_user.id, draft)
    else:
        await profiles.register(database, query.from_user.id, draft)
    matcher.profile_changed(query.from_user.id)
    await query.answer()
    await _finish(
        query, state, text(lang, "profile_updated" if data.get("editing") else "registered")
    )
    join_token = data.get("join_token")
    if isinstance(join_token, str):
        await follow_join_link(bot, database, settings, query.from_user.id, lang, join_token)
    event_slug = data.get("event_slug")
    if isinstance(event_slug, str):
        await joined_after_registration(bot, database, query.from_user.id, lang, event_slug)


@router.callback_query(Registration.confirm, Step.filter(F.action == "discard"))
async def discarded(query: CallbackQuery, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    await query.answer()
    await _finish(query, state, text(lang, "delete_kept"))


@router.callback_query(Registration.confirm, Step.filter(F.action == "restart"))
async def restarted(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    await query.answer()
    join_token = data.get("join_token")  # starting over still ends in the request
    event_slug = data.get("event_slug")  # and in the event
    await start_registration(
        query,
        state,
        data["lang"],
        join_token=join_token if isinstance(join_token, str) else None,
        event_slug=event_slug if isinstance(event_slug, str) else None,
    )


async def edit_field(
    query: CallbackQuery,
    state: FSMContext,
    me: UserRow,
    team: TeamRow | None,
    field: str,
    *,
    walk: bool = False,
) -> None:
    """/profile → Edit → one field: that step of the dialogue, then the card to save. With
    `walk`, the matching fields one after another from `field` (completing a profile)."""
    lang = me.language
    await leave_dialogue(query, state)
    await state.set_data(
        {
            "lang": lang,
            "editing": True,
            "walk": walk,
            "user_type": me.user_type,
            "display_name": me.display_name,
            "skills": me.skills,
            "looking_for": me.looking_for,
            "bio": me.bio,
            "team_name": team.name if team else None,
            "team_description": team.description if team else "",
            "hours_per_week": me.hours_per_week,
            "available_from": me.available_from,
            "time_zone": me.time_zone,
            "utc_offset": me.utc_offset,
            "work_mode": me.work_mode,
            "city": me.city,
            "role_focus": me.role_focus,
            "wanted_roles": me.wanted_roles,
            "size_limit": team.size_limit if team else None,
            "stage": me.stage,
            "languages": me.languages,
            "links": me.links,
        }
    )
    if field in DETAILS:
        await _ask_detail(query, state, cast(Detail, field))
    elif field == "name":
        await state.set_state(Registration.name)
        await _send(query, state, text(lang, "ask_name"), _name_keyboard(query, lang))
    elif field in ("skills", "wants"):
        await state.set_state(Registration.skills if field == "skills" else Registration.wants)
        await _show_tags(query, state, edit=False)
    else:
        await _ask_bio(query, state, lang)


# --- the matching fields (issue 12): one step each, with buttons, each skippable

Detail = Literal[
    "hours",
    "available",
    "time_zone",
    "work_mode",
    "city",
    "focus",
    "size",
    "stage",
    "languages",
    "links",
]
DETAILS: tuple[Detail, ...] = get_args(Detail)
DETAIL_STATES: dict[Detail, State] = {
    "hours": Registration.hours,
    "available": Registration.available,
    "time_zone": Registration.time_zone,
    "work_mode": Registration.work_mode,
    "city": Registration.city,
    "focus": Registration.focus,
    "size": Registration.size,
    "stage": Registration.stage,
    "languages": Registration.languages,
    "links": Registration.links,
}
# what each step asks
DETAIL_PROMPTS: dict[Detail, str] = {
    "hours": "pf_ask_hours",
    "available": "pf_ask_from",
    "time_zone": "pf_ask_time_zone",
    "work_mode": "pf_ask_work_mode",
    "city": "pf_ask_city",
    "focus": "pf_ask_focus",
    "size": "pf_ask_size",
    "stage": "pf_ask_stage",
    "languages": "pf_ask_languages",
    "links": "pf_ask_links",
}
# the draft's fields a Skip (or, editing one field, Clear) empties
SKIPPED: dict[Detail, dict[str, Any]] = {
    "hours": {"hours_per_week": None, "available_from": None},
    "available": {"available_from": None},
    "time_zone": {"time_zone": None, "utc_offset": None},
    "work_mode": {"work_mode": None, "city": None},
    "city": {"city": None},
    "focus": {"role_focus": None, "wanted_roles": []},
    "size": {"size_limit": None},
    "stage": {"stage": None},
    "languages": {"languages": []},
    "links": {"links": []},
}
# an edit of one field goes on to the question that belongs with it
FOLLOW_UP: dict[Detail, Detail] = {"hours": "available", "work_mode": "city", "focus": "size"}
PickDetail = Literal["hours", "available", "time_zone", "work_mode", "focus", "size", "stage"]
CHOICES: dict[PickDetail, tuple[str, ...]] = {
    "hours": fields.HOURS_PER_WEEK,
    "available": fields.AVAILABLE_FROM,
    "time_zone": tuple(str(hours) for hours in fields.OFFSET_HOURS),
    "work_mode": fields.WORK_MODES,
    "focus": fields.ROLE_FOCUSES,
    "size": tuple(str(size) for size in fields.SIZE_LIMITS),
    "stage": fields.STAGES,
}
ToggleDetail = Literal["focus", "languages"]  # a team's roles needed; languages spoken
Offset = Literal["-8", "-5", "0", "1", "2", "3", "4", "5", "6", "7", "8", "10"]
Size = Literal["2", "3", "4", "5", "6", "8", "10"]
assert get_args(Offset) == CHOICES["time_zone"] and get_args(Size) == CHOICES["size"]


class Pick(CallbackData, prefix="pf"):
    detail: PickDetail
    # any step's values: the handler checks the value belongs to the step
    value: (
        fields.HoursPerWeek
        | fields.AvailableFrom
        | Offset
        | fields.WorkMode
        | fields.RoleFocus
        | Size
        | fields.Stage
    )


class Toggle(CallbackData, prefix="pft"):
    detail: ToggleDetail
    value: fields.RoleFocus | fields.Language


class DetailStep(CallbackData, prefix="pfs"):
    # the step it belongs to: a Skip pressed on an earlier step's message skips nothing now
    detail: Detail
    action: Literal["skip", "done", "rest", "clear"]


def _pick(detail: PickDetail, value: str) -> Pick:
    return Pick.model_validate({"detail": detail, "value": value})


def _toggle(detail: ToggleDetail, value: str) -> Toggle:
    return Toggle.model_validate({"detail": detail, "value": value})


def _applies(detail: Detail, data: dict[str, Any]) -> bool:
    user_type = data.get("user_type")
    if detail == "available":
        return data.get("hours_per_week") is not None
    if detail == "city":  # where, for on site (also for "either way": on site there)
        return data.get("work_mode") in ("on_site", "either")
    if detail == "size":
        return user_type == "team"
    if detail == "stage":
        return user_type in ("cofounder", "team")
    return True


async def _next_detail(
    event: Message | CallbackQuery, state: FSMContext, after: Detail | None
) -> None:
    """The next matching field that applies, or the card to confirm. An edit of one field
    asks only its follow-up (from when, after the hours), then the card."""
    data = await state.get_data()
    if data.get("editing") and not data.get("walk"):
        follow = FOLLOW_UP.get(after) if after is not None else None
        if follow is not None and _applies(follow, data):
            await _ask_detail(event, state, follow)
        else:
            await _ask_confirmation(event, state)
        return
    start = 0 if after is None else DETAILS.index(after) + 1
    for detail in DETAILS[start:]:
        if _applies(detail, data):
            await _ask_detail(event, state, detail)
            return
    await _ask_confirmation(event, state)


def _marked(label: str, chosen: bool) -> str:
    return f"✓ {label}" if chosen else label


def _detail_keyboard(detail: Detail, data: dict[str, Any]) -> InlineKeyboardMarkup:
    lang = data["lang"]
    team = data.get("user_type") == "team"
    builder = InlineKeyboardBuilder()
    if detail == "hours":
        for value in fields.HOURS_PER_WEEK:
            label = _marked(hours_label(lang, value), data.get("hours_per_week") == value)
            builder.button(text=label, callback_data=_pick("hours", value))
        builder.adjust(2)
    elif detail == "available":
        for value in fields.AVAILABLE_FROM:
            label = _marked(
                text(lang, "pf_from_value", value=value), data.get("available_from") == value
            )
            builder.button(text=label, callback_data=_pick("available", value))
        builder.adjust(3)
    elif detail == "time_zone":
        for hours in fields.OFFSET_HOURS:
            label = f"UTC{hours:+d}"
            chosen = data.get("utc_offset") == hours * 60
            builder.button(
                text=_marked(label, chosen),
                callback_data=_pick("time_zone", str(hours)),
            )
        builder.adjust(4)
    elif detail == "work_mode":
        for value in fields.WORK_MODES:
            label = _marked(
                text(lang, "pf_mode_value", value=value), data.get("work_mode") == value
            )
            builder.button(text=label, callback_data=_pick("work_mode", value))
        builder.adjust(3)
    elif detail == "focus" and team:
        for value in fields.ROLE_FOCUSES:
            label = _marked(
                text(lang, "pf_role_value", value=value), value in data.get("wanted_roles", [])
            )
            builder.button(text=label, callback_data=_toggle("focus", value))
        builder.adjust(2)
    elif detail == "focus":
        for value in fields.ROLE_FOCUSES:
            label = _marked(
                text(lang, "pf_role_value", value=value), data.get("role_focus") == value
            )
            builder.button(text=label, callback_data=_pick("focus", value))
        builder.adjust(2)
    elif detail == "size":
        for size in fields.SIZE_LIMITS:
            label = _marked(str(size), data.get("size_limit") == size)
            builder.button(text=label, callback_data=_pick("size", str(size)))
        builder.adjust(4)
    elif detail == "stage":
        for value in fields.STAGES:
            label = _marked(text(lang, "pf_stage_value", value=value), data.get("stage") == value)
            builder.button(text=label, callback_data=_pick("stage", value))
        builder.adjust(2)
    elif detail == "languages":
        for code in fields.LANGUAGES:
            label = _marked(language_name(code), code in data.get("languages", []))
            builder.button(text=label, callback_data=_toggle("languages", code))
        builder.adjust(3)
    editing_one = data.get("editing") and not data.get("walk")
    closing = []
    if detail in ("focus", "languages", "links") and (detail != "focus" or team):
        closing.append(_button(text(lang, "done"), DetailStep(detail=detail, action="done")))
    if detail == "links" and data.get("links") and not editing_one:  # else Clear does it
        closing.append(
            _button(text(lang, "pf_links_clear"), DetailStep(detail=detail, action="clear"))
        )
    closing.append(
        _button(
            text(lang, "pf_clear" if editing_one else "skip"),
            DetailStep(detail=detail, action="skip"),
        )
    )
    if not editing_one:
        closing.append(
            _button(text(lang, "pf_skip_rest"), DetailStep(detail=detail, action="rest"))
        )
    builder.row(*closing[:2])
    if closing[2:]:
        builder.row(*closing[2:])
    return builder.as_markup()


def _detail_body(detail: Detail, data: dict[str, Any]) -> str:
    lang = data["lang"]
    team = data.get("user_type") == "team"
    if detail == "focus" and team:
        return text(lang, "pf_ask_needs")
    if detail == "links":
        links = data.get("links") or []
        chosen = "\n".join(escape(url) for url in links) if links else text(lang, "nothing_chosen")
        return text(lang, "pf_ask_links", max=fields.MAX_LINKS, chosen=chosen)
    return text(lang, DETAIL_PROMPTS[detail], max=fields.MAX_CITY)


async def _ask_detail(
    event: Message | CallbackQuery, state: FSMContext, detail: Detail, *, edit: bool = False
) -> None:
    await state.set_state(DETAIL_STATES[detail])
    data = await state.get_data()
    if detail == "languages" and not data.get("languages"):  # the bot's language, to start
        data = await state.update_data(languages=[data["lang"]])
    body, markup = _detail_body(detail, data), _detail_keyboard(detail, data)
    if edit and isinstance(event, CallbackQuery):
        await _edit_or_send(event, state, body, markup)
    else:
        await _send(event, state, body, markup)


async def _current_detail(state: FSMContext) -> Detail | None:
    current = await state.get_state()
    return next((d for d, s in DETAIL_STATES.items() if s.state == current), None)


@router.callback_query(Pick.filter())
async def picked(query: CallbackQuery, callback_data: Pick, state: FSMContext, lang: str) -> None:
    detail, value = callback_data.detail, callback_data.value
    # an earlier step's message, a finished dialogue, a value no button offers
    if await _current_detail(state) != detail or value not in CHOICES[detail]:
        await query.answer(text(lang, "stale_button"))
        return
    data = await state.get_data()
    if detail == "focus" and data.get("user_type") == "team":  # a team toggles what it needs
        await query.answer(text(lang, "stale_button"))
        return
    updates: dict[str, dict[str, Any]] = {
        "hours": {"hours_per_week": value},
        "available": {"available_from": value},
        "work_mode": {"work_mode": value} | ({} if value != "remote" else {"city": None}),
        "focus": {"role_focus": value},
        "stage": {"stage": value},
        "size": {"size_limit": int(value) if value.isdigit() else None},
    }
    update = updates.get(detail, {})
    if detail == "time_zone":
        zone = fields.fixed_offset(int(value) * 60)
        update = {"time_zone": zone.name, "utc_offset": zone.offset}
    await state.update_data(update)
    await query.answer()
    await _next_detail(query, state, detail)


@router.callback_query(Toggle.filter())
async def toggled(
    query: CallbackQuery, callback_data: Toggle, state: FSMContext, lang: str
) -> None:
    detail, value = callback_data.detail, callback_data.value
    data = await state.get_data()
    key, vocabulary = (
        ("wanted_roles", fields.ROLE_FOCUSES)
        if detail == "focus"
        else ("languages", fields.LANGUAGES)
    )
    if (
        await _current_detail(state) != detail
        or value not in vocabulary
        or (detail == "focus" and data.get("user_type") != "team")
    ):
        await query.answer(text(lang, "stale_button"))
        return
    chosen: list[str] = list(data.get(key) or [])
    chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    await state.update_data({key: [v for v in vocabulary if v in chosen]})
    await query.answer()
    await _ask_detail(query, state, detail, edit=True)


@router.callback_query(DetailStep.filter())
async def detail_step(
    query: CallbackQuery, callback_data: DetailStep, state: FSMContext, lang: str
) -> None:
    detail, action = callback_data.detail, callback_data.action
    data = await state.get_data()
    if await _current_detail(state) != detail or (
        action == "rest" and data.get("editing") and not data.get("walk")
    ):
        await query.answer(text(lang, "stale_button"))
        return
    await query.answer()
    if action == "clear":
        await state.update_data(links=[])
        await _ask_detail(query, state, detail, edit=True)
        return
    if action == "skip":
        await state.update_data(SKIPPED[detail])
    if action == "rest":
        await _ask_confirmation(query, state)
        return
    await _next_detail(query, state, detail)


@router.message(Registration.time_zone, F.text, ~F.text.startswith("/"))
async def typed_time_zone(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    typed = message.text or ""
    zone = fields.read_time_zone(typed)
    if zone is None:
        shown = typed.strip()[:40]
        await message.answer(text(lang, "pf_time_zone_unknown", typed=escape(shown)))
        return
    await state.update_data(time_zone=zone.name, utc_offset=zone.offset)
    await _next_detail(message, state, "time_zone")


@router.message(Registration.city, F.text, ~F.text.startswith("/"))
async def typed_city(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    city = " ".join((message.text or "").split())
    refusal = text(lang, "pf_city_invalid", max=fields.MAX_CITY)
    if await refused_as_too_long(message, state, city, fields.MAX_CITY, refusal, lang):
        return
    if not city:
        await message.answer(refusal)
        return
    await state.update_data(city=city)
    await _next_detail(message, state, "city")


@router.message(Registration.links, F.text, ~F.text.startswith("/"))
async def typed_links(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    typed = fields.add_links(list(data.get("links") or []), message.text or "")
    await state.update_data(links=typed.kept)
    notes = _link_notes(lang, typed)
    if notes:
        await message.answer("\n".join(notes))
    if typed.kept != data.get("links"):
        await _ask_detail(message, state, "links")


LINK_REFUSALS: dict[fields.LinkRefusal, str] = {
    fields.LinkRefusal.NOT_A_LINK: "pf_link_not_a_link",
    fields.LinkRefusal.UNSAFE: "pf_link_unsafe",
    fields.LinkRefusal.TOO_LONG: "pf_link_too_long",
}


def _link_notes(lang: str, typed: fields.TypedLinks) -> list[str]:
    """One line for each link not added, quoting what was typed, so it can be fixed."""
    notes = [
        text(lang, LINK_REFUSALS[why], link=_quoted(lang, [piece]), max=fields.MAX_LINK)
        for piece, why in typed.refused[:QUOTED_PIECES]
    ]
    if typed.repeated:
        notes.append(text(lang, "pf_link_repeated", links=_quoted(lang, typed.repeated)))
    if typed.over_limit:
        notes.append(
            text(
                lang,
                "pf_links_over_limit",
                links=_quoted(lang, typed.over_limit),
                max=fields.MAX_LINKS,
            )
        )
    return notes


# --- the step's one live keyboard


def _bot(event: Message | CallbackQuery) -> Bot:
    if event.bot is None:  # aiogram binds every update it parses to its bot
        raise RuntimeError("an update without its bot")
    return event.bot


def _chat_id(event: Message | CallbackQuery) -> int:
    # private chats only (routers/context.py): a person's chat is their id
    return event.chat.id if isinstance(event, Message) else event.from_user.id


async def _retire_prompt(
    event: Message | CallbackQuery, state: FSMContext, keep: int | None = None
) -> None:
    """Take the buttons off the dialogue's previous prompt (unless it is `keep`)."""
    prompt = (await state.get_data()).get(PROMPT)
    if isinstance(prompt, int) and prompt != keep:
        # gone: the person deleted it, or it is too old to edit; its buttons went with it
        # or answer "no longer active" (the state has moved on)
        with suppress(TelegramBadRequest):
            await _bot(event).edit_message_reply_markup(
                chat_id=_chat_id(event), message_id=prompt, reply_markup=None
            )


def _pressed(event: Message | CallbackQuery) -> Message | None:
    return (
        event.message
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message)
        else None
    )


async def leave_dialogue(event: Message | CallbackQuery, state: FSMContext) -> None:
    """Ends the dialogue, its last prompt's buttons with it."""
    pressed = _pressed(event)
    await _retire_prompt(event, state, keep=pressed.message_id if pressed else None)
    await state.clear()


async def _send(
    event: Message | CallbackQuery,
    state: FSMContext,
    body: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """The next step as a new message; the pressed message and the previous prompt lose
    their buttons, so no button of a finished or repeated step stays on screen."""
    pressed = _pressed(event)
    if pressed is not None and pressed.reply_markup is not None:
        await pressed.edit_reply_markup(reply_markup=None)
    await _retire_prompt(event, state, keep=pressed.message_id if pressed else None)
    sent = await _bot(event).send_message(_chat_id(event), body, reply_markup=markup)
    await state.update_data({PROMPT: sent.message_id if markup is not None else None})


async def _edit_or_send(
    query: CallbackQuery, state: FSMContext, body: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the message whose button was pressed, so old buttons cannot be pressed again."""
    pressed = _pressed(query)
    if pressed is None:
        await _send(query, state, body, markup)
        return
    await _retire_prompt(query, state, keep=pressed.message_id)
    await pressed.edit_text(body, reply_markup=markup)
    await state.update_data({PROMPT: pressed.message_id if markup is not None else None})


async def _finish(query: CallbackQuery, state: FSMContext, body: str) -> None:
    """The dialogue's end: the pressed prompt becomes the outcome, without buttons."""
    await leave_dialogue(query, state)
    pressed = _pressed(query)
    if pressed is not None:
        await pressed.edit_text(body, reply_markup=None)
    else:
        await _bot(query).send_message(query.from_user.id, body)
