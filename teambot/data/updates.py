"""The first round trip of an update's unit of work."""

from __future__ import annotations

from dataclasses import replace

from teambot.adapters.database import Connection, prepared
from teambot.data import users
from teambot.data.fsm import Dialogue
from teambot.domain import UserRow

_READ = prepared(
    f"select {users.prefixed('u')}, u.id is not null and {users.OUT_OF_DATE} as out_of_date,"
    " f.state as fsm_state, f.data as fsm_data, f.update_id as fsm_update"
    " from (select %(id)s::bigint as id) k left join users u on u.id = k.id"
    " left join fsm_states f on f.key = %(fsm_key)s"
)


def begin(
    conn: Connection,
    fsm_key: str,
    user_id: int,
    *,
    username: str | None,
    first_name: str,
    last_name: str | None,
    language: str,
) -> tuple[UserRow, Dialogue, bool]:
    """What every update from a person in their private chat needs, in one round trip with
    the transaction's BEGIN (adapters/database.py: UnitConnection): the person and their
    dialogue's state, and whether their row is out of date.

    A person new to the bot is created here (a second round trip: the update's other
    writes may refer to them). An out-of-date row is returned as `users.refresh` will
    make it, and the caller sends that with the COMMIT: a write to users costs PostgreSQL
    several times a read (the executor opens each of its score of indexes), and most
    updates would write what is there already."""
    person = {"username": username, "first_name": first_name, "last_name": last_name}
    row = conn.execute(_READ, {"id": user_id, "fsm_key": fsm_key} | person).fetchone()
    assert row is not None
    state, data, update_id = row.pop("fsm_state"), row.pop("fsm_data"), row.pop("fsm_update")
    dialogue = Dialogue(state, dict(data or {}), update_id)
    out_of_date = bool(row.pop("out_of_date"))
    if row["id"] is None:
        me = users.seen(
            conn,
            user_id,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language=language,
        )
        return me, dialogue, False
    me = UserRow(**row)
    if out_of_date:
        me = replace(me, username=username, first_name=first_name)
    return me, dialogue, out_of_date
