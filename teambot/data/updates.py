"""The first round trip of an update's unit of work."""

from __future__ import annotations

from teambot.adapters.database import Connection
from teambot.data import users
from teambot.data.fsm import Dialogue
from teambot.domain import UserRow


def begin(
    conn: Connection,
    fsm_key: str,
    user_id: int,
    *,
    username: str | None,
    first_name: str,
    last_name: str | None,
    language: str,
) -> tuple[UserRow, Dialogue]:
    """What every update from a person in their private chat needs, in one round trip with
    the transaction's BEGIN (adapters/database.py: UnitConnection): the person, created or
    marked seen, and their dialogue's state."""
    row = conn.execute(
        f"with me as ({users.SEEN})"
        " select me.*, f.state as fsm_state, f.data as fsm_data, f.update_id as fsm_update"
        " from me left join fsm_states f on f.key = %(fsm_key)s",
        {
            "id": user_id,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "language": language,
            "fsm_key": fsm_key,
        },
    ).fetchone()
    assert row is not None
    state, data, update_id = row.pop("fsm_state"), row.pop("fsm_data"), row.pop("fsm_update")
    me = users.row_of(row)
    assert me is not None
    return me, Dialogue(state, dict(data or {}), update_id)
