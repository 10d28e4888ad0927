"""/start for newcomers: the registration dialogue, one step per message, buttons wherever
the choice is finite. Its state lives in PostgreSQL, so a restart mid-dialogue loses nothing.
`/cancel` leaves it at any step. `/start team_<token>` (a team's join link) sends a join
request; a newcomer registers first and the request goes out when they confirm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import ValidationError

from teambot.actors.matcher import Matcher
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.data import users
from teambot.data.teams import TeamRow
from teambot.data.users import UserRow
from teambot.routers.teams import follow_join_link
from teambot.routers.views import (
    ROLE_NAMES,
    LanguageChoice,
    language_keyboard,
    profile_card,
    tags_line,
)
from teambot.services import profiles
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


class RoleChoice(CallbackData, prefix="role"):
    role: str


class TagToggle(CallbackData, prefix="tag"):
    # the field it belongs to: a second tap on the skills message, handled after the
    # dialogue moved on to "looking for", must not change what the person looks for
    field: str  # skills, looking_for
    tag: str


class Step(CallbackData, prefix="step"):
    action: str  # keep_name, skills_done, looking_for_done, skip, confirm, restart, discard


ROLES = ("participant", "cofounder", "team")
TAG_FIELD = {Registration.skills.state: "skills", Registration.wants.state: "looking_for"}


def _keyboard(*rows: Sequence[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(*[_button(label, data) for label, data in row])
    return builder.as_markup()


def _button(label: str, data: CallbackData) -> Any:
    from aiogram.types import InlineKeyboardButton

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
    await state.clear()
    if me.registered:
        await follow_join_link(bot, database, settings, me.id, lang, token)
        return
    target = await team_rules.link_target(database, me.id, token)
    if target.team is None:
        await message.answer(text(lang, "team_link_invalid"))
    else:
        # kept with the dialogue's state, so it survives a restart mid-registration too
        await state.update_data(join_token=token)
        await message.answer(text(lang, "team_join_register", team=escape(target.team.name)))
    await state.set_state(Registration.language)
    await message.answer(text(lang, "choose_language"), reply_markup=language_keyboard())


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, me: UserRow, lang: str) -> None:
    if me.registered:
        await state.clear()
        await message.answer(text(lang, "menu", name=escape(me.display_name)))
        return
    await state.clear()
    await state.set_state(Registration.language)
    await message.answer(text(lang, "choose_language"), reply_markup=language_keyboard())


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, lang: str) -> None:
    if await state.get_state() is None:
        await message.answer(text(lang, "nothing_to_cancel"))
        return
    await state.clear()
    await message.answer(text(lang, "cancelled"))


@router.callback_query(Registration.language, LanguageChoice.filter())
async def chose_language(
    query: CallbackQuery,
    callback_data: LanguageChoice,
    state: FSMContext,
    database: Database,
) -> None:
    lang = callback_data.code if callback_data.code in ("en", "ru") else "en"
    await database.run(users.set_language, query.from_user.id, lang)
    await state.update_data(lang=lang)
    await state.set_state(Registration.role)
    await query.answer()
    await _edit_or_send(
        query,
        text(lang, "choose_role"),
        _keyboard(*[[(text(lang, ROLE_NAMES[role]), RoleChoice(role=role))] for role in ROLES]),
    )


@router.callback_query(Registration.role, RoleChoice.filter(F.role.in_(ROLES)))
async def chose_role(query: CallbackQuery, callback_data: RoleChoice, state: FSMContext) -> None:
    data = await state.update_data(user_type=callback_data.role)
    lang = data["lang"]
    await state.set_state(Registration.name)
    await query.answer()
    name = query.from_user.full_name[: profiles.MAX_NAME]
    await _edit_or_send(
        query,
        text(lang, "ask_name"),
        _keyboard([(text(lang, "keep_name", name=name), Step(action="keep_name"))]),
    )


@router.callback_query(Registration.name, Step.filter(F.action == "keep_name"))
async def kept_name(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    name = profiles.clean_name(query.from_user.full_name) or query.from_user.first_name[:64]
    await _after_name(query, state, name)


@router.message(Registration.name, F.text)
async def typed_name(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    name = profiles.clean_name(message.text or "")
    if name is None:
        await message.answer(text(lang, "name_invalid"))
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
    current = await state.get_state()
    field = TAG_FIELD[current or ""]
    chosen: list[str] = data.get(field, [])
    prompt = "ask_skills" if field == "skills" else "ask_wants"
    body = text(lang, prompt, max=skill_tags.MAX_SKILLS, chosen=tags_line(lang, chosen))
    builder = InlineKeyboardBuilder()
    for tag in skill_tags.CURATED:
        label = f"✓ {tag}" if tag in chosen else tag
        builder.button(text=label, callback_data=TagToggle(field=field, tag=tag))
    builder.adjust(3)
    builder.row(_button(text(lang, "done"), Step(action=f"{field}_done")))
    markup = builder.as_markup()
    if edit and isinstance(event, CallbackQuery):
        await _edit_or_send(event, body, markup)
    else:
        await _send(event, body, markup)


@router.callback_query(Registration.skills, TagToggle.filter(F.field == "skills"))
@router.callback_query(Registration.wants, TagToggle.filter(F.field == "looking_for"))
async def toggled_tag(query: CallbackQuery, callback_data: TagToggle, state: FSMContext) -> None:
    data = await state.get_data()
    field = TAG_FIELD[await state.get_state() or ""]
    chosen: list[str] = list(data.get(field, []))
    tag = skill_tags.normalize_tag(callback_data.tag)
    if tag is None:
        await query.answer(text(data["lang"], "stale_button"))
        return
    if tag in chosen:
        chosen.remove(tag)
    elif len(chosen) >= skill_tags.MAX_SKILLS:
        await query.answer(text(data["lang"], "skills_full", max=skill_tags.MAX_SKILLS))
        return
    else:
        chosen.append(tag)
    await state.update_data({field: chosen})
    await query.answer()
    await _show_tags(query, state, edit=True)


@router.message(Registration.skills, F.text)
@router.message(Registration.wants, F.text)
async def typed_tags(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    field = TAG_FIELD[await state.get_state() or ""]
    tags = skill_tags.parse_tags(message.text or "")
    if not tags:
        await message.answer(text(lang, "skills_refused", text=escape((message.text or "")[:64])))
        return
    kept, refused = skill_tags.merge(list(data.get(field, [])), tags)
    await state.update_data({field: kept})
    if refused:
        await message.answer(text(lang, "skills_full", max=skill_tags.MAX_SKILLS))
    await _show_tags(message, state, edit=False)


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
    lang = data["lang"]
    await query.answer()
    if data.get("editing"):
        await _ask_confirmation(query, state)
        return
    await state.set_state(Registration.bio)
    await _send(
        query,
        text(lang, "ask_bio", max=profiles.MAX_BIO),
        _keyboard([(text(lang, "skip"), Step(action="skip"))]),
    )


@router.message(Registration.bio, F.text)
async def typed_bio(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    bio = (message.text or "").strip()
    if len(bio) > profiles.MAX_BIO:
        await message.answer(text(lang, "bio_too_long", length=len(bio), max=profiles.MAX_BIO))
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
        await _send(event, text(data["lang"], "ask_team_name"))
    else:
        await _ask_confirmation(event, state)


@router.message(Registration.team_name, F.text)
async def typed_team_name(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    name = " ".join((message.text or "").split())
    if not 1 <= len(name) <= profiles.MAX_TEAM_NAME:
        await message.answer(text(lang, "team_name_invalid"))
        return
    await state.update_data(team_name=name)
    await state.set_state(Registration.team_description)
    await message.answer(
        text(lang, "ask_team_description", max=profiles.MAX_TEAM_DESCRIPTION),
        reply_markup=_keyboard([(text(lang, "skip"), Step(action="skip"))]),
    )


@router.message(Registration.team_description, F.text)
async def typed_team_description(message: Message, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    description = (message.text or "").strip()
    if len(description) > profiles.MAX_TEAM_DESCRIPTION:
        await message.answer(
            text(lang, "bio_too_long", length=len(description), max=profiles.MAX_TEAM_DESCRIPTION)
        )
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
        await state.clear()
        await query.answer(text(lang, "stale_button"))
        return
    if data.get("editing"):
        await profiles.update(database, query.from_user.id, draft)
    else:
        await profiles.register(database, query.from_user.id, draft)
    matcher.profile_changed(query.from_user.id)
    await state.clear()
    await query.answer()
    await _edit_or_send(
        query, text(lang, "profile_updated" if data.get("editing") else "registered"), None
    )
    join_token = data.get("join_token")
    if isinstance(join_token, str):
        await follow_join_link(bot, database, settings, query.from_user.id, lang, join_token)


@router.callback_query(Registration.confirm, Step.filter(F.action == "discard"))
async def discarded(query: CallbackQuery, state: FSMContext) -> None:
    lang = (await state.get_data())["lang"]
    await state.clear()
    await query.answer()
    await _edit_or_send(query, text(lang, "delete_kept"), None)


async def edit_field(
    query: CallbackQuery, state: FSMContext, me: UserRow, team: TeamRow | None, field: str
) -> None:
    """/profile → Edit → one field: that step of the dialogue, then the card to save."""
    lang = me.language
    await state.clear()
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
        name = query.from_user.full_name[: profiles.MAX_NAME]
        await _send(
            query,
            text(lang, "ask_name"),
            _keyboard([(text(lang, "keep_name", name=name), Step(action="keep_name"))]),
        )
    elif field in ("skills", "wants"):
        await state.set_state(Registration.skills if field == "skills" else Registration.wants)
        await _show_tags(query, state, edit=False)
    else:
        await state.set_state(Registration.bio)
        await _send(
            query,
            text(lang, "ask_bio", max=profiles.MAX_BIO),
            _keyboard([(text(lang, "skip"), Step(action="skip"))]),
        )


@router.callback_query(Registration.confirm, Step.filter(F.action == "restart"))
async def restarted(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    lang = data["lang"]
    await query.answer()
    await state.clear()
    if isinstance(data.get("join_token"), str):  # starting over still ends in the request
        await state.update_data(join_token=data["join_token"])
    await state.set_state(Registration.language)
    await _send(query, text(lang, "choose_language"), language_keyboard())


async def _send(
    event: Message | CallbackQuery, body: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The next step as a new message; the pressed message loses its buttons, so no
    button of a finished step stays on screen."""
    message = event.message if isinstance(event, CallbackQuery) else event
    if isinstance(message, Message):
        if isinstance(event, CallbackQuery) and message.reply_markup is not None:
            await message.edit_reply_markup(reply_markup=None)
        await message.answer(body, reply_markup=markup)


async def _edit_or_send(
    query: CallbackQuery, body: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Replace the message whose button was pressed, so old buttons cannot be pressed again."""
    if isinstance(query.message, Message):
        await query.message.edit_text(body, reply_markup=markup)
    else:
        await query.bot.send_message(query.from_user.id, body, reply_markup=markup)  # type: ignore[union-attr]
