"""Messages to people other than the one acting, composed in one place for the routers, the
cleanup jobs and the matcher; and keyboards that outlive their moment.

- `notify`: a notice to someone else, sent after the update (or the job's batch) commits
  (the outbox), after the actor's own answer. When Telegram refuses it (403: they blocked
  the bot; 400 "chat not found": they never started it) they are marked unreachable, which
  keeps them out of search until they write to the bot again, and the actor is told if
  `if_undelivered` says what to tell.
- `record` / `close_keyboards`: every message that shows an invitation's buttons is
  remembered (chat, message id, the text shown). When the invitation closes, from wherever
  (a button, /invitations, /team, another member, the cleanup), each is edited: the same
  text, a line saying what happened, no buttons; then it is forgotten. An edit Telegram
  refuses (deleted, too old, blocked) is fine and silent: a press on what is left still gets
  a short answer and does nothing.
- What each side of an invitation is told when it is sent, answered, cancelled or expires,
  in the words of its kind (an invite into a team, a request to join one, a co-founder
  connect); what a team's people hear when it changes hands, loses a member or goes; the
  report every admin gets; the inactivity pause; the matcher's digest.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from loguru import logger

from teambot.adapters.database import Database
from teambot.adapters.effects import Followup, on_behalf_of
from teambot.adapters.flood_control import background
from teambot.adapters.telegram import tell
from teambot.domain import BroadcastProgress, EventRow, InvitationRow, LiveMessage, UserRow
from teambot.routers.views import (
    Answer,
    Moderate,
    ProposalAnswer,
    StillLooking,
    StopBroadcast,
    tags_line,
    user_card,
)
from teambot.services import events, invitations
from teambot.services.invitations import Answered, Expired, Sent
from teambot.services.moderation import Report
from teambot.services.teams import Changed, Departure
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
DIGEST_COUNTS = {
    "participant": "digest_participants",
    "cofounder": "digest_cofounders",
    "team": "digest_teams",
}


# --- sending and the keyboards of invitations


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
    closed = await invitations.record_messages(database, messages)
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
        await invitations.forget_messages(database, edited)


# --- how an invitation looks


def name(user: UserRow) -> str:
    return escape(user.display_name or user.first_name)


def contact(user: UserRow) -> str:
    """A way to reach someone: their @username, or a link that opens their profile."""
    if user.username:
        return f"@{escape(user.username)}"
    return f'<a href="tg://user?id={user.id}">{name(user)}</a>'


def answer_markup(lang: str, invitation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_accept"), callback_data=Answer(action="accept", id=invitation_id)
    )
    builder.button(
        text=text(lang, "action_decline"), callback_data=Answer(action="decline", id=invitation_id)
    )
    return builder.as_markup()


def cancel_markup(lang: str, invitation: InvitationRow) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, CANCEL[invitation.kind]),
        callback_data=Answer(action="cancel", id=invitation.id),
    )
    return builder.as_markup()


def incoming_text(lang: str, invitation: InvitationRow, sender: str, team: str | None) -> str:
    body = text(lang, INCOMING[invitation.kind], name=escape(sender), team=escape(team or ""))
    if invitation.note:
        body += "\n\n«" + escape(invitation.note) + "»"
    return body


def outgoing_text(lang: str, invitation: InvitationRow, recipient: str, team: str | None) -> str:
    return text(lang, OUTGOING[invitation.kind], name=escape(recipient), team=escape(team or ""))


# --- invitations: sent, answered, expired


async def deliver(bot: Bot, database: Database, sent: Sent, sender: UserRow) -> None:
    """A new invitation: the sender's confirmation with Cancel, then the recipient's notice
    with Accept / Decline (and a word to the sender if it does not arrive)."""
    invitation, recipient = sent.invitation, sent.recipient
    assert invitation is not None and recipient is not None
    team = sent.team.name if sent.team else None
    body = text(
        sender.language, SENT[invitation.kind], name=name(recipient), team=escape(team or "")
    )
    confirmation = await bot.send_message(
        sender.id, body, reply_markup=cancel_markup(sender.language, invitation)
    )
    lang = recipient.language
    notice = incoming_text(lang, invitation, sender.display_name, team)
    delivered = await notify(
        bot,
        recipient.id,
        notice,
        answer_markup(lang, invitation.id),
        if_undelivered=unreachable(sender, name(recipient)),
    )
    await record(
        bot,
        database,
        shown(invitation.id, confirmation, body, sender.language)
        + shown(invitation.id, delivered, notice, lang),
    )


async def announce(
    bot: Bot, database: Database, result: Answered, pressed: Message | None = None
) -> None:
    """Everyone concerned hears how an invitation closed, in the words of its kind, and every
    message that showed its buttons is edited (`pressed`: the message whose button closed
    it). The actor's answer goes first; the other side's notice after it (the actor hears if
    it does not arrive)."""
    invitation, actor = result.invitation, result.actor
    kind, status = invitation.kind, invitation.status
    # whom it was about, from the actor's side: a join request's sender, else the other one
    other = result.recipient if actor.id == result.sender.id else result.sender
    team = escape(result.team.name) if result.team else ""
    by = actor if kind == "request" and status != "cancelled" else None
    # taken from invitation_messages when it closed: their edits commit with that
    await retire(bot, result.messages, by=by, actor=actor.id)
    if pressed is not None:
        recorded = {(m.chat_id, m.message_id) for m in result.messages}
        if (pressed.chat.id, pressed.message_id) not in recorded:
            # a message from before its buttons were recorded: at least take them away
            await pressed.edit_reply_markup(reply_markup=None)
    theirs: str | None = None  # a cancellation reaches them as the edit of their notice
    if result.in_other_team:
        mine = "team_request_in_team"
    elif status == "cancelled":
        mine = CANCELLED[kind]
    else:
        mine, theirs = ANSWERED[kind, status]
    body = text(actor.language, mine, name=name(other), contact=contact(other), team=team)
    await bot.send_message(actor.id, body)
    if theirs is not None:
        body = text(other.language, theirs, name=name(actor), contact=contact(actor), team=team)
        await notify(bot, other.id, body, if_undelivered=unreachable(actor, name(other)))
    owner = result.recipient
    if kind == "request" and status == "accepted" and owner.id != actor.id:
        # another member took someone into the owner's team
        body = text(
            owner.language,
            "team_request_accepted_owner",
            actor=name(actor),
            name=name(other),
            team=team,
        )
        await notify(bot, owner.id, body)


async def announce_expired(bot: Bot, expired: list[Expired]) -> None:
    """The senders of expired invitations hear it (their messages are edited by the sweep)."""
    for item in expired:
        sender, invitation = item.sender, item.invitation
        if sender.deleted_at is not None:
            continue
        body = text(
            sender.language,
            EXPIRED[invitation.kind],
            name=name(item.recipient),
            team=escape(item.team_name or ""),
        )
        await notify(bot, sender.id, body)


# --- teams


async def removed(bot: Bot, change: Changed) -> None:
    """The member the owner removed hears it."""
    person = change.person
    assert person is not None
    body = text(person.language, "team_removed_you", team=escape(change.team.name))
    await notify(bot, person.id, body)


async def transferred(bot: Bot, database: Database, change: Changed, actor: int) -> None:
    """A team changed hands: the invitations it closed lose their buttons, the new owner and
    the other members hear it."""
    owner, team = change.person, escape(change.team.name)
    assert owner is not None
    await close_keyboards(bot, database, change.messages, actor=actor)
    await notify(bot, owner.id, text(owner.language, "team_transferred_you", team=team))
    for member in change.told:
        body = text(member.language, "team_transferred_members", name=name(owner), team=team)
        await notify(bot, member.id, body)


async def announce_departure(bot: Bot, departure: Departure, person: UserRow) -> None:
    """Someone left their team, deleted it, or their account went (deleted or banned): the
    team's people hear what it meant."""
    team, left = escape(departure.team.name), name(person)
    key = "team_deleted_members" if departure.deleted else "team_left_owner"
    await retire(bot, departure.messages, actor=person.id)  # gone with the team
    for member in departure.told:
        await tell(bot, member.id, text(member.language, key, team=team, name=left))


