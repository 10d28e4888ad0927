"""/start for newcomers: the registration dialogue, one step per message, buttons wherever
the choice is finite. Its state lives in PostgreSQL, so a restart mid-dialogue loses nothing.
`/cancel` leaves it at any step. `/start team_<token>` (a team's join link) sends a join
request; a newcomer registers first and the request goes out when they confirm.
`/start ev_<slug>` (an event's link) offers to join the event; a newcomer registers first
and lands in it when they confirm."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Annotated, Literal, get_args

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
    language_keyboard,
    profile_card,
    tags_line,
)
from teambot.services import accounts, profiles
from teambot.services import events as event_rules
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
    if data["user_type"] == "team" and not data.get("editing"):
        await state.set_state(Registration.team_name)
        await _send(event, state, text(data["lang"], "ask_team_name"))
    else:
        await _ask_confirmation(event, state)


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
    await _ask_confirmation(message, state)


@router.callback_query(Registration.team_description, Step.filter(F.action == "skip"))
async def skipped_team_description(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.update_data(team_description="")
    await _ask_confirmation(query, state)


async def _ask_confirmation(event: Message | CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    draft = profiles.ProfileDraft.model_validate(data)
    await state.set_state(Registration.confirm)
    card = profile_card(lang, **draft.model_dump())
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
    query: CallbackQuery, state: FSMContext, me: UserRow, team: TeamRow | None, field: str
) -> None:
    """/profile → Edit → one field: that step of the dialogue, then the card to save."""
    lang = me.language
    await leave_dialogue(query, state)
    await state.set_data(
        {
            "lang": lang,
            "editing": True,
            "user_type": me.user_type,
            "display_name": me.display_name,
            "skills": me.skills,
            "looking_for": me.looking_for,
            "bio": me.bio,
            "team_name": team.name if team else None,
            "team_description": team.description if team else "",
        }
    )
    if field == "name":
        await state.set_state(Registration.name)
        await _send(query, state, text(lang, "ask_name"), _name_keyboard(query, lang))
    elif field in ("skills", "wants"):
        await state.set_state(Registration.skills if field == "skills" else Registration.wants)
        await _show_tags(query, state, edit=False)
    else:
        await _ask_bio(query, state, lang)


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
