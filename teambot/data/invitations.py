"""Invitations between people and teams. Every state change is one conditional UPDATE, so a
double tap or two instances racing cannot act twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from teambot.adapters.database import Connection, Statement, together
from teambot.data import users
from teambot.domain import InvitationRow, LiveMessage, PendingView, TeamRow, UserRow

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


def pending_from(conn: Connection, sender_id: int, recipient_id: int) -> bool:
    """A pending invitation from `sender_id` to `recipient_id`."""
    row = conn.execute(
        "select exists(select 1 from invitations where status = 'pending'"
        " and sender_id = %s and recipient_id = %s) as pending",
        (sender_id, recipient_id),
    ).fetchone()
    return bool(row and row["pending"])


@dataclass(frozen=True)
class Sending:
    """What deciding on a new invitation reads, in one statement."""

    people: dict[int, UserRow]  # the sender and the recipient, those that exist
    teams: dict[int, TeamRow]  # the teams they own, by owner
    sent_recently: int  # invitations the sender made in the last `hours`


def sending(conn: Connection, sender_id: int, recipient_id: int, hours: int) -> Sending:
    team_columns = ", ".join(f"t.{name} as team_{name}" for name in _TEAM_FIELDS)
    rows = conn.execute(
        f"select {users.prefixed('u')}, {team_columns},"
        " (select count(*) from invitations where sender_id = %(sender)s"
        "  and created_at > now() - make_interval(hours => %(hours)s)) as sent_recently"
        " from users u left join teams t on t.owner_id = u.id"
        " where u.id = any(%(ids)s::bigint[])",
        {"sender": sender_id, "hours": hours, "ids": [sender_id, recipient_id]},
    ).fetchall()
    recent = int(rows[0]["sent_recently"]) if rows else 0
    people: dict[int, UserRow] = {}
    owned: dict[int, TeamRow] = {}
    for row in rows:
        team = {name: row.pop(f"team_{name}") for name in _TEAM_FIELDS}
        row.pop("sent_recently")
        people[int(row["id"])] = UserRow(**row)
        if team["id"] is not None:
            owned[int(row["id"])] = TeamRow(**team)
    return Sending(people, owned, recent)


_TEAM_FIELDS = ("id", "owner_id", "name", "description", "roles_needed", "join_token")


def get(conn: Connection, invitation_id: int, *, lock: bool = False) -> InvitationRow | None:
    """`lock` holds the row until the transaction ends (take the team's lock first)."""
    suffix = " for update" if lock else ""
    row = conn.execute(
        f"select {_COLUMNS} from invitations where id = %s{suffix}", (invitation_id,)
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def _lock_with_joiner_team(invitation_id: int) -> Statement:
    team_columns = ", ".join(f"t.{name} as joiner_team_{name}" for name in _TEAM_FIELDS)
    i_columns = ", ".join(f"i.{name.strip()}" for name in _COLUMNS.split(","))
    return (
        f"select {i_columns}, {team_columns} from invitations i"
        " left join team_members m on m.user_id ="
        "  case when i.kind = 'invite' then i.recipient_id else i.sender_id end"
        " left join teams t on t.id = m.team_id"
        " where i.id = %s for update of i",
        (invitation_id,),
    )


def _with_joiner_team(row: dict[str, Any] | None) -> tuple[InvitationRow | None, TeamRow | None]:
    if row is None:
        return None, None
    team = {name: row.pop(f"joiner_team_{name}") for name in _TEAM_FIELDS}
    return InvitationRow(**row), None if team["id"] is None else TeamRow(**team)


def lock_with_joiner_team(
    conn: Connection, invitation_id: int
) -> tuple[InvitationRow | None, TeamRow | None]:
    """The invitation, locked (take its team's lock first), and the team the person who
    would join by it is in now (an invite's recipient, a request's sender), if any."""
    return _with_joiner_team(conn.execute(*_lock_with_joiner_team(invitation_id)).fetchone())


def lock_for_answer(
    conn: Connection, invitation_id: int
) -> tuple[TeamRow | None, InvitationRow | None, TeamRow | None]:
    """Its team locked, then the invitation (`lock_with_joiner_team`), in that order and in
    one round trip (the server runs them one after the other)."""
    teams, invitations = together(
        conn,
        (
            f"select {', '.join(_TEAM_FIELDS)} from teams"
            " where id = (select team_id from invitations where id = %s) for update",
            (invitation_id,),
        ),
        _lock_with_joiner_team(invitation_id),
    )
    invitation, joiner_team = _with_joiner_team(invitations[0] if invitations else None)
    return (TeamRow(**teams[0]) if teams else None), invitation, joiner_team


def close(
    conn: Connection,
    invitation_id: int,
    status: str,
    *,
    unexpired: bool = True,
    joining: tuple[int, int] | None = None,
) -> InvitationRow | None:
    """Accept, decline or cancel; None unless it was pending (and, with `unexpired`, not
    overdue). Who may do it is the service's business. `joining` (team, person): the
    person joins the team with it, in the same statement."""
    join = (
        ", joined as (insert into team_members (team_id, user_id)"
        " select %(team)s, %(person)s from closed on conflict do nothing)"
        if joining
        else ""
    )
    row = conn.execute(
        f"with closed as (update invitations set status = %(status)s, answered_at = now()"
        f" where id = %(id)s and status = 'pending'"
        f"{' and expires_at > now()' if unexpired else ''} returning {_COLUMNS}){join}"
        f" select * from closed",
        {
            "status": status,
            "id": invitation_id,
            "team": joining[0] if joining else None,
            "person": joining[1] if joining else None,
        },
    ).fetchone()
    return None if row is None else InvitationRow(**row)


def closing(
    conn: Connection, invitation_id: int, people: list[int]
) -> tuple[dict[int, UserRow], list[LiveMessage]]:
    """For a closed invitation, in one round trip: the people it concerns, and the messages
    that show its buttons, taken (their edits commit with this transaction, in the outbox)."""
    rows, shown = together(
        conn,
        (f"select {users.prefixed('u')} from users u where u.id = any(%s)", (people,)),
        (
            f"delete from invitation_messages m using invitations i"
            f" where i.id = m.invitation_id and m.invitation_id = %s returning {_MESSAGE}",
            (invitation_id,),
        ),
    )
    return {int(row["id"]): UserRow(**row) for row in rows}, _messages(shown)


def pending_of(conn: Connection, user_id: int) -> list[PendingView]:
    """Pending invitations either way, oldest first, with both names and the team's."""
    rows = conn.execute(
        "select i.id, i.sender_id, i.recipient_id, i.team_id, i.kind, i.note, i.status,"
        " i.expires_at, s.display_name as sender_name, r.display_name as recipient_name,"
        " t.name as team_name"
        " from invitations i join users s on s.id = i.sender_id"
        " join users r on r.id = i.recipient_id left join teams t on t.id = i.team_id"
        " where i.status = 'pending' and i.expires_at > now()"
        " and (i.sender_id = %(me)s or i.recipient_id = %(me)s) order by i.created_at, i.id",
        {"me": user_id},
    ).fetchall()
    names = ("sender_name", "recipient_name", "team_name")
    return [
        PendingView(
            InvitationRow(**{k: v for k, v in row.items() if k not in names}),
            row["sender_name"],
            row["recipient_name"],
            row["team_name"],
        )
        for row in rows
    ]


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


def cancel_pending_outside_team(conn: Connection, user_id: int, team_id: int) -> list[int]:
    """Someone becomes a team's owner: their own requests and co-founder connects do not fit
    a team's card, so they close; the team's invitations stay. Returns the closed ids."""
    rows = conn.execute(
        "update invitations set status = 'cancelled', answered_at = now()"
        " where status = 'pending' and (sender_id = %s or recipient_id = %s)"
        " and team_id is distinct from %s returning id",
        (user_id, user_id, team_id),
    ).fetchall()
    return [int(row["id"]) for row in rows]


def hand_over_team(conn: Connection, team_id: int, old_owner: int, new_owner: int) -> list[int]:
    """The team's pending invitations follow the owner: invites are now from the new owner,
    requests to them. One between the two owners would become a self-invitation, so it
    closes (call cancel_pending_outside_team for the new owner first: then no other pending
    invitation can share a pair with the moved ones). Returns the closed ids."""
    rows = conn.execute(
        "update invitations set status = 'cancelled', answered_at = now()"
        " where team_id = %s and status = 'pending'"
        " and (sender_id = %s or recipient_id = %s) returning id",
        (team_id, new_owner, new_owner),
    ).fetchall()
    conn.execute(
        "update invitations set"
        " sender_id = case when sender_id = %(old)s then %(new)s else sender_id end,"
        " recipient_id = case when recipient_id = %(old)s then %(new)s else recipient_id end"
        " where team_id = %(team)s and status = 'pending'",
        {"old": old_owner, "new": new_owner, "team": team_id},
    )
    return [int(row["id"]) for row in rows]


# --- messages that show an invitation's buttons (see 0007_live_keyboards.sql)

_MESSAGE = "m.invitation_id, m.chat_id, m.message_id, m.body, m.language, i.status"


def record_messages(conn: Connection, shown: list[LiveMessage]) -> dict[int, str]:
    """Remember messages just sent with an invitation's buttons. One whose invitation closed
    meanwhile (another member answered first) is not recorded: returns those invitations'
    statuses, so the caller edits the message at once. The share lock makes an answer
    running now wait for this, so its edits include these messages."""
    ids = sorted({message.invitation_id for message in shown})
    rows = conn.execute(
        """
        with shown (invitation_id, chat_id, message_id, body, language) as (
            select * from unnest(%(ids)s::bigint[], %(chats)s::bigint[], %(messages)s::bigint[],
                                 %(bodies)s::text[], %(languages)s::text[])),
        current as (
            select id, status from invitations
            where id in (select invitation_id from shown) for share),
        recorded as (
            insert into invitation_messages (invitation_id, chat_id, message_id, body, language)
            select s.* from shown s join current c on c.id = s.invitation_id
            where c.status = 'pending' on conflict do nothing)
        select id, status from current
        """,
        {
            "ids": [m.invitation_id for m in shown],
            "chats": [m.chat_id for m in shown],
            "messages": [m.message_id for m in shown],
            "bodies": [m.body for m in shown],
            "languages": [m.language for m in shown],
        },
    ).fetchall()
    statuses = {int(row["id"]): str(row["status"]) for row in rows}
    # an invitation that is gone went with its team: as good as cancelled
    return {i: statuses.get(i, "cancelled") for i in ids if statuses.get(i) != "pending"}


def _messages(rows: list[dict[str, Any]]) -> list[LiveMessage]:
    return [LiveMessage(**row) for row in rows]


def messages_of(conn: Connection, invitation_ids: list[int]) -> list[LiveMessage]:
    """The messages to edit now that these invitations are closed. They stay recorded until
    `forget_messages`, so a crash before the edits leaves them to the cleanup's sweep."""
    rows = conn.execute(
        f"select {_MESSAGE} from invitation_messages m join invitations i"
        f" on i.id = m.invitation_id where m.invitation_id = any(%s)",
        (invitation_ids,),
    ).fetchall()
    return _messages(rows)


def forget_messages(conn: Connection, edited: list[LiveMessage]) -> None:
    """They were edited (or Telegram refused the edit): nothing left to do for them."""
    conn.execute(
        "delete from invitation_messages where (invitation_id, chat_id, message_id) in"
        " (select * from unnest(%s::bigint[], %s::bigint[], %s::bigint[]))",
        (
            [m.invitation_id for m in edited],
            [m.chat_id for m in edited],
            [m.message_id for m in edited],
        ),
    )


def team_messages(conn: Connection, team_id: int) -> list[LiveMessage]:
    """The team is about to be deleted, and its invitations and their records with it
    (CASCADE): their messages, to be edited as cancelled."""
    rows = conn.execute(
        f"select {_MESSAGE} from invitation_messages m join invitations i"
        f" on i.id = m.invitation_id where i.team_id = %s",
        (team_id,),
    ).fetchall()
    return [LiveMessage(**{**row, "status": "cancelled"}) for row in rows]


def closed_messages_of(conn: Connection, user_id: int) -> list[LiveMessage]:
    """Messages of the person's invitations that are no longer pending (a ban closed them)."""
    rows = conn.execute(
        f"select {_MESSAGE} from invitation_messages m join invitations i"
        f" on i.id = m.invitation_id where i.status <> 'pending'"
        f" and (i.sender_id = %s or i.recipient_id = %s)",
        (user_id, user_id),
    ).fetchall()
    return _messages(rows)


def closed_messages(conn: Connection, batch: int) -> list[LiveMessage]:
    """One batch of messages whose invitation closed without them being edited: expired,
    closed by an account deletion or a change of owner, or a crash came between an answer
    and its edits. The cleanup edits and forgets them."""
    rows = conn.execute(
        f"select {_MESSAGE} from invitation_messages m join invitations i"
        f" on i.id = m.invitation_id where i.status <> 'pending' limit %s",
        (batch,),
    ).fetchall()
    return _messages(rows)
