"""/invitations and the accept / decline / cancel buttons on invitations; what each side is
told when an invitation is sent, answered, cancelled or expires, in the words of its kind
(an invite into a team, a request to join one, a co-founder connect)."""

from __future__ import annotations

from typing import Literal

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot.adapters.database import Database
from teambot.domain import InvitationRow, LiveMessage, UserRow
from teambot.routers.notices import close_keyboards, notify, record, shown, unreachable
from teambot.routers.views import DatabaseKey
from teambot.services import invitations
from teambot.services.invitations import Answered, Expired, InTeam, Sent
from teambot.texts import text
from teambot.utils import escape

router = Router(name="invitations")

INCOMING = {
    "invite": "incoming_invite",
    "request": "incoming_request",
    "connect": "incoming_connect",
}
SENT = {"invite": "invite_sent", "request": "team_join_sent", "connect": "connect_sent"}
OUTGOING = {"invite": "outgoing", "request": "outgoing_request", "connect": "outgoing_connect"}
CANCEL = {
    "invite": "action_cancel_invite",
    "request": "action_withdraw_request",
    "connect": "action_withdraw_connect",
}
CANCELLED = {
    "invite": "invite_cancelled",
    "request": "request_cancelled",
    "connect": "connect_cancelled",
}
EXPIRED = {"invite": "expired_sender", "request": "request_expired", "connect": "connect_expired"}
# (what the one who answered reads, what the other side reads); each names the other person
ANSWERED = {
    ("invite", "accepted"): ("invite_accepted_you", "invite_accepted_them"),
    ("invite", "declined"): ("invite_declined_you", "invite_declined_them"),
    ("request", "accepted"): ("team_request_accepted_by", "team_request_accepted"),
    ("request", "declined"): ("team_request_declined_by", "team_request_declined"),
    ("connect", "accepted"): ("connect_accepted_you", "connect_accepted_them"),
    ("connect", "declined"): ("connect_declined_you", "connect_declined_them"),
}
INVITE_REFUSALS = {
    invitations.Refusal.NOT_ALLOWED: "invite_not_allowed",
    invitations.Refusal.GONE: "invite_gone",
    invitations.Refusal.QUOTA: "invite_quota",
    invitations.Refusal.ALREADY_PENDING: "invite_already_pending",
}


class Answer(CallbackData, prefix="inv"):
    action: Literal["accept", "decline", "cancel"]
    id: DatabaseKey


def contact(user: UserRow) -> str:
    """A way to reach someone: their @username, or a link that opens their profile."""
    if user.username:
        return f"@{escape(user.username)}"
    return f'<a href="tg://user?id={user.id}">{_name(user)}</a>'


def _name(user: UserRow) -> str:
    return escape(user.display_name or user.first_name)


def _answer_markup(lang: str, invitation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_accept"), callback_data=Answer(action="accept", id=invitation_id)
    )
    builder.button(
        text=text(lang, "action_decline"), callback_data=Answer(action="decline", id=invitation_id)
    )
    return builder.as_markup()


def _cancel_markup(lang: str, invitation: InvitationRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, CANCEL[invitation.kind]),
        callback_data=Answer(action="cancel", id=invitation.id),
    )
    return builder.as_markup()


def _incoming_text(lang: str, invitation: InvitationRow, sender: str, team: str | None) -> str:
    body = text(lang, INCOMING[invitation.kind], name=escape(sender), team=escape(team or ""))
    if invitation.note:
        body += "\n\n«" + escape(invitation.note) + "»"
    return body


def _outgoing_text(lang: str, invitation: InvitationRow, recipient: str, team: str | None) -> str:
    return text(lang, OUTGOING[invitation.kind], name=escape(recipient), team=escape(team or ""))


async def deliver(bot: Bot, database: Database, sent: Sent, sender: UserRow) -> None:
    """A new invitation: the sender's confirmation with Cancel, then the recipient's notice
    with Accept / Decline (and a word to the sender if it does not arrive)."""
    invitation, recipient = sent.invitation, sent.recipient
    assert invitation is not None and recipient is not None
    team = sent.team.name if sent.team else None
    body = text(
        sender.language, SENT[invitation.kind], name=_name(recipient), team=escape(team or "")
    )
    confirmation = await bot.send_message(
        sender.id, body, reply_markup=_cancel_markup(sender.language, invitation)
    )
    lang = recipient.language
    notice = _incoming_text(lang, invitation, sender.display_name, team)
    delivered = await notify(
        bot,
        recipient.id,
        notice,
        _answer_markup(lang, invitation.id),
        if_undelivered=unreachable(sender, _name(recipient)),
    )
    await record(
        bot,
        database,
        shown(invitation.id, confirmation, body, sender.language)
        + shown(invitation.id, delivered, notice, lang),
    )