# --- the bot's own notices: reports, pauses, digests


async def send_report(bot: Bot, report: Report) -> None:
    """Every admin gets the reported profile, in their language, with a Ban button."""
    reported = report.reported.user.id
    for admin, lang in report.admins.items():
        markup = InlineKeyboardBuilder()
        markup.button(
            text=text(lang, "action_ban"), callback_data=Moderate(action="ban", target=reported)
        )
        body = text(
            lang,
            "report_to_admin",
            reporter=str(report.reporter),
            reported=str(reported),
            card=user_card(lang, report.reported),
        )
        # a mistyped ADMIN_IDS entry (never started the bot, blocked it) must not keep the
        # report from the other admins; the operator hears of it when Telegram refuses it
        warning = f"a report did not reach admin id {admin} from ADMIN_IDS"
        await notify(bot, admin, body, markup.as_markup(), if_undelivered=Followup(warning=warning))


async def paused_inactive(bot: Bot, user: UserRow, days: int) -> None:
    """A profile left out of search after `days` without a word, with a Resume button."""
    markup = InlineKeyboardBuilder()
    markup.button(text=text(user.language, "action_resume"), callback_data="resume")
    await tell(bot, user.id, text(user.language, "paused_inactive", days=days), markup.as_markup())


async def still_looking(bot: Bot, user: UserRow, days: int) -> None:
    """`days` before the inactivity pause: still looking? [Yes, keep me] / [Pause]."""
    lang = user.language
    markup = InlineKeyboardBuilder()
    markup.button(text=text(lang, "action_still_looking"), callback_data=StillLooking(answer="yes"))
    markup.button(text=text(lang, "action_pause_now"), callback_data=StillLooking(answer="pause"))
    await tell(bot, user.id, text(lang, "still_looking", days=days), markup.as_markup())


