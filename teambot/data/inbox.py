"""Updates received and not yet handled: the durable inbox. The webhook endpoint stores each
update Telegram posts before answering it; the poller stores each batch of getUpdates
before confirming it."""

from __future__ import annotations

import json
from typing import Any

from teambot.adapters.database import Connection, one_statement
from teambot.data import handled_updates

# NOTIFYed when an update is stored: the leader may be another instance (actors/leadership.py)
CHANNEL = "teambot_inbox"


@one_statement
def store(conn: Connection, update_id: int, body: dict[str, Any]) -> bool:
    """Keep the update until it is handled, and tell the listening leader at the commit;
    False when it is here or was handled already (Telegram delivers again when it missed
    our answer)."""
    cur = conn.execute(
        "with stored as (insert into inbox (update_id, body)"
        " select %(id)s, %(body)s::jsonb"
        " where not exists (select 1 from handled_updates where update_id = %(id)s)"
        " on conflict do nothing returning update_id)"
        " select pg_notify(%(channel)s, '') from stored",
        {"id": update_id, "body": _json(body), "channel": CHANNEL},
    )
    return cur.rowcount == 1


@one_statement
def store_fetched(conn: Connection, updates: list[dict[str, Any]]) -> set[int]:
    """Keep a batch of polled updates until each is handled; returns the ids handled
    before, which are left out. The batch goes as one JSON text (an array of jsonb would
    be quoted value by value on the client)."""
    rows = conn.execute(
        "with batch as (select (b ->> 'update_id')::bigint as id, b as body"
        "  from jsonb_array_elements(%(batch)s::jsonb) as b),"
        " handled as (select update_id from handled_updates"
        "  where update_id in (select id from batch)),"
        " stored as (insert into inbox (update_id, body)"
        "  select id, body from batch"
        "  where id not in (select update_id from handled) on conflict do nothing)"
        " select update_id from handled",
        {"batch": _json(updates)},
    ).fetchall()
    return {int(row["update_id"]) for row in rows}


def _json(value: Any) -> str:
    """jsonb refuses the NUL character, which a forged update may carry in any string:
    stored as U+FFFD instead, so such an update is handled (and refused) like any other
    rather than never stored."""
    text = json.dumps(value)
    if "\\u0000" in text:
        text = json.dumps(_without_nul(value))
    return text


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


@one_statement
def oldest_age(conn: Connection, skip: list[int]) -> float:
    """How long the oldest stored update, leaving out `skip` (those in hand), has waited
    (seconds; 0 when none)."""
    row = conn.execute(
        "select extract(epoch from now() - received_at)::float8 as age from inbox"
        " where update_id <> all(%s::bigint[]) order by update_id limit 1",
        (skip,),
    ).fetchone()
    return float(row["age"]) if row else 0.0


@one_statement
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
