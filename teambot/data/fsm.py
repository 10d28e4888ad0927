"""Dialogue state rows for the aiogram FSM storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection


def get_state(conn: Connection, key: str) -> str | None:
    row = conn.execute("select state from fsm_states where key = %s", (key,)).fetchone()
    return None if row is None else row["state"]


def set_state(conn: Connection, key: str, state: str | None) -> None:
    conn.execute(
        "insert into fsm_states (key, state) values (%s, %s)"
        " on conflict (key) do update set state = excluded.state, updated_at = now()",
        (key, state),
    )


def get_data(conn: Connection, key: str) -> dict[str, Any]:
    row = conn.execute("select data from fsm_states where key = %s", (key,)).fetchone()
    return {} if row is None else dict(row["data"])


def set_data(conn: Connection, key: str, data: Mapping[str, Any]) -> None:
    conn.execute(
        "insert into fsm_states (key, data) values (%s, %s)"
        " on conflict (key) do update set data = excluded.data, updated_at = now()",
        (key, Jsonb(dict(data))),
    )


def merge_data(conn: Connection, key: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """dict.update in one statement, so two writers cannot lose each other's keys."""
    row = conn.execute(
        "insert into fsm_states (key, data) values (%s, %s)"
        " on conflict (key) do update set data = fsm_states.data || excluded.data,"
        " updated_at = now() returning data",
        (key, Jsonb(dict(data))),
    ).fetchone()
    assert row is not None
    return dict(row["data"])


def forget_idle(conn: Connection, days: int) -> int:
    cur = conn.execute(
        "delete from fsm_states where updated_at < now() - make_interval(days => %s)", (days,)
    )
    return cur.rowcount
