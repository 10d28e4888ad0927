"""The outbox: messages written with the change they tell about, sent after it commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection
from teambot.data import handled_updates

BLOCK = 1024  # outbox ids handed out per `next_block`


@dataclass(frozen=True)
class Row:
    id: int
    method: str
    payload: dict[str, Any]
    background: bool
    if_undelivered: dict[str, Any] | None
    chat_id: int | None = None


@dataclass(frozen=True)
class Done:
    """A row's outcome: sent (with Telegram's message id, if it sent one) or refused."""

    id: int
    message_id: int | None = None
    error: str | None = None
    unreachable_chat: int | None = None  # Telegram says this chat is closed to the bot


def next_block(conn: Connection) -> int:
    """The first of BLOCK fresh row ids (a sequence: never rolled back, never repeated)."""
    row = conn.execute("select nextval('outbox_id_blocks') as block").fetchone()
    assert row is not None
    return int(row["block"]) * BLOCK


def insert(
    conn: Connection, update_id: int | None, rows: list[Row], *, handled: bool = False
) -> None:
    """The unit of work's messages; with `handled`, also `update_id`'s handled mark
    (handled_updates.MARKING), in the same statement. Plain VALUES rather than unnest over
    arrays: half the client CPU for the one or two rows an update writes."""
    mark = handled and update_id is not None
    if not rows:
        if mark:
            assert update_id is not None
            handled_updates.mark(conn, update_id)
        return
    params: dict[str, Any] = {"update_id": update_id}
    values = []
    for n, row in enumerate(rows):
        values.append(
            f"(%(i{n})s, %(update_id)s, %(c{n})s, %(m{n})s, %(p{n})s, %(b{n})s, %(u{n})s, now())"
        )
        params |= {
            f"i{n}": row.id,
            f"c{n}": row.chat_id,
            f"m{n}": row.method,
            f"p{n}": Jsonb(row.payload),
            f"b{n}": row.background,
            f"u{n}": None if row.if_undelivered is None else Jsonb(row.if_undelivered),
        }
    conn.execute(
        (f"with {handled_updates.MARKING} " if mark else "")
        + "insert into outbox (id, update_id, chat_id, method, payload, background,"
        " if_undelivered, claimed_at) values " + ", ".join(values),
        params,
    )


def mark_done(conn: Connection, done: list[Done], released: list[int]) -> None:
    """Record outcomes; fix invitation_messages that named a message by its provisional id;
    keep people Telegram says are unreachable out of search (until they write again). The
    `released` rows were left for later: the sweep may take them."""
    if released:
        conn.execute(
            "update outbox set claimed_at = null where id = any(%s::bigint[])", (released,)
        )
    if not done:
        return
    ids = [item.id for item in done]
    conn.execute(
        "update outbox o set sent_at = now(), message_id = t.m, error = t.e"
        " from unnest(%s::bigint[], %s::bigint[], %s::text[]) as t(i, m, e)"
        " where o.id = t.i",
        (ids, [item.message_id for item in done], [item.error for item in done]),
    )
    sent = [item for item in done if item.message_id is not None]
    if sent:
        conn.execute(
            "update invitation_messages m set message_id = t.m"
            " from unnest(%s::bigint[], %s::bigint[]) as t(i, m) where m.message_id = -t.i",
            ([item.id for item in sent], [item.message_id for item in sent]),
        )
    lost = [item.id for item in done if item.error is not None]
    if lost:
        conn.execute(
            "delete from invitation_messages where message_id = any(%s::bigint[])",
            ([-item for item in lost],),
        )
    closed = sorted({item.unreachable_chat for item in done if item.unreachable_chat is not None})
    if closed:
        conn.execute(
            "update users set unreachable_since = now()"
            " where id = any(%s::bigint[]) and unreachable_since is null",
            (closed,),
        )


def claim_unsent(conn: Connection, limit: int) -> list[Row]:
    """The oldest rows nobody is sending, claimed for the caller."""
    rows = conn.execute(
        "update outbox set claimed_at = now() where id in ("
        " select id from outbox where sent_at is null and claimed_at is null"
        " order by id limit %s for update skip locked)"
        " returning id, method, payload, background, if_undelivered, chat_id",
        (limit,),
    ).fetchall()
    return sorted((Row(**row) for row in rows), key=lambda row: row.id)


def release_all(conn: Connection) -> int:
    """At start: the claims of a run that ended before sending are void."""
    cur = conn.execute(
        "update outbox set claimed_at = null where sent_at is null and claimed_at is not null"
    )
    return cur.rowcount


def message_ids(conn: Connection, row_ids: list[int]) -> dict[int, int | None]:
    """Telegram's ids of the messages these rows sent; None for a row still waiting to be
    sent. Rows refused, never written or forgotten are left out."""
    rows = conn.execute(
        "select id, message_id from outbox where id = any(%s::bigint[])"
        " and (sent_at is null or message_id is not null)",
        (row_ids,),
    ).fetchall()
    return {int(row["id"]): row["message_id"] for row in rows}


def forget_sent(conn: Connection, hours: float) -> int:
    """Sent rows past the time an edit could still name their messages."""
    cur = conn.execute(
        "delete from outbox where sent_at < now() - make_interval(hours => %s)", (hours,)
    )
    return cur.rowcount
