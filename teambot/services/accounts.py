"""A person's account: known from their first update on, their language and whether they
search; deleting it: hidden at once, its pending invitations cancelled, its team reconciled
(see teams.leave_for_good), its personal data purged after the retention period."""

from __future__ import annotations

from teambot.adapters.database import Connection, Database
from teambot.data import teams, users
from teambot.domain import Profile, UserRow
from teambot.services.teams import Departure, leave_for_good


async def seen(
    database: Database,
    user_id: int,
    *,
    username: str | None,
    first_name: str,
    last_name: str | None,
    language: str,
) -> UserRow:
    """Any update from someone: created on the first, refreshed and marked active after."""
    return await database.run(
        users.seen,
        user_id,
        username=username,
        first_name=first_name,
        last_name=last_name,
        language=language,
    )


async def ban_told(database: Database, user_id: int) -> None:
    """A banned person was told so: they are not told again (until a new ban)."""
    await database.run(users.mark_ban_notified, user_id)


async def set_language(database: Database, user_id: int, language: str) -> None:
    await database.run(users.set_language, user_id, language)


def _set_searching(conn: Connection, user_id: int, searching: bool) -> Profile | None:
    user = users.set_searching(conn, user_id, searching)
    if user is None:
        return None
    team, in_team = teams.of_profile(conn, user_id)
    return Profile(user, team, in_team)


async def set_searching(database: Database, user_id: int, searching: bool) -> Profile | None:
    """Pause or resume searching; the profile as it is now (None: no such user)."""
    return await database.run(_set_searching, user_id, searching)


def _delete(conn: Connection, user_id: int) -> Departure | None:
    departure = leave_for_good(conn, user_id)
    users.soft_delete(conn, user_id)
    return departure


async def delete(database: Database, user_id: int) -> Departure | None:
    """One transaction; returns what happened to the user's team, if they had one."""
    return await database.run(_delete, user_id)
