"""/invitations and the accept / decline / cancel buttons on invitation cards."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from teambot.adapters.database import Database
from teambot.data import invitations as invitation_data
from teambot.data import users
from teambot.data.invitations import InvitationRow
from teambot.data.users import UserRow
from teambot.services import invitations
from teambot.texts import text
from teambot.utils import escape

router = Router(name="invitations")

INCOMING = {
    "invite": "incoming_invite",
    "request": "incoming_request",
    "connect": "incoming_connect",
}
INVITE_REFUSALS = {
    invitations.Refusal.NOT_ALLOWED: "invite_not_allowed",
    invitations.Refusal.GONE: "invite_gone",
    invitations.Refusal.QUOTA: "invite_quota",
    invitations.Refusal.ALREADY_PENDING: "invite_already_pending",
}


class Answer(CallbackData, prefix="inv"):
    action: str  # accept, decline, cancel
    id: int


def contact(user: UserRow) -> str:
    """A way to reach someone: their @username, or a link that opens their profile."""
    if user.username:
        return f"@{escape(user.username)}"
    return f'<a href="tg://user?id={user.id}">{escape(user.display_name or user.first_name)}</a>'


def _answer_markup(lang: str, invitation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_accept"), callback_data=Answer(action="accept", id=invitation_id)
    )
    builder.button(
        text=text(lang, "action_decline"), callback_data=Answer(action="decline", id=invitation_id)
    )
    return builder.as_markup()


def _incoming_text(lang: str, invitation: InvitationRow, sender: UserRow) -> str:
    body = text(lang, INCOMING[invitation.kind], name=escape(sender.display_name))
    if invitation.note:
        body += "\n\n«" + escape(invitation.note) + "»"
    return body


async def notify_recipient(
    bot: Bot, database: Database, invitation: InvitationRow, sender: UserRow
) -> None:
    recipient = await database.run(users.get, invitation.recipient_id)
    if recipient is None:
        return
    lang = recipient.language
    await bot.send_message(
        recipient.id,
        _incoming_text(lang, invitation, sender),
        reply_markup=_answer_markup(lang, invitation.id),
    )


@router.message(Command("invitations"))
async def list_invitations(message: Message, database: Database, me: UserRow, lang: str) -> None:
    pending = await database.run(invitation_data.pending_of, me.id)
    if not pending:
        await message.answer(text(lang, "no_invitations"))
        return
    for invitation in pending:
        if invitation.recipient_id == me.id:
            sender = await database.run(users.get, invitation.sender_id)
            if sender is not None:
                await message.answer(
                    _incoming_text(lang, invitation, sender),
                    reply_markup=_answer_markup(lang, invitation.id),
                )
        else:
            recipient = await database.run(users.get, invitation.recipient_id)
            name = escape(recipient.display_name) if recipient else "?"
            builder = InlineKeyboardBuilder()
            builder.button(
                text=text(lang, "action_cancel_invite"),
                callback_data=Answer(action="cancel", id=invitation.id),
            )
            await message.answer(
                text(lang, "outgoing", name=name), reply_markup=builder.as_markup()
            )


@router.callback_query(Answer.filter())
async def answered(
    query: CallbackQuery,
    callback_data: Answer,
    database: Database,
    me: UserRow,
    lang: str,
    bot: Bot,
) -> None:
    if callback_data.action == "cancel":
        result = await invitations.cancel(database, callback_data.id, me.id)
    elif callback_data.action in ("accept", "decline"):
        result = await invitations.answer(
            database, callback_data.id, me.id, accept=callback_data.action == "accept"
        )
    else:
        result = None
    if result is None:
        # answered already, expired, cancelled, or not theirs to press
        await query.answer(text(lang, "invitation_stale"), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    sender, recipient = result.sender, result.recipient
    status = result.invitation.status
    if status == "accepted":
        await bot.send_message(
            recipient.id, text(recipient.language, "accepted_you", contact=contact(sender))
        )
        await bot.send_message(
            sender.id,
            text(
                sender.language,
                "accepted_them",
                name=escape(recipient.display_name),
                contact=contact(recipient),
            ),
        )
        if result.joined_team:
            person = recipient if result.invitation.kind == "invite" else sender
            await bot.send_message(
                person.id, text(person.language, "joined_team", team=escape(result.joined_team))
            )
    elif status == "declined":
        await bot.send_message(recipient.id, text(recipient.language, "declined_you"))
        await bot.send_message(
            sender.id, text(sender.language, "declined_them", name=escape(recipient.display_name))
        )
    else:
        await bot.send_message(sender.id, text(sender.language, "cancelled_you"))
