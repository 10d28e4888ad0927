"""/team: the team card; the owner's editing, members, ownership, join link and deletion;
leaving; join requests any member can answer; and following a join link (the /start
handler in the registration router calls `follow_join_link`).

Every button carries the team's id and is checked again by the service when pressed, so a
button from an old card, a team that is gone, or a forged press gets a short answer (and a
log line), never an action. Confirmed actions replace their message, so the buttons of a
finished step cannot be pressed again."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from loguru import logger
from pydantic import Field

from teambot import notices
from teambot.actors.matcher import Matcher
from teambot.adapters.database import Database
from teambot.config import Settings
from teambot.domain import LiveMessage, UserRow
from teambot.routers import context
from teambot.routers.invitations import INVITE_REFUSALS
from teambot.routers.views import DatabaseKey, tags_line
from teambot.services import profiles, teams
from teambot.services import skills as skill_tags
from teambot.services.teams import Departure, Refusal, TeamView
from teambot.texts import text
from teambot.utils import escape

router = Router(name="teams")
log = logger.bind(actor="teams")


TeamVerb = Literal[
    "name", "desc", "roles", "link", "revoke", "remove", "transfer", "rm_pick", "tr_pick",
    "rm_yes", "tr_yes", "delete", "del_yes", "leave", "leave_yes", "no",
]  # fmt: skip


class TeamAction(CallbackData, prefix="tm"):
    action: TeamVerb
    team: DatabaseKey
    # the member picked (remove, transfer); 0 when none
    user: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0


class RequestAnswer(CallbackData, prefix="tmr"):
    action: Literal["accept", "decline"]
    team: DatabaseKey
    id: DatabaseKey  # the invitation (kind 'request')


class TeamEdit(StatesGroup):
    name = State()
    description = State()
    roles = State()


EDITS = {"name": TeamEdit.name, "desc": TeamEdit.description, "roles": TeamEdit.roles}
PICKERS: dict[str, TeamVerb] = {"remove": "rm_pick", "transfer": "tr_pick"}
CONFIRMS: dict[str, TeamVerb] = {"rm_pick": "rm_yes", "tr_pick": "tr_yes"}
# refusals a normal chat can run into (an old card, the other side acted first); the rest
# only come from forged or very old buttons. Someone outside a team gets the same answer as
# for a team that is gone, so a forged press tells nothing about other people's teams.
REFUSALS = {
    Refusal.GONE: "team_gone",
    Refusal.NOT_MEMBER: "team_gone",
    Refusal.NOT_OWNER: "team_not_owner",
    Refusal.MEMBER_GONE: "team_member_gone",
    Refusal.SELF: "team_self",
    Refusal.OWNER_CANNOT_LEAVE: "team_owner_cannot_leave",
    Refusal.REQUEST_GONE: "invitation_stale",
    Refusal.LINK_INVALID: "team_link_invalid",
    Refusal.NO_LINK: "team_link_none",
    Refusal.ALREADY_IN_TEAM: "team_join_already",
}
EXPECTED = {Refusal.GONE, Refusal.MEMBER_GONE, Refusal.REQUEST_GONE, Refusal.NO_LINK}


# --- how a team looks


def _name(user: UserRow) -> str:
    return escape(user.display_name or user.first_name)


def card(lang: str, view: TeamView) -> str:
    team = view.team
    lines = [f"<b>{escape(team.name)}</b>"]
    if team.description:
        lines.append(escape(team.description))
    lines.append("")
    lines.append(f"{text(lang, 'card_wants')}: {tags_line(lang, team.roles_needed)}")
    lines.append(text(lang, "team_card_members", count=len(view.members)) + ":")
    for member in view.members:
        owner = f" — {text(lang, 'team_card_owner')}" if member.id == team.owner_id else ""
        lines.append(f"• {_name(member)}{owner}")
    if team.join_token:
        lines.append("")
        lines.append(text(lang, "team_card_link_on"))
    if view.requests:
        lines.append("")
        lines.append(text(lang, "team_card_requests", count=len(view.requests)))
    return "\n".join(lines)


def _card_markup(lang: str, view: TeamView, user_id: int) -> InlineKeyboardMarkup:
    team_id = view.team.id
    builder = InlineKeyboardBuilder()

    def button(key: str, action: TeamVerb) -> None:
        builder.button(text=text(lang, key), callback_data=TeamAction(action=action, team=team_id))

    if view.owned_by(user_id):
        button("action_team_name", "name")
        button("action_team_description", "desc")
        button("action_team_roles", "roles")
        button("action_team_link", "link")
        button("action_team_remove", "remove")
        button("action_team_transfer", "transfer")
        button("action_team_delete", "delete")
        builder.adjust(3, 1, 2, 1)
    else:
        button("action_team_leave", "leave")
    return builder.as_markup()


def _request_text(lang: str, request: teams.JoinRequest) -> str:
    body = text(lang, "team_request", name=_name(request.person))
    if request.invitation.note:
        body += "\n\n«" + escape(request.invitation.note) + "»"
    return body


def _request_markup(lang: str, team_id: int, invitation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_accept"),
        callback_data=RequestAnswer(action="accept", team=team_id, id=invitation_id),
    )
    builder.button(
        text=text(lang, "action_decline"),
        callback_data=RequestAnswer(action="decline", team=team_id, id=invitation_id),
    )
    return builder.as_markup()


def _confirm_markup(lang: str, yes: TeamAction, team_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text(lang, "action_team_yes"), callback_data=yes)
    builder.button(
        text=text(lang, "action_team_no"), callback_data=TeamAction(action="no", team=team_id)
    )
    return builder.as_markup()


async def _show_card(
    target: Message, bot: Bot, database: Database, lang: str, view: TeamView, user_id: int
) -> None:
    await target.answer(card(lang, view), reply_markup=_card_markup(lang, view, user_id))
    listed: list[LiveMessage] = []
    for request in view.requests:
        body = _request_text(lang, request)
        sent = await target.answer(
            body, reply_markup=_request_markup(lang, view.team.id, request.invitation.id)
        )
        listed += notices.shown(request.invitation.id, sent, body, lang)
    await notices.record(bot, database, listed)


# --- answering a button


async def _refuse(query: CallbackQuery, lang: str, refusal: Refusal) -> None:
    log.info(
        "team button {!r} from user {} refused: {}",
        (query.data or "")[:64],
        query.from_user.id,
        refusal.name,
    )
    await query.answer(text(lang, REFUSALS[refusal]), show_alert=refusal not in EXPECTED)


async def _replace(query: CallbackQuery, body: str, markup: InlineKeyboardMarkup | None) -> None:
    """The pressed message becomes the next step (or the result), so its buttons are gone."""
    if isinstance(query.message, Message):
        await query.message.edit_text(body, reply_markup=markup)
    elif query.bot is not None:
        await query.bot.send_message(query.from_user.id, body, reply_markup=markup)


async def _send(query: CallbackQuery, body: str, markup: InlineKeyboardMarkup | None) -> None:
    """A new message under the card, which keeps its buttons."""
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, body, reply_markup=markup)


# --- /team


@router.message(Command("team"))
async def show_team(
    message: Message, state: FSMContext, database: Database, bot: Bot, me: UserRow, lang: str
) -> None:
    if (await state.get_state() or "").startswith(f"{TeamEdit.__name__}:"):
        await state.set_state(None)  # /team again abandons a half-done edit
    if not me.registered:
        await message.answer(text(lang, "register_first"))
        return
    view = await teams.team_of(database, me.id)
    if view is None:
        await message.answer(text(lang, "team_none"))
        return
    await _show_card(message, bot, database, lang, view, me.id)


# --- the owner's edits: name, description, roles


@router.callback_query(TeamAction.filter(F.action.in_(EDITS.keys())))
async def start_edit(
    query: CallbackQuery,
    callback_data: TeamAction,
    state: FSMContext,
    database: Database,
    me: UserRow,
    lang: str,
) -> None:
    view = await teams.managed(database, me.id, callback_data.team)
    if isinstance(view, Refusal):
        await _refuse(query, lang, view)
        return
    await state.set_state(EDITS[callback_data.action])
    await state.update_data(team_id=view.team.id)
    await query.answer()
    prompt = {
        "name": text(lang, "team_ask_name", max=profiles.MAX_TEAM_NAME),
        "desc": text(lang, "team_ask_description", max=profiles.MAX_TEAM_DESCRIPTION),
        "roles": text(lang, "team_ask_roles", max=skill_tags.MAX_SKILLS),
    }[callback_data.action]
    await _send(query, prompt, None)


_NOT_A_COMMAND = F.text & ~F.text.startswith("/")


@router.message(TeamEdit.name, _NOT_A_COMMAND)
@router.message(TeamEdit.description, _NOT_A_COMMAND)
@router.message(TeamEdit.roles, _NOT_A_COMMAND)
async def typed_edit(
    message: Message,
    state: FSMContext,
    database: Database,
    matcher: Matcher,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    current = await state.get_state()
    team_id = (await state.get_data()).get("team_id")
    raw = message.text or ""
    if not isinstance(team_id, int):
        await state.set_state(None)
        await message.answer(text(lang, "stale_button"))
        return
    result: TeamView | Refusal
    if current == TeamEdit.name.state:
        if teams.clean_name(raw) is None:
            await message.answer(text(lang, "team_name_invalid"))
            return
        result = await teams.rename(database, me.id, team_id, raw)
    elif current == TeamEdit.description.state:
        if teams.clean_description(raw) is None:
            length, limit = len(raw.strip()), profiles.MAX_TEAM_DESCRIPTION
            await message.answer(text(lang, "bio_too_long", length=length, max=limit))
            return
        result = await teams.describe(database, me.id, team_id, raw)
    else:
        if teams.clean_roles(raw) is None:
            await message.answer(text(lang, "team_roles_invalid", max=skill_tags.MAX_SKILLS))
            return
        result = await teams.set_roles(database, me.id, team_id, raw)
        if isinstance(result, TeamView):
            # the team's card now wants other people
            matcher.profile_changed(result.team.owner_id)
    await state.set_state(None)
    if isinstance(result, Refusal):
        await message.answer(text(lang, REFUSALS[result]))
        return
    await message.answer(text(lang, "team_saved"))
    await _show_card(message, bot, database, lang, result, me.id)


# --- removing a member and handing the team over: pick a member, confirm, act


@router.callback_query(TeamAction.filter(F.action.in_(PICKERS.keys())))
async def pick_member(
    query: CallbackQuery, callback_data: TeamAction, database: Database, me: UserRow, lang: str
) -> None:
    view = await teams.managed(database, me.id, callback_data.team)
    if isinstance(view, Refusal):
        await _refuse(query, lang, view)
        return
    others = view.others()
    if not others:
        await query.answer(text(lang, "team_no_others"), show_alert=True)
        return
    pick = PICKERS[callback_data.action]
    builder = InlineKeyboardBuilder()
    for member in others:
        builder.button(
            text=(member.display_name or member.first_name)[:64],
            callback_data=TeamAction(action=pick, team=view.team.id, user=member.id),
        )
    builder.button(
        text=text(lang, "action_team_no"), callback_data=TeamAction(action="no", team=view.team.id)
    )
    builder.adjust(1)
    key = "team_pick_remove" if callback_data.action == "remove" else "team_pick_transfer"
    await query.answer()
    await _send(query, text(lang, key, team=escape(view.team.name)), builder.as_markup())


@router.callback_query(TeamAction.filter(F.action.in_(CONFIRMS.keys())))
async def confirm_member_action(
    query: CallbackQuery, callback_data: TeamAction, database: Database, me: UserRow, lang: str
) -> None:
    picked = await teams.member_for_action(database, me.id, callback_data.team, callback_data.user)
    if isinstance(picked, Refusal):
        await _refuse(query, lang, picked)
        return
    team, member = picked
    key = "team_confirm_remove" if callback_data.action == "rm_pick" else "team_confirm_transfer"
    yes = TeamAction(action=CONFIRMS[callback_data.action], team=team.id, user=member.id)
    await query.answer()
    await _replace(
        query,
        text(lang, key, name=_name(member), team=escape(team.name)),
        _confirm_markup(lang, yes, team.id),
    )


@router.callback_query(TeamAction.filter(F.action == "rm_yes"))
async def remove_member(
    query: CallbackQuery,
    callback_data: TeamAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    result = await teams.remove_member(database, me.id, callback_data.team, callback_data.user)
    if isinstance(result, Refusal):
        await _refuse(query, lang, result)
        return
    assert result.person is not None
    team_name, removed = escape(result.team.name), result.person
    await query.answer()
    await _replace(query, text(lang, "team_removed", name=_name(removed), team=team_name), None)
    await notices.removed(bot, result)


@router.callback_query(TeamAction.filter(F.action == "tr_yes"))
async def transfer(
    query: CallbackQuery,
    callback_data: TeamAction,
    database: Database,
    matcher: Matcher,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    result = await teams.transfer(database, me.id, callback_data.team, callback_data.user)
    if isinstance(result, Refusal):
        await _refuse(query, lang, result)
        return
    assert result.person is not None
    team_name, owner = escape(result.team.name), result.person
    matcher.profile_changed(owner.id)  # a new card in search: the team's
    await query.answer()
    await _replace(query, text(lang, "team_transferred", name=_name(owner), team=team_name), None)
    await notices.transferred(bot, database, result, me.id)


# --- deleting the team and leaving it: confirm, act


@router.callback_query(TeamAction.filter(F.action == "delete"))
async def ask_delete(
    query: CallbackQuery, callback_data: TeamAction, database: Database, me: UserRow, lang: str
) -> None:
    view = await teams.managed(database, me.id, callback_data.team)
    if isinstance(view, Refusal):
        await _refuse(query, lang, view)
        return
    await query.answer()
    yes = TeamAction(action="del_yes", team=view.team.id)
    await _send(
        query,
        text(lang, "team_confirm_delete", team=escape(view.team.name)),
        _confirm_markup(lang, yes, view.team.id),
    )


@router.callback_query(TeamAction.filter(F.action == "del_yes"))
async def delete(
    query: CallbackQuery,
    callback_data: TeamAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    result = await teams.delete(database, me.id, callback_data.team)
    if isinstance(result, Refusal):
        await _refuse(query, lang, result)
        return
    await query.answer()
    await _replace(query, text(lang, "team_deleted", team=escape(result.team.name)), None)
    await notices.announce_departure(
        bot, Departure(result.team, True, result.told, result.messages), me
    )


@router.callback_query(TeamAction.filter(F.action == "leave"))
async def ask_leave(
    query: CallbackQuery, callback_data: TeamAction, database: Database, me: UserRow, lang: str
) -> None:
    team = await teams.check_leave(database, me.id, callback_data.team)
    if isinstance(team, Refusal):
        await _refuse(query, lang, team)
        return
    await query.answer()
    yes = TeamAction(action="leave_yes", team=team.id)
    await _send(
        query,
        text(lang, "team_confirm_leave", team=escape(team.name)),
        _confirm_markup(lang, yes, team.id),
    )


@router.callback_query(TeamAction.filter(F.action == "leave_yes"))
async def leave(
    query: CallbackQuery,
    callback_data: TeamAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    result = await teams.leave(database, me.id, callback_data.team)
    if isinstance(result, Refusal):
        await _refuse(query, lang, result)
        return
    await query.answer()
    await _replace(query, text(lang, "team_left", team=escape(result.team.name)), None)
    await notices.announce_departure(bot, Departure(result.team, False, result.told), me)


@router.callback_query(TeamAction.filter(F.action == "no"))
async def kept(query: CallbackQuery, lang: str) -> None:
    # changes nothing, so it needs no permission: it only closes the pressed message
    await query.answer()
    await _replace(query, text(lang, "team_kept"), None)


# --- the join link


def _link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={teams.JOIN_PREFIX}{token}"


@router.callback_query(TeamAction.filter(F.action == "link"))
async def show_link(
    query: CallbackQuery,
    callback_data: TeamAction,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
    bot_username: str | None = None,
) -> None:
    team = await teams.join_link(database, me.id, callback_data.team)
    if isinstance(team, Refusal):
        await _refuse(query, lang, team)
        return
    assert team.join_token is not None
    username = await context.bot_username(bot, bot_username)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_team_revoke"),
        callback_data=TeamAction(action="revoke", team=team.id),
    )
    await query.answer()
    await _send(
        query,
        text(
            lang, "team_link", team=escape(team.name), link=escape(_link(username, team.join_token))
        ),
        builder.as_markup(),
    )


@router.callback_query(TeamAction.filter(F.action == "revoke"))
async def revoke_link(
    query: CallbackQuery, callback_data: TeamAction, database: Database, me: UserRow, lang: str
) -> None:
    team = await teams.revoke_link(database, me.id, callback_data.team)
    if isinstance(team, Refusal):
        await _refuse(query, lang, team)
        return
    await query.answer(text(lang, "team_link_revoked"))
    await _replace(query, text(lang, "team_link_revoked"), None)


async def follow_join_link(
    bot: Bot, database: Database, settings: Settings, user_id: int, lang: str, token: str
) -> None:
    """A registered person followed t.me/<bot>?start=team_<token>: ask the team to take
    them (a join request to its owner, visible to every member in /team)."""
    outcome = await teams.request_to_join(
        database,
        user_id,
        token,
        per_day=settings.invites_per_day,
        hours=settings.cleanup_expired_invitations_hours,
    )
    if outcome.refusal is Refusal.ALREADY_IN_TEAM and outcome.already_in is not None:
        body = text(lang, "team_join_already", team=escape(outcome.already_in.name))
        await bot.send_message(user_id, body)
        return
    if outcome.refusal is not None or outcome.team is None or outcome.sent is None:
        await bot.send_message(user_id, text(lang, "team_link_invalid"))
        return
    sent = outcome.sent
    if sent.refusal is not None:
        body = text(lang, INVITE_REFUSALS[sent.refusal], per_day=settings.invites_per_day)
        await bot.send_message(user_id, body)
        return
    if sent.sender is not None:
        await notices.deliver(bot, database, sent, sent.sender)


# --- join requests, answered by any member


@router.callback_query(RequestAnswer.filter())
async def answer_request(
    query: CallbackQuery,
    callback_data: RequestAnswer,
    database: Database,
    bot: Bot,
    me: UserRow,
    lang: str,
) -> None:
    accept = callback_data.action == "accept"
    result = await teams.answer_request(
        database, me.id, callback_data.team, callback_data.id, accept=accept
    )
    if isinstance(result, Refusal):
        await _refuse(query, lang, result)
        return
    await query.answer()
    pressed = query.message if isinstance(query.message, Message) else None
    await notices.announce(bot, database, result, pressed)