@router.message(Command("invitations"))
async def list_invitations(
    message: Message, database: Database, bot: Bot, me: UserRow, lang: str
) -> None:
    pending = await invitations.pending(database, me.id)
    if not pending:
        await message.answer(text(lang, "no_invitations"))
        return
    listed: list[LiveMessage] = []
    for view in pending:
        invitation = view.invitation
        if invitation.recipient_id == me.id:
            body = _incoming_text(lang, invitation, view.sender_name, view.team_name)
            markup = _answer_markup(lang, invitation.id)
        else:
            body = _outgoing_text(lang, invitation, view.recipient_name, view.team_name)
            markup = _cancel_markup(lang, invitation)
        sent = await message.answer(body, reply_markup=markup)
        listed += shown(invitation.id, sent, body, lang)
    await record(bot, database, listed)


@router.callback_query(Answer.filter())
async def answered(
    query: CallbackQuery,
    callback_data: Answer,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
) -> None:
    result: Answered | InTeam | invitations.Refusal
    if callback_data.action == "cancel":
        result = await invitations.cancel(database, callback_data.id, me.id)
    else:
        accept = callback_data.action == "accept"
        result = await invitations.answer(database, callback_data.id, me.id, accept=accept)
    if isinstance(result, invitations.Refusal):
        # answered already, expired, cancelled, or not theirs to press
        await query.answer(text(lang, "invitation_stale"), show_alert=True)
        return
    await query.answer()
    if isinstance(result, InTeam):
        await bot.send_message(me.id, text(lang, "invite_in_team", team=escape(result.team.name)))
        return
    await announce(bot, database, result, query)


async def announce(
    bot: Bot, database: Database, result: Answered, query: CallbackQuery | None = None
) -> None:
    """Everyone concerned hears how an invitation closed, in the words of its kind, and every
    message that showed its buttons is edited. The actor's answer goes first; the other
    side's notice after it (the actor hears if it does not arrive)."""
    invitation, actor = result.invitation, result.actor
    kind, status = invitation.kind, invitation.status
    # whom it was about, from the actor's side: a join request's sender, else the other one
    other = result.recipient if actor.id == result.sender.id else result.sender
    team = escape(result.team.name) if result.team else ""
    by = actor if kind == "request" and status != "cancelled" else None
    await close_keyboards(bot, database, result.messages, by=by, actor=actor.id)
    if query is not None and isinstance(query.message, Message):
        pressed = {(m.chat_id, m.message_id) for m in result.messages}
        if (query.message.chat.id, query.message.message_id) not in pressed:
            # a message from before its buttons were recorded: at least take them away
            await query.message.edit_reply_markup(reply_markup=None)
    theirs: str | None = None  # a cancellation reaches them as the edit of their notice
    if result.in_other_team:
        mine = "team_request_in_team"
    elif status == "cancelled":
        mine = CANCELLED[kind]
    else:
        mine, theirs = ANSWERED[kind, status]
    body = text(actor.language, mine, name=_name(other), contact=contact(other), team=team)
    await bot.send_message(actor.id, body)
    if theirs is not None:
        body = text(other.language, theirs, name=_name(actor), contact=contact(actor), team=team)
        await notify(bot, other.id, body, if_undelivered=unreachable(actor, _name(other)))
    owner = result.recipient
    if kind == "request" and status == "accepted" and owner.id != actor.id:
        # another member took someone into the owner's team
        body = text(
            owner.language,
            "team_request_accepted_owner",
            actor=_name(actor),
            name=_name(other),
            team=team,
        )
        await notify(bot, owner.id, body)


async def announce_expired(bot: Bot, database: Database, expired: list[Expired]) -> None:
    """The senders of expired invitations hear it (their messages are edited by the sweep)."""
    for item in expired:
        sender, invitation = item.sender, item.invitation
        if sender.deleted_at is not None:
            continue
        body = text(
            sender.language,
            EXPIRED[invitation.kind],
            name=_name(item.recipient),
            team=escape(item.team_name or ""),
        )
        await notify(bot, sender.id, body)
