"""Teams and their members."""

from __future__ import annotations

from dataclasses import dataclass

from teambot.adapters.database import Connection


@dataclass(frozen=True)
class TeamRow:
    id: int
    owner_id: int
    name: str
    description: str
    roles_needed: list[str]


def upsert_owned(
    conn: Connection, owner_id: int, *, name: str, description: str, roles_needed: list[str]
) -> int:
    row = conn.execute(
        "insert into teams (owner_id, name, description, roles_needed) values (%s, %s, %s, %s)"
        " on conflict (owner_id) do update set name = excluded.name,"
        " description = excluded.description, roles_needed = excluded.roles_needed"
        " returning id",
        (owner_id, name, description, roles_needed),
    ).fetchone()
    assert row is not None
    team_id = int(row["id"])
    conn.execute(
        "insert into team_members (team_id, user_id) values (%s, %s) on conflict do nothing",
        (team_id, owner_id),
    )
    return team_id


def owned_by(conn: Connection, owner_id: int) -> TeamRow | None:
    row = conn.execute(
        "select id, owner_id, name, description, roles_needed from teams where owner_id = %s",
        (owner_id,),
    ).fetchone()
    return None if row is None else TeamRow(**row)
