"""The outbox: messages written with the change they tell about, sent after it commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection, prepared
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


# The rows go as one JSON array: one statement text whatever their number (prepared: the
# text's plan is kept), and one value for psycopg to write out.
_INSERT = (
    "insert into outbox (id, update_id, chat_id, method, payload, background, if_undelivered,"
    " claimed_at) select r.id, %(update_id)s::bigint, r.chat_id, r.method, r.payload,"
    " r.background, r.if_undelivered, now() from jsonb_to_recordset(%(rows)s::jsonb) as r("
    " id bigint, chat_id bigint, method text, payload jsonb, background boolean,"
    " if_undelivered jsonb)"
)
_INSERT_UNMARKED = prepared(_INSERT)
_INSERT_MARKED = prepared(f"with {handled_updates.MARKING} {_INSERT}")


def insert(
    conn: Connection, update_id: int | None, rows: list[Row], *, handled: bool = False
) -> None:
    """The unit of work's messages; with `handled`, also `update_id`'s handled mark
    (handled_updates.MARKING), in the same statement."""
    mark = handled and update_id is not None
    if not rows:
        if mark:
            assert update_id is not None
            handled_updates.mark(conn, update_id)
        return
    conn.execute(
        _INSERT_MARKED if mark else _INSERT_UNMARKED,
        # a Row's fields are the record's columns
        {"update_id": update_id, "rows": Jsonb([vars(row) for row in rows])},
    )


_SENT = prepared(
    "update outbox o set sent_at = now(), message_id = t.m, error = t.e"
    " from unnest(%s::bigint[], %s::bigint[], %s::text[]) as t(i, m, e)"
    " where o.id = t.i"
)
_MESSAGE_IDS = prepared(
    "update invitation_messages m set message_id = t.m"
    " from unnest(%s::bigint[], %s::bigint[]) as t(i, m) where m.message_id = -t.i"
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
        _SENT,
        (ids, [item.message_id for item in done], [item.error for item in done]),
    )
    sent = [item for item in done if item.message_id is not None]
    if sent:
        conn.execute(
            _MESSAGE_IDS,
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
