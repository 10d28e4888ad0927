"""/invitations and the accept / decline / cancel buttons on invitations. What each side is
told when an invitation is sent, answered, cancelled or expires is composed in
teambot/notices.py."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from teambot import notices
from teambot.adapters.database import Database
from teambot.domain import LiveMessage, UserRow
from teambot.routers.views import Answer
from teambot.services import invitations
from teambot.services.invitations import Answered, InTeam
from teambot.texts import text
from teambot.utils import escape

router = Router(name="invitations")

INVITE_REFUSALS = {
    invitations.Refusal.NOT_ALLOWED: "invite_not_allowed",
    invitations.Refusal.GONE: "invite_gone",
    invitations.Refusal.QUOTA: "invite_quota",
    invitations.Refusal.ALREADY_PENDING: "invite_already_pending",
    invitations.Refusal.THEIRS_PENDING: "invite_theirs_pending",
}


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
            body = notices.incoming_text(lang, invitation, view.sender_name, view.team_name)
            markup = notices.answer_markup(lang, invitation.id)
        else:
            body = notices.outgoing_text(lang, invitation, view.recipient_name, view.team_name)
            markup = notices.cancel_markup(lang, invitation)
        sent = await message.answer(body, reply_markup=markup)
        listed += notices.shown(invitation.id, sent, body, lang)
    await notices.record(bot, database, listed)


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
    pressed = query.message if isinstance(query.message, Message) else None
    await notices.announce(bot, database, result, pressed)
