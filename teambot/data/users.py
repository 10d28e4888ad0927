"""Users: who they are, what they do and look for, and whether they are searching."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from teambot.adapters.database import Connection, prepared
from teambot.data import invitations
from teambot.domain import UserRow

_COLUMNS = (
    "id, username, first_name, language, user_type, display_name, bio, skills, looking_for,"
    " is_searching, is_banned, ban_notified, registered_at, deleted_at, announcements,"
    # the matching fields (migration 0010)
    " hours_per_week, available_from, time_zone, utc_offset, work_mode, city, role_focus, stage,"
    " languages, links, want_commitment, want_time_zone, time_zone_hours, want_work_mode,"
    " want_role, wanted_roles, want_stage, wanted_stages, want_language, fields_offered_at"
)


def prefixed(alias: str) -> str:
    """The columns of a UserRow, read from the table under `alias`."""
    return ", ".join(f"{alias}.{name.strip()}" for name in _COLUMNS.split(","))


def row_of(row: dict[str, Any] | None) -> UserRow | None:
    return None if row is None else UserRow(**row)


# What a person's update refreshes in their row (parameters: username, first_name,
# last_name), and when their row `u` is out of date in that respect.
_REFRESHED = (
    "username = %(username)s, first_name = %(first_name)s, last_name = %(last_name)s,"
    # they wrote: they can be reached again (see mark_unreachable)
    " unreachable_since = null,"
    # back before the inactivity pause: "Still looking?" may be asked again next time
    " still_looking_asked_at = null,"
    # last_active is in the search indexes: a new value rewrites their entries, the same
    # value lets PostgreSQL update the row in place (HOT). A minute is precise enough for
    # recency and the 30-day inactivity rule.
    " last_active = case when users.last_active < now() - interval '1 minute'"
    " then now() else users.last_active end"
)
# (`k`: the names the update carries)
OUT_OF_DATE = (
    "((u.username, u.first_name, u.last_name)"
    " is distinct from (k.username, k.first_name, k.last_name)"
    " or u.unreachable_since is not null or u.still_looking_asked_at is not null"
    " or u.last_active < now() - interval '1 minute')"
)

# Create or refresh a user on any update from them; marks them active.
SEEN = (
    "insert into users (id, username, first_name, last_name, language)"
    " values (%(id)s, %(username)s, %(first_name)s, %(last_name)s, %(language)s)"
    f" on conflict (id) do update set {_REFRESHED} returning {_COLUMNS}"
)
_REFRESH = prepared(f"update users set {_REFRESHED} where id = %(id)s")


def seen(
    conn: Connection,
    user_id: int,
    *,
    username: str | None,
    first_name: str,
    last_name: str | None,
    language: str,
) -> UserRow:
    """Create or refresh a user on any update from them; marks them active."""
    row = conn.execute(
        SEEN,
        {
            "id": user_id,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "language": language,
        },
    ).fetchone()
    user = row_of(row)
    assert user is not None
    return user


def refresh(
    conn: Connection, user_id: int, *, username: str | None, first_name: str, last_name: str | None
) -> None:
    """SEEN for a person whose row exists, when what it returns is known already."""
    conn.execute(
        _REFRESH,
        {"id": user_id, "username": username, "first_name": first_name, "last_name": last_name},
    )


def get(conn: Connection, user_id: int) -> UserRow | None:
    return row_of(
        conn.execute(f"select {_COLUMNS} from users where id = %s", (user_id,)).fetchone()
    )


def members_of(conn: Connection, team_id: int) -> list[UserRow]:
    """A team's members whose accounts still exist (a deleted one waits for the purge to
    leave): the owner first, then everyone else in the order they joined."""
    columns = ", ".join(f"u.{name.strip()}" for name in _COLUMNS.split(","))
    rows = conn.execute(
        f"select {columns} from team_members m join teams t on t.id = m.team_id"
        f" join users u on u.id = m.user_id where m.team_id = %s and u.deleted_at is null"
        f" order by m.user_id = t.owner_id desc, m.joined_at, m.user_id",
        (team_id,),
    ).fetchall()
    return [UserRow(**row) for row in rows]


def get_many(conn: Connection, user_ids: list[int]) -> dict[int, UserRow]:
    rows = conn.execute(f"select {_COLUMNS} from users where id = any(%s)", (user_ids,))
    return {int(row["id"]): UserRow(**row) for row in rows.fetchall()}


def mark_unreachable(conn: Connection, user_id: int) -> None:
    """Telegram refused a message to them (blocked the bot, or never started it): out of
    search until they write to the bot again (`seen` clears it)."""
    conn.execute(
        "update users set unreachable_since = now() where id = %s and unreachable_since is null",
        (user_id,),
    )


def set_language(conn: Connection, user_id: int, language: str) -> None:
    conn.execute("update users set language = %s where id = %s", (language, user_id))


# What a person says about themselves beyond the tags (migration 0010), asked in the
# registration dialogue and edited in /profile.
MATCHING_FIELDS = frozenset(
    {
        "hours_per_week",
        "available_from",
        "time_zone",
        "utc_offset",
        "work_mode",
        "city",
        "role_focus",
        "stage",
        "languages",
        "links",
        "wanted_roles",
    }
)
# How much each of them matters to the person in someone else (0, 1, 2), and their ranges.
PREFERENCES = frozenset(
    {
        "want_commitment",
        "want_time_zone",
        "time_zone_hours",
        "want_work_mode",
        "want_role",
        "wanted_roles",
        "want_stage",
        "wanted_stages",
        "want_language",
    }
)


def register(
    conn: Connection,
    user_id: int,
    *,
    user_type: str,
    display_name: str,
    skills: list[str],
    looking_for: list[str],
    bio: str,
    **matching: object,
) -> None:
    """Complete (or redo, after deletion) a registration; the user starts searching. The
    dialogue asked the matching fields, so the offer to complete them is not made later."""
    _check(matching, MATCHING_FIELDS)
    extra = "".join(f", {name} = %({name})s" for name in matching)
    conn.execute(
        "update users set user_type = %(user_type)s, display_name = %(display_name)s,"
        " skills = %(skills)s, looking_for = %(looking_for)s, bio = %(bio)s,"
        " is_searching = true, registered_at = now(), deleted_at = null,"
        f" inactive_notified_at = null, fields_offered_at = now(){extra} where id = %(id)s",
        {
            **matching,
            "user_type": user_type,
            "display_name": display_name,
            "skills": skills,
            "looking_for": looking_for,
            "bio": bio,
            "id": user_id,
        },
    )


def _check(fields: dict[str, object], allowed: AbstractSet[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")


def update_profile(conn: Connection, user_id: int, **fields: object) -> None:
    _check(fields, {"display_name", "skills", "looking_for", "bio"} | MATCHING_FIELDS)
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    if MATCHING_FIELDS & set(fields):  # they answered: no offer to complete them later
        assignments += ", fields_offered_at = coalesce(fields_offered_at, now())"
    conn.execute(f"update users set {assignments} where id = %(id)s", {**fields, "id": user_id})


def set_preferences(conn: Connection, user_id: int, **fields: object) -> UserRow | None:
    """The person as they are now, with what they want of others changed."""
    _check(fields, PREFERENCES)
    assignments = ", ".join(f"{name} = %({name})s" for name in fields)
    return row_of(
        conn.execute(
            f"update users set {assignments} where id = %(id)s returning {_COLUMNS}",
            {**fields, "id": user_id},
        ).fetchone()
    )


def claim_fields_offer(conn: Connection, user_id: int) -> bool:
    """True once: the first time the offer to complete the matching fields is made."""
    row = conn.execute(
        "update users set fields_offered_at = now() where id = %s and fields_offered_at is null"
        " returning id",
        (user_id,),
    ).fetchone()
    return row is not None


def set_searching(conn: Connection, user_id: int, searching: bool) -> UserRow | None:
    """The user as they are now; None when there is no such user."""
    return row_of(
        conn.execute(
            f"update users set is_searching = %s, inactive_notified_at = null where id = %s"
            f" returning {_COLUMNS}",
            (searching, user_id),
        ).fetchone()
    )


def set_announcements(conn: Connection, user_id: int, on: bool) -> UserRow | None:
    """Whether they take the organizers' broadcasts; the user as they are now."""
    return row_of(
        conn.execute(
            f"update users set announcements = %s where id = %s returning {_COLUMNS}",
            (on, user_id),
        ).fetchone()
    )


