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
from teambot.texts import DEFAULT_LANGUAGE, LANGUAGES

LINK_LIFETIME_SECONDS = 10 * 60
SESSION_LIFETIME_SECONDS = 12 * 3600
DAYS_SHOWN = 30
SKILLS_SHOWN = 15
LOOKING_SHOWN = 100
BOM = "\ufeff".encode()

FUNNEL_STAGES = ("started", "registered", "searched", "requested", "accepted", "in_team")
REQUEST_OUTCOMES = dashboard.REQUEST_OUTCOMES
# hours from registering to joining a team, as the chart groups them: the upper bounds
# (the last open), and the same in dashboard_person_facts (migration 0021)
JOIN_DELAYS = (1, 24, 72, 168, 336, None)


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
    lang: str | None = None  # the admin's language, as the bot knew it when it gave the link


class Access:
    """One-time links and sessions, both signed with DASHBOARD_SECRET (HMAC-SHA1 by
    itsdangerous, a key per purpose): a link carries the admin and a random id, which is
    written down at its use; a session carries the admin. Both carry their signing time."""

    def __init__(self, secret: str, admin_ids: Collection[int]) -> None:
        self._links = URLSafeTimedSerializer(secret, salt="teambot-dashboard-link")
        self._sessions = URLSafeTimedSerializer(secret, salt="teambot-dashboard-session")
        self.admin_ids = frozenset(admin_ids)

    def new_link_token(self, admin: int, lang: str = DEFAULT_LANGUAGE) -> str:
        return self._links.dumps({"admin": admin, "id": secrets.token_urlsafe(16), "lang": lang})

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
        return Entry(admin, lang=_language(payload.get("lang"))), link_id

    async def check_link(self, database: Database, token: str) -> Entry:
        """Whether a link would let in, without using it (the page that asks to go on)."""
        entry, link_id = self._read_link(token)
        if entry.admin is not None and await database.run(dashboard.link_used, link_id):
            return Entry(None, Refusal.USED, entry.lang)
        return entry

    async def use_link(self, database: Database, token: str) -> Entry:
        entry, link_id = self._read_link(token)
        if entry.admin is None:
            return entry
        if not await database.run(dashboard.use_link, link_id, LINK_LIFETIME_SECONDS):
            return Entry(None, Refusal.USED, entry.lang)
        return entry

    def new_session(self, admin: int, lang: str | None = None) -> str:
        return self._sessions.dumps({"admin": admin, "lang": lang})

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
        return Entry(admin, lang=_language(payload.get("lang")))


def _language(value: object) -> str | None:
    return value if isinstance(value, str) and value in LANGUAGES else None


def login_link(
    dashboard_url: str,
    secret: str,
    admin_ids: Collection[int],
    admin: int,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """The one-time link an admin opens to get in; the page speaks `lang` (theirs)."""
    token = Access(secret, admin_ids).new_link_token(admin, lang)
    return f"{dashboard_url}/login?token={token}"


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
class Overview:
    event: Event | None  # None: everyone
    events: list[Event]
    funnel: list[tuple[str, int]]  # stage (FUNNEL_STAGES), people
    days: list[date]
    registrations: list[int]  # per day of `days`
    requests: dict[str, list[int]]  # outcome -> per day of `days`
    join_delays: list[tuple[int | None, int]]  # bucket's upper bound (hours), people
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


def _skills(counts: dict[tuple[date | None, str], int], limit: int) -> list[tuple[str, int, int]]:
    """Per skill: how many people still looking offer it and how many seek it, the
    shortest supply first."""
    skills: dict[str, list[int]] = {}
    for (day, what), n in counts.items():
        kind, _, skill = what.partition(":")
        if day is None and kind in ("offered", "sought"):
            skills.setdefault(skill, [0, 0])[kind == "sought"] += n
    ranked = sorted(
        skills.items(), key=lambda item: (item[1][0] - item[1][1], -item[1][1], item[0])
    )
    return [(skill, offered, sought) for skill, (offered, sought) in ranked[:limit]]


def _sizes(counts: dict[tuple[date | None, str], int]) -> dict[int, int]:
    """Teams by size, from the kept figures."""
    return {
        int(what.removeprefix("team_size:")): n
        for (day, what), n in counts.items()
        if day is None and what.startswith("team_size:")
    }


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
    dashboard.fold(conn)
    counts = dashboard.figures(conn, event_id, days[0])
    looking = dashboard.still_looking(conn, event_id, LOOKING_SHOWN)
    return Overview(
        event=event,
        events=events,
        funnel=[(stage, counts.get((None, stage), 0)) for stage in FUNNEL_STAGES],
        days=days,
        registrations=[counts.get((day, "registered"), 0) for day in days],
        requests={what: [counts.get((day, what), 0) for day in days] for what in REQUEST_OUTCOMES},
        join_delays=[
            (bound, counts.get((None, f"delay:{index}"), 0))
            for index, bound in enumerate(JOIN_DELAYS)
        ],
        teams_by_size=sorted(
            _sizes(counts).items()
            if event_id is None
            else dashboard.teams_by_size(conn, event_id).items()
        ),
        skills=_skills(counts, SKILLS_SHOWN),
        looking_total=counts.get((None, "looking"), 0),
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


def _export(conn: Connection, which: str, slug: str | None) -> bytes:
    event_id = _event_id(conn, slug)
    if which == "teams":
        return dashboard.teams_csv(conn, event_id)
    return dashboard.looking_csv(conn, event_id)


async def export(database: Database, which: str, slug: str | None) -> bytes | None:
    """CSV (UTF-8 with a byte order mark, so that spreadsheets read the names right) of
    every team's members (`which` "teams"; an event's teams: with a member in its pool)
    or of everyone still looking ("looking"); None: no such event."""
    try:
        return BOM + await database.run(_export, which, slug)
    except NoSuchEvent:
        return None
