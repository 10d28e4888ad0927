"""Moderation: bans and the numbers admins look at."""

from __future__ import annotations

from typing import Any

from teambot.adapters.database import Connection
from teambot.data import invitations


def set_banned(conn: Connection, user_id: int, banned: bool) -> bool | None:
    """None: no such user; otherwise whether this changed anything. A ban cancels the
    user's pending invitations; the banned user is told once, on their next message."""
    row = conn.execute(
        "select is_banned from users where id = %s for update", (user_id,)
    ).fetchone()
    if row is None:
        return None
    if row["is_banned"] == banned:
        return False
    conn.execute(
        "update users set is_banned = %s, ban_notified = false where id = %s", (banned, user_id)
    )
    if banned:
        invitations.cancel_all_pending(conn, user_id)
    return True


_STATS = """
select
    count(*) filter (where registered_at is not null and deleted_at is null) as registered,
    count(*) filter (where user_type = 'participant' and registered_at is not null
                     and deleted_at is null) as participant,
    count(*) filter (where user_type = 'cofounder' and registered_at is not null
                     and deleted_at is null) as cofounder,
    count(*) filter (where user_type = 'team' and registered_at is not null
                     and deleted_at is null) as team,
    count(*) filter (where is_searching and deleted_at is null and not is_banned) as searching,
    count(*) filter (where last_active > now() - interval '7 days' and deleted_at is null)
        as active_week,
    count(*) filter (where is_banned) as banned,
    count(*) filter (where deleted_at is not null) as deleted,
    (select count(*) from teams) as teams,
    (select count(*) from team_members) as members,
    (select count(*) from invitations where status = 'pending') as pending,
    (select count(*) from invitations where created_at > now() - interval '7 days') as sent_week,
    (select count(*) from invitations where status = 'accepted'
        and answered_at > now() - interval '7 days') as accepted_week,
    (select count(*) from invitations where status = 'declined'
        and answered_at > now() - interval '7 days') as declined_week,
    (select count(*) from invitations where status = 'expired'
        and expires_at > now() - interval '7 days') as expired_week,
    (select count(*) from reports where created_at > now() - interval '7 days') as reports_week
from users
"""


def stats(conn: Connection) -> dict[str, Any]:
    row = conn.execute(_STATS).fetchone()
    assert row is not None
    return dict(row)
