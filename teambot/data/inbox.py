"""Updates received by webhook and not yet handled (webhook mode's durable inbox)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection


def store(conn: Connection, update_id: int, body: dict[str, Any]) -> bool:
    """Keep the update until it is handled; False when it is here or was handled already
    (Telegram delivers again when it missed our answer)."""
    cur = conn.execute(
        "insert into inbox (update_id, body)"
        " select %(id)s, %(body)s"
        " where not exists (select 1 from handled_updates where update_id = %(id)s)"
        " on conflict do nothing",
        {"id": update_id, "body": Jsonb(body)},
    )
    return cur.rowcount == 1


def waiting(conn: Connection, skip: list[int], limit: int) -> list[dict[str, Any]]:
    """The oldest stored updates, in update_id order, leaving out `skip` (those in hand)."""
    rows = conn.execute(
        "select body from inbox where update_id <> all(%s::bigint[]) order by update_id limit %s",
        (skip, limit),
    ).fetchall()
    return [row["body"] for row in rows]


def done(conn: Connection, update_ids: list[int]) -> None:
    """Handled (or to be dropped): out of the inbox, and remembered as handled."""
    conn.execute(
        "insert into handled_updates (update_id) select unnest(%s::bigint[])"
        " on conflict do nothing",
        (update_ids,),
    )
    conn.execute("delete from inbox where update_id = any(%s::bigint[])", (update_ids,))


def oldest_age(conn: Connection) -> float:
    """Seconds the oldest waiting update has waited (0 when none waits)."""
    row = conn.execute(
        "select coalesce(extract(epoch from now() - min(received_at)), 0)::float8 as age from inbox"
    ).fetchone()
    return float(row["age"]) if row else 0.0
