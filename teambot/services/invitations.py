"""Invitation rules: who may invite whom, the daily quota, one pending per pair, and what
accepting does (a person joins the team)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from teambot.adapters.database import Connection, Database
from teambot.data import invitations, teams, users
from teambot.data.invitations import InvitationRow
from teambot.data.users import UserRow
from teambot.services.matching import invitation_kind

MAX_NOTE = 300


class Refusal(Enum):
    NOT_ALLOWED = "not_allowed"  # roles that cannot invite each other, or a team without team
    GONE = "gone"  # the other person deleted their profile, paused, or was banned
    QUOTA = "quota"
    ALREADY_PENDING = "already_pending"


@dataclass(frozen=True)
class Sent:
    invitation: InvitationRow | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Answered:
    invitation: InvitationRow
    sender: UserRow
    recipient: UserRow
    joined_team: str | None = None


def _send(
    conn: Connection,
    sender_id: int,
    recipient_id: int,
    note: str,
    per_day: int,
    hours: int,
    join_link: bool = False,
) -> Sent:
    sender = users.get(conn, sender_id)
    recipient = users.get(conn, recipient_id)
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
    team = teams.owned_by(conn, team_owner) if team_owner is not None else None
    if team_owner is not None and team is None:
        return Sent(refusal=Refusal.NOT_ALLOWED)
    if invitations.sent_since(conn, sender_id, 24) >= per_day:
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
        return Sent(refusal=Refusal.ALREADY_PENDING)
    return Sent(invitation=created)


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
    return await database.run(_send, sender_id, recipient_id, note, per_day, hours, join_link)


def _answer(conn: Connection, invitation_id: int, user_id: int, accept: bool) -> Answered | None:
    answered = invitations.answer(
        conn, invitation_id, user_id, "accepted" if accept else "declined"
    )
    if answered is None:
        return None
    sender = users.get(conn, answered.sender_id)
    recipient = users.get(conn, answered.recipient_id)
    assert sender is not None and recipient is not None
    joined: str | None = None
    if accept and answered.team_id is not None:
        person = recipient.id if answered.kind == "invite" else sender.id
        # one team per person: someone who joined another team meanwhile is not told they
        # joined this one
        if invitations.add_member(conn, answered.team_id, person):
            team = teams.owned_by(
                conn, answered.sender_id if answered.kind == "invite" else answered.recipient_id
            )
            joined = team.name if team else None
    return Answered(answered, sender, recipient, joined)


async def answer(
    database: Database, invitation_id: int, user_id: int, *, accept: bool
) -> Answered | None:
    """None when the invitation is not pending, expired, or not addressed to `user_id`."""
    return await database.run(_answer, invitation_id, user_id, accept)


def _cancel(conn: Connection, invitation_id: int, user_id: int) -> Answered | None:
    cancelled = invitations.cancel(conn, invitation_id, user_id)
    if cancelled is None:
        return None
    sender = users.get(conn, cancelled.sender_id)
    recipient = users.get(conn, cancelled.recipient_id)
    assert sender is not None and recipient is not None
    return Answered(cancelled, sender, recipient)


async def cancel(database: Database, invitation_id: int, user_id: int) -> Answered | None:
    return await database.run(_cancel, invitation_id, user_id)
