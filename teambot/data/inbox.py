"""Updates received by webhook and not yet handled (webhook mode's durable inbox)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection
from teambot.data import handled_updates

# NOTIFYed when an update is stored: the leader may be another instance (actors/leadership.py)
CHANNEL = "teambot_inbox"


def store(conn: Connection, update_id: int, body: dict[str, Any]) -> bool:
    """Keep the update until it is handled, and tell the listening leader at the commit;
    False when it is here or was handled already (Telegram delivers again when it missed
    our answer)."""
    cur = conn.execute(
        "with stored as (insert into inbox (update_id, body)"
        " select %(id)s, %(body)s"
        " where not exists (select 1 from handled_updates where update_id = %(id)s)"
        " on conflict do nothing returning update_id)"
        " select pg_notify(%(channel)s, '') from stored",
        {"id": update_id, "body": Jsonb(body), "channel": CHANNEL},
    )
    return cur.rowcount == 1


def waiting(conn: Connection, skip: list[int], limit: int) -> tuple[list[dict[str, Any]], float]:
    """The oldest stored updates, in update_id order, leaving out `skip` (those in hand),
    and how long the oldest of them has waited (seconds; 0 when none)."""
    rows = conn.execute(
        "select body, extract(epoch from now() - received_at)::float8 as age from inbox"
        " where update_id <> all(%s::bigint[]) order by update_id limit %s",
        (skip, limit),
    ).fetchall()
    return [row["body"] for row in rows], max((row["age"] for row in rows), default=0.0)


def done(conn: Connection, update_ids: list[int]) -> None:
    """Handled (or to be dropped): out of the inbox, and remembered as handled."""
    handled_updates.record(conn, update_ids)
    conn.execute("delete from inbox where update_id = any(%s::bigint[])", (update_ids,))