async def digest(bot: Bot, user_id: int, language: str, new_matches: dict[str, int]) -> None:
    """How many new people of each kind would now find this person in search."""
    counts = ", ".join(
        text(language, DIGEST_COUNTS[user_type], count=n)
        for user_type, n in sorted(new_matches.items())
    )
    await tell(bot, user_id, text(language, "digest", counts=counts))


# --- events: auto-fill's proposals and the organizer's report


def proposal_markup(lang: str, proposal_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "action_accept"),
        callback_data=ProposalAnswer(action="accept", id=proposal_id),
    )
    builder.button(
        text=text(lang, "action_decline"),
        callback_data=ProposalAnswer(action="decline", id=proposal_id),
    )
    return builder.as_markup()


def proposal_text(lang: str, event: EventRow, number: int, members: list[UserRow]) -> str:
    """A proposed group as each of its people reads it: who, and what each offers."""
    lines = [f"• <b>{name(member)}</b>: {tags_line(lang, member.skills)}" for member in members]
    return text(
        lang,
        "event_proposal",
        event=escape(event.name),
        number=number,
        count=len(members),
        members="\n".join(lines),
    )


def autofill_report(lang: str, event: EventRow, counts: dict[str, int]) -> str:
    return text(
        lang,
        "event_fill_report",
        event=escape(event.name),
        **{key: counts.get(key, 0) for key in REPORT_COUNTS},
    )


REPORT_COUNTS = (
    "groups", "people", "accepted", "declined", "waiting", "formed", "failed", "unplaced",
)  # fmt: skip


async def propose(
    bot: Bot, autofill: events.Autofill, organizer: UserRow
) -> list[tuple[int, int, int]]:
    """Every proposed member gets their group with Accept / Decline (the organizer hears
    of anyone the message does not reach); returns (proposal, person, message id) of each
    message, to be remembered for the outcome's edit."""
    shown: list[tuple[int, int, int]] = []
    for group in autofill.groups:
        for member in group.members:
            lang = member.language
            body = proposal_text(lang, autofill.event, group.number, group.members)
            sent = await notify(
                bot,
                member.id,
                body,
                proposal_markup(lang, group.proposal_id),
                if_undelivered=unreachable(organizer, name(member)),
            )
            if sent is not None:
                shown.append((group.proposal_id, member.id, sent.message_id))
    return shown


def proposal_outcome(lang: str, answered: events.Answered, member: UserRow) -> str:
    """The line a proposal's message gets once its group formed or failed."""
    if answered.status == "formed":
        return text(lang, "event_proposal_formed_line")
    if not answered.accepted and member.id == answered.actor.id:
        return text(lang, "event_proposal_declined_you")
    return text(lang, "event_proposal_failed_line")


