"""The organizers' dashboard: who gets in (one-time links, sessions) and the numbers it
shows, for everyone or for one event's pool. Nothing here knows of Telegram or HTML."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from teambot.adapters.database import Connection, Database
from teambot.data import dashboard

LINK_LIFETIME_SECONDS = 10 * 60
SESSION_LIFETIME_SECONDS = 12 * 3600
DAYS_SHOWN = 30
SKILLS_SHOWN = 15
LOOKING_SHOWN = 100

FUNNEL_STAGES = (
    ("started", "Started the bot"),
    ("registered", "Registered"),
    ("searched", "Searched"),
    ("requested", "Sent a request"),
    ("accepted", "Accepted (either way)"),
    ("in_team", "In a team"),
)
REQUEST_OUTCOMES = dashboard.REQUEST_OUTCOMES
# hours from registering to joining a team, as the chart groups them
JOIN_DELAYS = (
    ("under 1 h", 1),
    ("1–24 h", 24),
    ("1–3 days", 72),
    ("3–7 days", 168),
    ("1–2 weeks", 336),
    ("2 weeks +", None),
)


class Refusal(Enum):
    FORGED = "forged"  # not signed with our secret, or altered
    EXPIRED = "expired"
    USED = "used"
    NOT_ADMIN = "not_admin"  # no longer in ADMIN_IDS


@dataclass(frozen=True)
class Entry:
    """A link or a session checked: the admin it lets in, or why not."""

    admin: int | None
    refusal: Refusal | None = None


class Access:
    """One-time links and sessions, both signed with DASHBOARD_SECRET (HMAC-SHA1 by
    itsdangerous, a key per purpose): a link carries the admin and a random id, which is
    written down at its use; a session carries the admin. Both carry their signing time."""

    def __init__(self, secret: str, admin_ids: Collection[int]) -> None:
        self._links = URLSafeTimedSerializer(secret, salt="teambot-dashboard-link")
        self._sessions = URLSafeTimedSerializer(secret, salt="teambot-dashboard-session")
        self.admin_ids = frozenset(admin_ids)

    def new_link_token(self, admin: int) -> str:
        return self._links.dumps({"admin": admin, "id": secrets.token_urlsafe(16)})

    def _read_link(self, token: str) -> tuple[Entry, str]:
        try:
            payload: Any = self._links.loads(token, max_age=LINK_LIFETIME_SECONDS)
        except SignatureExpired:
            return Entry(None, Refusal.EXPIRED), ""
        except BadSignature:
            return Entry(None, Refusal.FORGED), ""
        admin, link_id = payload.get("admin"), payload.get("id")
        if not isinstance(admin, int) or not isinstance(link_id, str):
            return Entry(None, Refusal.FORGED), ""
        if admin not in self.admin_ids:
            return Entry(None, Refusal.NOT_ADMIN), ""
        return Entry(admin), link_id

    async def check_link(self, database: Database, token: str) -> Entry:
        """Whether a link would let in, without using it (the page that asks to go on)."""
        entry, link_id = self._read_link(token)
        if entry.admin is not None and await database.run(dashboard.link_used, link_id):
            return Entry(None, Refusal.USED)
        return entry

    async def use_link(self, database: Database, token: str) -> Entry:
        entry, link_id = self._read_link(token)
        if entry.admin is None:
            return entry
        if not await database.run(dashboard.use_link, link_id, LINK_LIFETIME_SECONDS):
            return Entry(None, Refusal.USED)
        return entry

    def new_session(self, admin: int) -> str:
        return self._sessions.dumps({"admin": admin})

    def check_session(self, cookie: str) -> Entry:
        try:
            payload: Any = self._sessions.loads(cookie, max_age=SESSION_LIFETIME_SECONDS)
        except SignatureExpired:
            return Entry(None, Refusal.EXPIRED)
        except BadSignature:
            return Entry(None, Refusal.FORGED)
        admin = payload.get("admin") if isinstance(payload, dict) else None
        if not isinstance(admin, int):
            return Entry(None, Refusal.FORGED)
        if admin not in self.admin_ids:
            return Entry(None, Refusal.NOT_ADMIN)
        return Entry(admin)


def login_link(dashboard_url: str, secret: str, admin_ids: Collection[int], admin: int) -> str:
    """The one-time link an admin opens to get in."""
    return f"{dashboard_url}/login?token={Access(secret, admin_ids).new_link_token(admin)}"


@dataclass(frozen=True)
class Event:
    slug: str
    name: str
    starts_on: date
    ends_on: date
    ended: bool


@dataclass(frozen=True)
class Person:
    """What the person made visible on their card."""

    display_name: str
    username: str | None
    user_type: str | None
    skills: tuple[str, ...]
    looking_for: tuple[str, ...]
    links: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    team: str
    size: int
    owner: bool
    person: Person


@dataclass(frozen=True)
class Overview:
    event: Event | None  # None: everyone
    events: list[Event]
    funnel: list[tuple[str, int]]  # label, people
    days: list[date]
    registrations: list[int]  # per day of `days`
    requests: dict[str, list[int]]  # outcome -> per day of `days`
    join_delays: list[tuple[str, int]]  # bucket label, people
    teams_by_size: list[tuple[int, int]]  # size, teams
    skills: list[tuple[str, int, int]]  # skill, offered, sought
    looking_total: int
    looking: list[Person] = field(default_factory=list)


def _event(row: dict[str, Any], today: date) -> Event:
    ended = row["ended_at"] is not None or row["ends_on"] < today
    return Event(row["slug"], row["name"], row["starts_on"], row["ends_on"], ended)


def _person(row: dict[str, Any]) -> Person:
    return Person(
        row["display_name"],
        row["username"] or None,
        row["user_type"],
        tuple(row["skills"]),
        tuple(row["looking_for"]),
        tuple(row["links"]),
    )


def _bucket(hours: float) -> int:
    for index, (_, bound) in enumerate(JOIN_DELAYS):
        if bound is None or hours < bound:
            return index
    return len(JOIN_DELAYS) - 1


def _overview(conn: Connection, slug: str | None, today: date) -> Overview | None:
    events = [_event(row, today) for row in dashboard.events(conn)]
    event_id, event = None, None
    if slug is not None:
        row = dashboard.event_by_slug(conn, slug)
        if row is None:
            return None
        event_id, event = row["id"], _event(row, today)
    # an event that ended shows its last weeks, not empty ones
    until = min(today, event.ends_on + timedelta(days=7)) if event else today
    days = [until - timedelta(days=n) for n in range(DAYS_SHOWN - 1, -1, -1)]
    counts = dashboard.funnel(conn, event_id)
    registered = dashboard.registrations_per_day(conn, event_id, days[0], until)
    requests = dashboard.requests_per_day(conn, event_id, days[0], until)
    delays = [0] * len(JOIN_DELAYS)
    for hours in dashboard.join_delays_hours(conn, event_id):
        delays[_bucket(hours)] += 1
    looking_total, looking = dashboard.still_looking(conn, event_id, LOOKING_SHOWN)
    return Overview(
        event=event,
        events=events,
        funnel=[(label, counts[key]) for key, label in FUNNEL_STAGES],
        days=days,
        registrations=[registered.get(day, 0) for day in days],
        requests={
            what: [requests.get((day, what), 0) for day in days] for what in REQUEST_OUTCOMES
        },
        join_delays=[(label, n) for (label, _), n in zip(JOIN_DELAYS, delays, strict=True)],
        teams_by_size=list(dashboard.teams_by_size(conn, event_id).items()),
        skills=[
            (row["skill"], row["offered"], row["sought"])
            for row in dashboard.skills_supply(conn, event_id, SKILLS_SHOWN)
        ],
        looking_total=looking_total,
        looking=[_person(row) for row in looking],
    )


async def overview(database: Database, slug: str | None) -> Overview | None:
    """Everything the page shows, for everyone or one event (None: no such event)."""
    return await database.run(_overview, slug, datetime.now(UTC).date())


class NoSuchEvent(LookupError):
    pass


def _event_id(conn: Connection, slug: str | None) -> int | None:
    if slug is None:
        return None
    row = dashboard.event_by_slug(conn, slug)
    if row is None:
        raise NoSuchEvent(slug)
    return int(row["id"])


def _members(conn: Connection, slug: str | None) -> list[Member]:
    return [
        Member(row["team"], int(row["size"]), bool(row["owner"]), _person(row))
        for row in dashboard.team_members(conn, _event_id(conn, slug))
    ]


async def team_members(database: Database, slug: str | None) -> list[Member] | None:
    """Every team's members (an event's teams: with a member in its pool); None: no such
    event."""
    try:
        return await database.run(_members, slug)
    except NoSuchEvent:
        return None


def _looking(conn: Connection, slug: str | None) -> list[Person]:
    _, rows = dashboard.still_looking(conn, _event_id(conn, slug), None)
    return [_person(row) for row in rows]


async def still_looking(database: Database, slug: str | None) -> list[Person] | None:
    """Everyone still looking (searching, in no team of two or more); None: no such event."""
    try:
        return await database.run(_looking, slug)
    except NoSuchEvent:
        return None