def soft_delete(conn: Connection, user_id: int) -> None:
    """Hidden at once; personal data purged after the retention period."""
    conn.execute(
        "update users set deleted_at = now(), is_searching = false where id = %s", (user_id,)
    )
    invitations.cancel_all_pending(conn, user_id)


def mark_ban_notified(conn: Connection, user_id: int) -> None:
    conn.execute("update users set ban_notified = true where id = %s", (user_id,))


def stop_inactive(conn: Connection, days: int, batch: int) -> list[UserRow]:
    """One batch of searching users inactive for `days`: they stop searching."""
    rows = conn.execute(
        f"update users set is_searching = false, inactive_notified_at = now()"
        f" where id in (select id from users where is_searching and deleted_at is null"
        f" and last_active < now() - make_interval(days => %s)"
        f" order by last_active limit %s for update skip locked)"
        f" returning {_COLUMNS}",
        (days, batch),
    ).fetchall()
    return [UserRow(**row) for row in rows]


def ask_still_looking(
    conn: Connection, days: int, ahead: int, batch: int
) -> list[tuple[UserRow, int]]:
    """One batch of searching people `ahead` days (or less) from the pause after `days`
    inactive, not asked in this stretch and reachable: marked asked (`SEEN` clears it).
    Each with the days left until the pause (fewer than `ahead` after an outage)."""
    rows = conn.execute(
        f"update users set still_looking_asked_at = now()"
        f" where id in (select id from users where is_searching and deleted_at is null"
        f" and not is_banned and registered_at is not null and unreachable_since is null"
        f" and still_looking_asked_at is null"
        f" and last_active < now() - make_interval(days => %(asked)s)"
        f" and last_active >= now() - make_interval(days => %(days)s)"
        f" order by last_active limit %(batch)s for update skip locked)"
        f" returning {_COLUMNS}, greatest(1, ceil(extract(epoch from"
        f" last_active + make_interval(days => %(days)s) - now()) / 86400))::int as days_left",
        {"asked": days - ahead, "days": days, "batch": batch},
    ).fetchall()
    asked = []
    for row in rows:
        days_left = int(row.pop("days_left"))
        asked.append((UserRow(**row), days_left))
    return asked


def purge_deleted(conn: Connection, days: int, batch: int) -> int:
    """Personal data of users deleted more than `days` ago goes for good (CASCADE)."""
    cur = conn.execute(
        "delete from users where id in (select id from users where deleted_at is not null"
        " and deleted_at < now() - make_interval(days => %s) limit %s for update skip locked)",
        (days, batch),
    )
    return cur.rowcount


def set_role(
    conn: Connection,
    user_id: int,
    *,
    user_type: str,
    searching: bool,
    looking_for: list[str] | None = None,
) -> None:
    """A team changes hands or closes: who is the team's card, and who stops being one."""
    conn.execute(
        "update users set user_type = %s, is_searching = %s,"
        " looking_for = coalesce(%s, looking_for), inactive_notified_at = null where id = %s",
        (user_type, searching, looking_for, user_id),
    )
