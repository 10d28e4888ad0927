"""Invitations between people and teams. Every state change is one conditional UPDATE, so a
double tap or two instances racing cannot act twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from teambot.adapters.database import Connection


@dataclass(frozen=True)
class InvitationRow:
    id: int
    sender_id: int
    recipient_id: int
    team_id: int | None
    kind: str
    note: str
    status: str
    expires_at: datetime


_COLUMNS = "id, sender_id, recipient_id, team_id, kind, note, status, expires_at"


def create(
    conn: Connection,
    *,
    sender_id: int,
    recipient_id: int,
    team_id: int | None,
    kind: str,
    note: str,
    hours: int,
) -> InvitationRow | None:
    """None when a pending invitation between the two already exists (either direction)."""
    row = conn.execute(
        f"insert into invitations (sender_id, recipient_id, team_id, kind, note, expires_at)"
        f" values (%s, %s, %s, %s, %s, now() + make_interval(hours => %s))"
        f" on conflict do nothing returning {_COLUMNS}",
        (sender_id, recipient_id, team_id, kind, note, hours),
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def sent_since(conn: Connection, sender_id: int, hours: int) -> int:
    row = conn.execute(
        "select count(*) as n from invitations where sender_id = %s"
        " and created_at > now() - make_interval(hours => %s)",
        (sender_id, hours),
    ).fetchone()
    return int(row["n"]) if row else 0


def get(conn: Connection, invitation_id: int) -> InvitationRow | None:
    row = conn.execute(
        f"select {_COLUMNS} from invitations where id = %s", (invitation_id,)
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def answer(
    conn: Connection, invitation_id: int, recipient_id: int, status: str
) -> InvitationRow | None:
    """Accept or decline; None unless it was pending, unexpired and addressed to them."""
    row = conn.execute(
        f"update invitations set status = %s, answered_at = now()"
        f" where id = %s and recipient_id = %s and status = 'pending' and expires_at > now()"
        f" returning {_COLUMNS}",
        (status, invitation_id, recipient_id),
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def cancel(conn: Connection, invitation_id: int, sender_id: int) -> InvitationRow | None:
    row = conn.execute(
        f"update invitations set status = 'cancelled', answered_at = now()"
        f" where id = %s and sender_id = %s and status = 'pending' returning {_COLUMNS}",
        (invitation_id, sender_id),
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def pending_of(conn: Connection, user_id: int) -> list[InvitationRow]:
    rows = conn.execute(
        f"select {_COLUMNS} from invitations where status = 'pending' and expires_at > now()"
        f" and (sender_id = %s or recipient_id = %s) order by created_at",
        (user_id, user_id),
    ).fetchall()
    return [InvitationRow(**row) for row in rows]


def expire_due(conn: Connection, batch: int) -> list[InvitationRow]:
    """Mark one batch of overdue pending invitations expired; returns them."""
    rows = conn.execute(
        f"update invitations set status = 'expired', answered_at = now()"
        f" where id in (select id from invitations where status = 'pending'"
        f" and expires_at <= now() order by expires_at limit %s for update skip locked)"
        f" returning {_COLUMNS}",
        (batch,),
    ).fetchall()
    return [InvitationRow(**row) for row in rows]


def add_member(conn: Connection, team_id: int, user_id: int) -> bool:
    """False when the person is already in a team (one team per person)."""
    cur = conn.execute(
        "insert into team_members (team_id, user_id) values (%s, %s) on conflict do nothing",
        (team_id, user_id),
    )
    return cur.rowcount == 1


def cancel_all_pending(conn: Connection, user_id: int) -> None:
    """The user is leaving (deleted or banned): nothing they sent or got stays open."""
    conn.execute(
        "update invitations set status = 'cancelled', answered_at = now()"
        " where status = 'pending' and (sender_id = %s or recipient_id = %s)",
        (user_id, user_id),
    )


# --- teams: a team's side of invitations, for any of its members and for ownership changes


def pending_requests_for_team(conn: Connection, team_id: int) -> list[InvitationRow]:
    """Join requests to the team that still wait for an answer, oldest first."""
    rows = conn.execute(
        f"select {_COLUMNS} from invitations where team_id = %s and kind = 'request'"
        f" and status = 'pending' and expires_at > now() order by created_at, id",
        (team_id,),
    ).fetchall()
    return [InvitationRow(**row) for row in rows]


def answer_for_team(
    conn: Connection, invitation_id: int, team_id: int, status: str
) -> InvitationRow | None:
    """Accept, decline or close a join request on behalf of the team, whichever member
    answers; None unless it is a pending, unexpired request to that team."""
    row = conn.execute(
        f"update invitations set status = %s, answered_at = now()"
        f" where id = %s and team_id = %s and kind = 'request' and status = 'pending'"
        f" and expires_at > now() returning {_COLUMNS}",
        (status, invitation_id, team_id),
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def cancel_pending_outside_team(conn: Connection, user_id: int, team_id: int) -> None:
    """Someone becomes a team's owner: their own requests and co-founder connects do not fit
    a team's card, so they close; the team's invitations stay."""
    conn.execute(
        "update invitations set status = 'cancelled', answered_at = now()"
        " where status = 'pending' and (sender_id = %s or recipient_id = %s)"
        " and team_id is distinct from %s",
        (user_id, user_id, team_id),
    )


def hand_over_team(conn: Connection, team_id: int, old_owner: int, new_owner: int) -> None:
    """The team's pending invitations follow the owner: invites are now from the new owner,
    requests to them. One between the two owners would become a self-invitation, so it
    closes (call cancel_pending_outside_team for the new owner first: then no other pending
    invitation can share a pair with the moved ones)."""
    conn.execute(
        "update invitations set status = 'cancelled', answered_at = now()"
        " where team_id = %s and status = 'pending'"
        " and (sender_id = %s or recipient_id = %s)",
        (team_id, new_owner, new_owner),
    )
    conn.execute(
        "update invitations set"
        " sender_id = case when sender_id = %(old)s then %(new)s else sender_id end,"
        " recipient_id = case when recipient_id = %(old)s then %(new)s else recipient_id end"
        " where team_id = %(team)s and status = 'pending'",
        {"old": old_owner, "new": new_owner, "team": team_id},
    )