async def proposal_decided(bot: Bot, answered: events.Answered) -> None:
    """A group formed or failed: every member's proposal loses its buttons (the actor's was
    edited by the router), and each hears it: the team with everyone's contact, or that it
    did not form and why; the actor's message is a reply."""
    if answered.status == "pending":
        return
    event = escape(answered.event.name)
    for member in answered.members:
        if not member.registered or member.is_banned:
            continue  # gone since the proposal
        lang = member.language
        message_id = answered.messages.get(member.id)
        if member.id != answered.actor.id and message_id is not None:
            body = proposal_text(lang, answered.event, answered.number, answered.members)
            with background():
                await bot.edit_message_text(
                    f"{body}\n\n{proposal_outcome(lang, answered, member)}",
                    chat_id=member.id,
                    message_id=message_id,
                )
        if answered.status == "formed":
            assert answered.team is not None
            others = [m for m in answered.members if m.id != member.id]
            # a name that opens their profile, or the name and the @username
            contacts = "\n".join(
                f"• <b>{name(m)}</b> — {contact(m)}" if m.username else f"• {contact(m)}"
                for m in others
            )
            body = text(
                lang,
                "event_team_formed",
                team=escape(answered.team.name),
                event=event,
                members=contacts,
            )
        elif not answered.accepted:
            if member.id == answered.actor.id:
                continue  # their pressed message says it
            body = text(lang, "event_proposal_declined", event=event, number=answered.number)
        else:
            body = text(lang, "event_proposal_unavailable", event=event, number=answered.number)
        if member.id == answered.actor.id:
            await bot.send_message(member.id, body)
        else:
            await notify(bot, member.id, body)


async def autofill_progress(bot: Bot, answered: events.Answered) -> None:
    """The organizer's report shows the run as it stands now (edited in place)."""
    if answered.report is not None:
        await _show_report(bot, answered.report)


async def proposals_expired(bot: Bot, expiry: events.Expiry) -> None:
    """Groups nobody finished answering in time: each member's proposal is edited as an
    expired invitation's is (`retire`: what it said, "expired without an answer", no
    buttons), and each run's report shows where it stands now."""
    closed = [
        LiveMessage(group.proposal_id, member.id, message_id, body, member.language, "expired")
        for group in expiry.groups
        for member in group.members
        if member.registered and not member.is_banned
        if (message_id := group.messages.get(member.id)) is not None
        for body in [proposal_text(member.language, group.event, group.number, group.members)]
    ]
    await retire(bot, closed)
    for report in expiry.reports:
        await _show_report(bot, report)


async def _show_report(bot: Bot, report: events.Report) -> None:
    if report.organizer is None:
        return
    organizer = report.organizer
    body = autofill_report(organizer.language, report.event, report.counts)
    if report.message_id is None:
        await notify(bot, organizer.id, body)
        return
    with background():
        await bot.edit_message_text(body, chat_id=organizer.id, message_id=report.message_id)


def announcement(language: str, body: str) -> str:
    """An organizers' broadcast as a person gets it: the admin's words (HTML as Telegram
    gave them to the bot: what they typed is escaped), then how to turn them off."""
    return f"{body}\n\n<i>{text(language, 'broadcast_footer')}</i>"


async def send_announcement(bot: Bot, user_id: int, language: str, body: str) -> Message | None:
    return await tell(bot, user_id, announcement(language, body))


def broadcast_view(
    progress: BroadcastProgress, *, final: bool = False
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The admin's message that follows a broadcast: the figures, a Stop button while it is
    sending, and a last line when it is over."""
    lang = progress.language
    body = text(
        lang,
        "broadcast_progress",
        total=progress.total,
        delivered=progress.delivered,
        undelivered=progress.undelivered,
        skipped=progress.skipped,
        remaining=progress.remaining,
    )
    if final:
        ending = "broadcast_done" if progress.status == "done" else "broadcast_stopped"
        return f"{body}\n{text(lang, ending)}", None
    if progress.status != "sending":
        return body, None
    markup = InlineKeyboardBuilder()
    markup.button(text=text(lang, "broadcast_stop"), callback_data=StopBroadcast(id=progress.id))
    return body, markup.as_markup()


async def broadcast_progress(bot: Bot, progress: BroadcastProgress, *, final: bool = False) -> None:
    body, markup = broadcast_view(progress, final=final)
    await bot.edit_message_text(
        body,
        chat_id=progress.progress_chat,
        message_id=progress.progress_message_id,
        reply_markup=markup,
    )
