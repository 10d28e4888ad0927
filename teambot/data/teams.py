"""Teams and their members."""

from __future__ import annotations

from teambot.adapters.database import Connection
from teambot.domain import TeamRow

_COLUMNS = "id, owner_id, name, description, roles_needed, join_token, size_limit"
_EDITABLE = frozenset({"name", "description", "roles_needed", "size_limit"})


def upsert_owned(
    conn: Connection,
    owner_id: int,
    *,
    name: str,
    description: str,
    roles_needed: list[str],
    size_limit: int | None = None,
) -> int:
    row = conn.execute(
        "insert into teams (owner_id, name, description, roles_needed, size_limit)"
        " values (%s, %s, %s, %s, %s)"
        " on conflict (owner_id) do update set name = excluded.name,"
        " description = excluded.description, roles_needed = excluded.roles_needed,"
        " size_limit = excluded.size_limit returning id",
        (owner_id, name, description, roles_needed, size_limit),
    ).fetchone()
    assert row is not None
    team_id = int(row["id"])
    conn.execute(
        "insert into team_members (team_id, user_id) values (%s, %s) on conflict do nothing",
        (team_id, owner_id),
    )
    return team_id


def owned_by(conn: Connection, owner_id: int) -> TeamRow | None:
    row = conn.execute(f"select {_COLUMNS} from teams where owner_id = %s", (owner_id,)).fetchone()
    return None if row is None else TeamRow(**row)


def get(conn: Connection, team_id: int, *, lock: bool = False) -> TeamRow | None:
    """`lock` holds the row until the transaction ends, so two changes to one team (a double
    tap, the owner and a member at once) run one after the other and see each other."""
    suffix = " for update" if lock else ""
    row = conn.execute(f"select {_COLUMNS} from teams where id = %s{suffix}", (team_id,)).fetchone()
    return None if row is None else TeamRow(**row)


def of_member(conn: Connection, user_id: int) -> TeamRow | None:
    """The team the person is in (owners are members of their own team)."""
    row = conn.execute(
        "select t.id, t.owner_id, t.name, t.description, t.roles_needed, t.join_token"
        " from teams t join team_members m on m.team_id = t.id where m.user_id = %s",
        (user_id,),
    ).fetchone()
    return None if row is None else TeamRow(**row)


def of_profile(conn: Connection, user_id: int) -> tuple[TeamRow | None, bool]:
    """The team the person owns (their card shows it), and whether they are in a team at
    all (their own or another), in one statement."""
    rows = conn.execute(
        f"select {_COLUMNS}, owner_id = %(me)s as owned, exists(select 1 from team_members m"
        f" where m.team_id = teams.id and m.user_id = %(me)s) as member from teams"
        f" where owner_id = %(me)s"
        f" or id = (select team_id from team_members where user_id = %(me)s)",
        {"me": user_id},
    ).fetchall()
    owned, in_team = None, False
    for row in rows:
        in_team = in_team or bool(row.pop("member"))
        if row.pop("owned"):
            owned = TeamRow(**row)
    return owned, in_team


def names(conn: Connection, team_ids: list[int]) -> dict[int, str]:
    rows = conn.execute("select id, name from teams where id = any(%s)", (team_ids,))
    return {int(row["id"]): str(row["name"]) for row in rows.fetchall()}


def by_token(conn: Connection, token: str) -> TeamRow | None:
    row = conn.execute(f"select {_COLUMNS} from teams where join_token = %s", (token,)).fetchone()
    return None if row is None else TeamRow(**row)


def is_member(conn: Connection, team_id: int, user_id: int) -> bool:
    row = conn.execute(
        "select 1 from team_members where team_id = %s and user_id = %s", (team_id, user_id)
    ).fetchone()
    return row is not None


def update(conn: Connection, team_id: int, **fields: object) -> TeamRow | None:
    """The team as it is now; None when it is gone."""
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    row = conn.execute(
        f"update teams set {assignments} where id = %(id)s returning {_COLUMNS}",
        {**fields, "id": team_id},
    ).fetchone()
    return None if row is None else TeamRow(**row)


def remove_member(conn: Connection, team_id: int, user_id: int) -> bool:
    """False when they were not in the team (already removed, left, or never joined). The
    owner is never removed this way: a team always has its owner among its members."""
    cur = conn.execute(
        "delete from team_members m using teams t where t.id = m.team_id"
        " and m.team_id = %s and m.user_id = %s and m.user_id <> t.owner_id",
        (team_id, user_id),
    )
    return cur.rowcount == 1


def set_owner(conn: Connection, team_id: int, owner_id: int) -> None:
    conn.execute("update teams set owner_id = %s where id = %s", (owner_id, team_id))


def delete(conn: Connection, team_id: int) -> bool:
    """Members and every invitation of the team go with it (ON DELETE CASCADE)."""
    cur = conn.execute("delete from teams where id = %s", (team_id,))
    return cur.rowcount == 1


def set_join_token(conn: Connection, team_id: int, token: str | None) -> TeamRow | None:
    """The team with its new token; None when it is gone."""
    row = conn.execute(
        f"update teams set join_token = %s where id = %s returning {_COLUMNS}", (token, team_id)
    ).fetchone()
    return None if row is None else TeamRow(**row)
