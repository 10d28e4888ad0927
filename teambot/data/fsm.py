"""Dialogue state rows for the aiogram FSM storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from teambot.adapters.database import Connection, prepared


@dataclass
class Dialogue:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    update_id: int | None = None  # the update whose handling wrote it


def read(conn: Connection, key: str) -> Dialogue:
    row = conn.execute(
        "select state, data, update_id from fsm_states where key = %s", (key,)
    ).fetchone()
    return (
        Dialogue() if row is None else Dialogue(row["state"], dict(row["data"]), row["update_id"])
    )


_STORE = prepared(
    "insert into fsm_states (key, state, data, update_id)"
    " values (%(key)s, %(state)s, %(data)s, %(update_id)s)"
    " on conflict (key) do update"
    " set state = excluded.state, data = excluded.data, updated_at = now(),"
    " update_id = excluded.update_id"
    " where fsm_states.update_id is null or fsm_states.update_id < excluded.update_id"
)


def store(conn: Connection, dialogues: dict[str, Dialogue], update_id: int) -> None:
    """Every row, tagged with `update_id` (not over a row a newer update wrote). Sent with an
    update's COMMIT: the update's handled mark, written with them, is what refuses a second
    handling."""
    for key, dialogue in dialogues.items():
        conn.execute(
            _STORE,
            {
                "key": key,
                "state": dialogue.state,
                "data": Jsonb(dialogue.data),
                "update_id": update_id,
            },
        )


# Outside an update's handling (jobs, aiogram used without teambot's dispatch) one statement
# per change, untagged.


def set_state(conn: Connection, key: str, state: str | None) -> None:
    conn.execute(
        "insert into fsm_states (key, state) values (%s, %s)"
        " on conflict (key) do update set state = excluded.state, updated_at = now()",
        (key, state),
    )


def merge_data(conn: Connection, key: str, data: dict[str, Any], replace: bool) -> dict[str, Any]:
    """dict.update (or replacing the data) in one statement: no writer loses another's keys."""
    merged = "excluded.data" if replace else "fsm_states.data || excluded.data"
    row = conn.execute(
        "insert into fsm_states (key, data) values (%s, %s)"
        f" on conflict (key) do update set data = {merged}, updated_at = now() returning data",
        (key, Jsonb(data)),
    ).fetchone()
    assert row is not None
    return dict(row["data"])


def forget_idle(conn: Connection, days: int) -> int:
    cur = conn.execute(
        "delete from fsm_states where updated_at < now() - make_interval(days => %s)", (days,)
    )
    return cur.rowcount
