"""Messages to people other than the one acting, and keyboards that outlive their moment.

- `notify`: a notice to someone else, sent after the update commits (the outbox), after the
  actor's own answer. When Telegram refuses it (403: they blocked the bot; 400 "chat not
  found": they never started it) they are marked unreachable, which keeps them out of
  search until they write to the bot again, and the actor is told if `if_undelivered` says
  what to tell.
- `record` / `close_keyboards`: every message that shows an invitation's buttons is
  remembered (chat, message id, the text shown). When the invitation closes, from wherever
  (a button, /invitations, /team, another member, the cleanup), each is edited: the same
  text, a line saying what happened, no buttons; then it is forgotten. An edit Telegram
  refuses (deleted, too old, blocked) is fine and silent: a press on what is left still gets
  a short answer and does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message
from loguru import logger

from teambot.adapters.database import Database
from teambot.adapters.effects import Followup, on_behalf_of
from teambot.adapters.flood_control import background
from teambot.adapters.telegram import tell
from teambot.data import invitations  # noqa: TID251 - record and close_keyboards, until notices move
from teambot.domain import LiveMessage, UserRow
from teambot.texts import text
from teambot.utils import escape

log = logger.bind(actor="notices")

CLOSED = {
    "accepted": "closed_accepted",
    "declined": "closed_declined",
    "cancelled": "closed_cancelled",
    "expired": "closed_expired",
}
CLOSED_BY = {"accepted": "closed_accepted_by", "declined": "closed_declined_by"}


async def notify(
    bot: Bot,
    user_id: int,
    body: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    if_undelivered: Followup | None = None,
) -> Message | None:
    """The message as it will be sent (its id provisional until then)."""
    with on_behalf_of(if_undelivered):
        return await tell(bot, user_id, body, markup)


def unreachable(actor: UserRow, name: str) -> Followup:
    """Tell the actor that `name` did not get the notice (the chat with the bot is closed)."""
    return Followup(actor.id, text(actor.language, "unreachable", name=name))


def shown(
    invitation_id: int, message: Message | None, body: str, language: str
) -> list[LiveMessage]:
    """The record of a message just sent with an invitation's buttons (none if not sent)."""
    if message is None:
        return []
    return [LiveMessage(invitation_id, message.chat.id, message.message_id, body, language)]


async def record(bot: Bot, database: Database, messages: list[LiveMessage]) -> None:
    """Remember messages just sent with invitations' buttons. One whose invitation closed
    while it was being sent (another member answered first) is edited at once."""
    if not messages:
        return
    closed = await database.run(invitations.record_messages, messages)
    late = [
        LiveMessage(m.invitation_id, m.chat_id, m.message_id, m.body, m.language, status)
        for m in messages
        if (status := closed.get(m.invitation_id)) is not None
    ]
    await retire(bot, late)


def outcome(message: LiveMessage, by: UserRow | None = None) -> str:
    """The line a closed invitation's message gets; `by`: the team member who answered a
    join request, named to everyone but themselves."""
    if by is not None and by.id != message.chat_id and message.status in CLOSED_BY:
        key = CLOSED_BY[message.status]
        return text(message.language, key, name=escape(by.display_name or by.first_name))
    key = CLOSED.get(message.status, "closed_cancelled")
    return text(message.language, key)


async def retire(
    bot: Bot, messages: Iterable[LiveMessage], *, by: UserRow | None = None, actor: int = 0
) -> None:
    """Edit each message: its text, what happened, no buttons. `actor`: the chat of the
    person acting, whose edit is a reply; the others yield to replies."""
    for message in messages:
        body = f"{message.body}\n\n{outcome(message, by)}"
        try:
            if message.chat_id == actor:
                await bot.edit_message_text(
                    body, chat_id=message.chat_id, message_id=message.message_id
                )
            else:
                with background():
                    await bot.edit_message_text(
                        body, chat_id=message.chat_id, message_id=message.message_id
                    )
        except TelegramAPIError as exc:  # deleted, blocked, too old: the press still answers
            log.debug("message {} in {} not edited: {!r}", message.message_id, message.chat_id, exc)


async def close_keyboards(
    bot: Bot,
    database: Database,
    messages: Iterable[LiveMessage],
    *,
    by: UserRow | None = None,
    actor: int = 0,
) -> None:
    """`retire` messages of closed invitations, then forget them (until then a crash leaves
    them to the cleanup's sweep)."""
    edited = list(messages)
    if edited:
        await retire(bot, edited, by=by, actor=actor)
        await database.run(invitations.forget_messages, edited)
