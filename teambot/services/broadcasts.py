"""Announcements from the organizers: who may get one, starting and stopping a broadcast,
and opting out. The broadcast actor (teambot/actors/broadcast.py) sends them."""

from __future__ import annotations

from enum import Enum

from teambot.adapters.database import Database
from teambot.data import broadcasts, users
from teambot.domain import Audience, AudienceChoice, UserRow

# what an admin may write, leaving room for the footer within Telegram's 4096 characters
MAX_LENGTH = 3800
EVENTS_OFFERED = 8  # the latest events with members are offered as audiences


class Stop(Enum):
    STOPPED = "stopped"
    FINISHED = "finished"  # done or stopped already
    NO_SUCH = "no_such"


async def audiences(database: Database) -> list[AudienceChoice]:
    return await database.run(broadcasts.audiences, EVENTS_OFFERED)


async def sized(database: Database, audience: Audience) -> AudienceChoice | None:
    """The audience with how many would get it now; None for an event that does not exist."""
    return await database.run(broadcasts.sized, audience)


async def start(
    database: Database,
    admin_id: int,
    body: str,
    audience: Audience,
    progress_chat: int,
    progress_message_id: int,
) -> tuple[int, int] | None:
    """The broadcast's id and its number of recipients, fixed now; None when nobody in the
    audience takes announcements. The broadcast actor picks it up within a second."""
    return await database.run(
        broadcasts.create, admin_id, body, audience, progress_chat, progress_message_id
    )


async def stop(database: Database, broadcast_id: int) -> Stop:
    sending = await database.run(broadcasts.stop, broadcast_id)
    if sending is None:
        return Stop.NO_SUCH
    return Stop.STOPPED if sending else Stop.FINISHED


async def set_announcements(database: Database, user_id: int, on: bool) -> UserRow | None:
    return await database.run(users.set_announcements, user_id, on)
