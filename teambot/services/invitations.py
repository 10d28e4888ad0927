"""Invitation rules: who may invite whom, the daily quota, one pending per pair, who may
answer, and what accepting does (a person joins the team).

Three kinds, each with its own words in the chat: an *invite* (a team's owner invites a
person into the team), a *request* (a person asks to join a team: any of its members
answers), a *connect* (two co-founders offer to meet).

Answering locks the team's row first (as every team change does), then the invitation's,
so an answer and a change of the team (a transfer, a deletion, another member answering)
run one after the other and the second sees the first's result."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from teambot.adapters.database import Connection, Database
from teambot.data import invitations, teams, users
from teambot.domain import InvitationRow, LiveMessage, PendingView, TeamRow, UserRow
from teambot.services.matching import invitation_kind

MAX_NOTE = 300


class Refusal(Enum):
    NOT_ALLOWED = "not_allowed"  # roles that cannot invite each other, or a team without team
    GONE = "gone"  # the other person deleted their profile, paused, or was banned
    QUOTA = "quota"
    ALREADY_PENDING = "already_pending"
    THEIRS_PENDING = "theirs_pending"  # the other one's to me is pending: mine to answer
    # answering: answered, cancelled, expired, or not theirs to press; one neutral answer, so
    # a forged press tells nothing about other people's invitations
    STALE = "stale"


@dataclass(frozen=True)
class Sent:
    invitation: InvitationRow | None = None
    refusal: Refusal | None = None
    recipient: UserRow | None = None
    team: TeamRow | None = None  # the team an invite or request is about
    sender: UserRow | None = None


@dataclass(frozen=True)
class Answered:
    """An invitation that closed: accepted, declined or cancelled by `actor`."""

    invitation: InvitationRow
    sender: UserRow
    recipient: UserRow
    actor: UserRow
    team: TeamRow | None = None
    # the messages that showed its buttons, to be edited (see data.invitations.LiveMessage)
    messages: tuple[LiveMessage, ...] = ()
    # a join request accepted after its sender joined another team: closed (cancelled)
    in_other_team: bool = False

    @property
    def joiner(self) -> UserRow:
        """Who joins the team when it is accepted (an invite's recipient, a request's sender)."""
        return self.recipient if self.invitation.kind == "invite" else self.sender


@dataclass(frozen=True)
class InTeam:
    """The invitee is already in a team: they leave it before accepting; it stays pending."""

    team: TeamRow


def send_in(
    conn: Connection,
    sender_id: int,
    recipient_id: int,
    note: str,
    per_day: int,
    hours: int,
    join_link: bool = False,
) -> Sent:
    """Inside a transaction: `send`."""
    known = invitations.sending(conn, sender_id, recipient_id, 24)
    sender, recipient = known.people.get(sender_id), known.people.get(recipient_id)
    if sender is None or not sender.registered or sender.user_type is None:
        return Sent(refusal=Refusal.NOT_ALLOWED)
    if (
        recipient is None
        or not recipient.registered
        or recipient.is_banned
        # a team that handed out its join link wants these requests even while paused
        or (not recipient.is_searching and not join_link)
        or recipient.user_type is None
    ):
        return Sent(refusal=Refusal.GONE)
    kind = invitation_kind(sender.user_type, recipient.user_type)
    if kind is None:
        return Sent(refusal=Refusal.NOT_ALLOWED)
    team_owner = sender_id if kind == "invite" else recipient_id if kind == "request" else None
    team = known.teams.get(team_owner) if team_owner is not None else None
    if team_owner is not None and team is None:
        return Sent(refusal=Refusal.NOT_ALLOWED)
    if known.sent_recently >= per_day:
        return Sent(refusal=Refusal.QUOTA)
    created = invitations.create(
        conn,
        sender_id=sender_id,
        recipient_id=recipient_id,
        team_id=team.id if team else None,
        kind=kind,
        note=note.strip()[:MAX_NOTE],
        hours=hours,
    )
    if created is None:
        theirs = invitations.pending_from(conn, recipient_id, sender_id)
        return Sent(refusal=Refusal.THEIRS_PENDING if theirs else Refusal.ALREADY_PENDING)
    return Sent(invitation=created, recipient=recipient, team=team, sender=sender)


async def send(
    database: Database,
    sender_id: int,
    recipient_id: int,
    note: str,
    *,
    per_day: int,
    hours: int,
    join_link: bool = False,
) -> Sent:
    """`join_link`: the sender followed the team's own link (t.me/<bot>?start=team_…)."""
    return await database.run(send_in, sender_id, recipient_id, note, per_day, hours, join_link)


async def pending(database: Database, user_id: int) -> list[PendingView]:
    """Pending invitations either way, oldest first, with the names they are shown with (one
    statement, however many there are)."""
    return await database.run(invitations.pending_of, user_id)


