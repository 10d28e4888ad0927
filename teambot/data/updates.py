"""The first read of an update's unit of work, and the check that it is still current."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from teambot.adapters.database import Connection, one_statement, prepared
from teambot.data import users
from teambot.data.fsm import Dialogue
from teambot.domain import UserRow


@dataclass(frozen=True)
class Sender:
    """A person writing in their private chat, as their update names them."""

    id: int
    dialogue_key: str
    username: str | None
    first_name: str
    last_name: str | None


@dataclass(frozen=True)
class FirstRead:
    """What every update from a person needs first: their row (None: new to the bot) as
    `users.refresh` will leave it, whether it needs that refresh, and their dialogue; with
    the versions (xmin) of both rows as read."""

    me: UserRow | None
    out_of_date: bool
    dialogue: Dialogue
    person_version: str | None
    dialogue_version: str | None


_READ = (
    f"select {users.prefixed('u')}, u.id is not null and {users.OUT_OF_DATE} as out_of_date,"
    " u.xmin::text as person_version, f.xmin::text as dialogue_version,"
    " f.state as fsm_state, f.data as fsm_data, f.update_id as fsm_update"
    " from unnest(%(ids)s::bigint[], %(keys)s::text[], %(usernames)s::text[],"
    " %(first_names)s::text[], %(last_names)s::text[]) with ordinality"
    " as k(id, fsm_key, username, first_name, last_name, n)"
    " left join users u on u.id = k.id left join fsm_states f on f.key = k.fsm_key"
    " order by k.n"
)


@one_statement
def read(conn: Connection, senders: Sequence[Sender]) -> list[FirstRead]:
    """The first reads of many updates in one statement, in the order of `senders`."""
    rows = conn.execute(
        _READ,
        {
            "ids": [s.id for s in senders],
            "keys": [s.dialogue_key for s in senders],
            "usernames": [s.username for s in senders],
            "first_names": [s.first_name for s in senders],
            "last_names": [s.last_name for s in senders],
        },
    ).fetchall()
    return [_first_read(row, sender) for row, sender in zip(rows, senders, strict=True)]


def _first_read(row: dict[str, Any], sender: Sender) -> FirstRead:
    state, data, update_id = row.pop("fsm_state"), row.pop("fsm_data"), row.pop("fsm_update")
    dialogue = Dialogue(state, dict(data or {}), update_id)
    out_of_date = bool(row.pop("out_of_date"))
    person_version, dialogue_version = row.pop("person_version"), row.pop("dialogue_version")
    me = None if row["id"] is None else UserRow(**row)
    if me is not None and out_of_date:
        me = replace(me, username=sender.username, first_name=sender.first_name)
    return FirstRead(me, out_of_date, dialogue, person_version, dialogue_version)


def begin(
    conn: Connection, sender: Sender, *, language: str, first: FirstRead | None = None
) -> FirstRead:
    """The first read inside the update's transaction, where `first` (read before it) is
    missing; a person new to the bot is created here (the update's other writes may refer
    to them)."""
    if first is None:
        first = read(conn, [sender])[0]
    if first.me is not None:
        return first
    me = users.seen(
        conn,
        sender.id,
        username=sender.username,
        first_name=sender.first_name,
        last_name=sender.last_name,
        language=language,
    )
    return replace(first, me=me, out_of_date=False)


def refresh(conn: Connection, sender: Sender) -> None:
    """The person's row brought up to date (`FirstRead.out_of_date`), sent with the COMMIT."""
    users.refresh(
        conn,
        sender.id,
        username=sender.username,
        first_name=sender.first_name,
        last_name=sender.last_name,
    )


_CONFIRM = prepared(
    "select first_read_is_current(%(id)s, %(person_version)s, %(key)s, %(dialogue_version)s)"
)


def confirm(conn: Connection, sender: Sender, first: FirstRead) -> None:
    """The transaction goes on only while `first` is what a read now would find (migration
    0026): a serialization failure otherwise."""
    conn.execute(
        _CONFIRM,
        {
            # a new person is created by the transaction itself
            "id": sender.id if first.me is not None else None,
            "person_version": first.person_version,
            "key": sender.dialogue_key,
            "dialogue_version": first.dialogue_version,
        },
    )
