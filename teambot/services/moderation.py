"""Moderation rules: who may be banned, and what a ban or an unban changes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any

from teambot.adapters.database import Connection, Database
from teambot.data import invitations, moderation, teams, users
from teambot.domain import LiveMessage, Profile, UserRow
from teambot.services.teams import Departure, leave_for_good


class Outcome(Enum):
    DONE = "done"
    UNCHANGED = "unchanged"  # already banned / not banned
    NO_SUCH_USER = "no_such_user"
    REFUSED = "refused"  # admins cannot be banned


@dataclass(frozen=True)
class Banned:
    outcome: Outcome
    departure: Departure | None = None  # the team they owned (deleted) or were in (left)
    messages: tuple[LiveMessage, ...] = ()  # of their invitations the ban cancelled
    person: UserRow | None = None  # who was banned, when their team hears of it


def _ban(conn: Connection, user_id: int) -> Banned:
    changed = moderation.set_banned(conn, user_id, True)
    if not changed:
        return Banned(_outcome(changed))
    departure = leave_for_good(conn, user_id)
    messages = tuple(invitations.closed_messages_of(conn, user_id))
    person = users.get(conn, user_id) if departure is not None else None
    return Banned(_outcome(changed), departure, messages, person)


async def ban(database: Database, user_id: int, admin_ids: Collection[int]) -> Banned:
    """A banned user disappears from search, their pending invitations are cancelled, their
    team is deleted (if they owned it) or left, and they are told once; everything they send
    afterwards is ignored."""
    if user_id in admin_ids:
        return Banned(Outcome.REFUSED)
    return await database.run(_ban, user_id)


async def unban(database: Database, user_id: int) -> Outcome:
    return _outcome(await database.run(moderation.set_banned, user_id, False))


def _outcome(changed: bool | None) -> Outcome:
    if changed is None:
        return Outcome.NO_SUCH_USER
    return Outcome.DONE if changed else Outcome.UNCHANGED


async def stats(database: Database) -> dict[str, Any]:
    return await database.run(moderation.stats)


@dataclass(frozen=True)
class Report:
    """A profile reported to the moderators, with the language each of them reads."""

    reporter: int
    reported: Profile
    admins: dict[int, str]  # admin id -> language (English for one who never wrote)


def report_in(
    conn: Connection, reporter: int, reported: int, admin_ids: Collection[int]
) -> Report | None:
    """Inside the reporting transaction: what the moderators are shown; None when the
    profile is gone (deleted or never finished)."""
    people = users.get_many(conn, [reported, *admin_ids])
    target = people.get(reported)
    if target is None or not target.registered:
        return None
    team, in_team = teams.of_profile(conn, reported)
    admins = {admin: people[admin].language if admin in people else "en" for admin in admin_ids}
    return Report(reporter, Profile(target, team, in_team), admins)