def _closed(
    conn: Connection,
    invitation: InvitationRow,
    actor_id: int,
    team: TeamRow | None,
    *,
    in_other_team: bool = False,
) -> Answered:
    people, messages = invitations.closing(
        conn, invitation.id, [invitation.sender_id, invitation.recipient_id, actor_id]
    )
    return Answered(
        invitation,
        people[invitation.sender_id],
        people[invitation.recipient_id],
        people[actor_id],
        team,
        tuple(messages),
        in_other_team,
    )


def answer_in(
    conn: Connection,
    invitation_id: int,
    user_id: int,
    accept: bool,
    team: TeamRow | None,
    locked: tuple[InvitationRow | None, TeamRow | None] | None = None,
) -> Answered | InTeam | Refusal:
    """Inside a transaction that holds the lock of the invitation's team (None for a
    connect): accept or decline, if `user_id` may. A join request is answered by any member
    of the team, anything else by its recipient. `locked`: the invitation, already locked,
    and its joiner's current team (data.invitations.lock_with_joiner_team)."""
    current, elsewhere = locked or invitations.lock_with_joiner_team(conn, invitation_id)
    if (
        current is None
        or current.status != "pending"
        or current.team_id != (team.id if team else None)
    ):
        return Refusal.STALE
    if current.kind == "request":
        assert team is not None
        if not teams.is_member(conn, team.id, user_id):
            return Refusal.STALE
    elif current.recipient_id != user_id:
        return Refusal.STALE
    joiner = current.recipient_id if current.kind == "invite" else current.sender_id
    if accept and team is not None and elsewhere is not None and elsewhere.id != team.id:
        if current.kind == "invite":
            return InTeam(elsewhere)
        # one team per person: the request cannot be granted any more, so it closes
        closed = invitations.close(conn, invitation_id, "cancelled")
        if closed is None:
            return Refusal.STALE
        return _closed(conn, closed, user_id, team, in_other_team=True)
    answered = invitations.close(
        conn,
        invitation_id,
        "accepted" if accept else "declined",
        joining=(team.id, joiner) if accept and team is not None else None,
    )
    if answered is None:
        return Refusal.STALE
    return _closed(conn, answered, user_id, team)


def _answer(
    conn: Connection, invitation_id: int, user_id: int, accept: bool
) -> Answered | InTeam | Refusal:
    # the team's lock first, as every team change takes it (None: a connect, or gone;
    # answer_in refuses an invitation whose team is not this one)
    team, invitation, joiner_team = invitations.lock_for_answer(conn, invitation_id)
    return answer_in(conn, invitation_id, user_id, accept, team, (invitation, joiner_team))


async def answer(
    database: Database, invitation_id: int, user_id: int, *, accept: bool
) -> Answered | InTeam | Refusal:
    """Accept or decline; STALE when it is not pending, expired, or not `user_id`'s to answer."""
    return await database.run(_answer, invitation_id, user_id, accept)


def _cancel(conn: Connection, invitation_id: int, user_id: int) -> Answered | Refusal:
    found = invitations.get(conn, invitation_id)
    if found is None or found.sender_id != user_id:
        return Refusal.STALE
    team = teams.get(conn, found.team_id, lock=True) if found.team_id is not None else None
    current = invitations.get(conn, invitation_id, lock=True)
    if current is None or current.sender_id != user_id:  # a transfer moved it meanwhile
        return Refusal.STALE
    cancelled = invitations.close(conn, invitation_id, "cancelled", unexpired=False)
    if cancelled is None:
        return Refusal.STALE
    return _closed(conn, cancelled, user_id, team)


async def cancel(database: Database, invitation_id: int, user_id: int) -> Answered | Refusal:
    """The sender takes it back; STALE unless it is theirs and pending."""
    return await database.run(_cancel, invitation_id, user_id)


@dataclass(frozen=True)
class Expired:
    invitation: InvitationRow
    sender: UserRow
    recipient: UserRow
    team_name: str | None


def expire(conn: Connection, batch: int) -> list[Expired]:
    """One batch of overdue invitations marked expired, with the people to tell. (Their
    messages are edited by the cleanup's sweep of closed invitations.)"""
    due = invitations.expire_due(conn, batch)
    people = users.get_many(conn, [i.sender_id for i in due] + [i.recipient_id for i in due])
    names = teams.names(conn, [i.team_id for i in due if i.team_id is not None])
    return [
        Expired(i, people[i.sender_id], people[i.recipient_id], names.get(i.team_id or 0))
        for i in due
        if i.sender_id in people and i.recipient_id in people
    ]


async def record_messages(database: Database, shown: list[LiveMessage]) -> dict[int, str]:
    """Remember messages just sent with invitations' buttons; returns the statuses of those
    whose invitation closed meanwhile (their messages were not recorded: edit them now)."""
    return await database.run(invitations.record_messages, shown)


async def forget_messages(database: Database, edited: list[LiveMessage]) -> None:
    """Messages of closed invitations that were edited (or could not be): forget them."""
    await database.run(invitations.forget_messages, edited)
