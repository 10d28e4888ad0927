"""Deleting an account: hidden at once, its pending invitations cancelled, its team
reconciled (see teams.leave_for_good), its personal data purged after the retention period."""

from __future__ import annotations

from teambot.adapters.database import Connection, Database
from teambot.data import users
from teambot.services.teams import Departure, leave_for_good


def _delete(conn: Connection, user_id: int) -> Departure | None:
    departure = leave_for_good(conn, user_id)
    users.soft_delete(conn, user_id)
    return departure


async def delete(database: Database, user_id: int) -> Departure | None:
    """One transaction; returns what happened to the user's team, if they had one."""
    return await database.run(_delete, user_id)
