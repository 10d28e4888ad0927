"""The rows the layers hand each other: read by teambot/data, returned by teambot/services,
shown by teambot/routers. Plain data, no SQL and no Telegram, so every layer may import it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str | None
    first_name: str
    language: str
    user_type: str | None
    display_name: str
    bio: str
    skills: list[str] = field(default_factory=list)
    looking_for: list[str] = field(default_factory=list)
    is_searching: bool = False
    is_banned: bool = False
    ban_notified: bool = False
    registered_at: datetime | None = None
    deleted_at: datetime | None = None
    # the matching fields (migration 0010): all optional, empty for people registered before
    hours_per_week: str | None = None
    available_from: str | None = None
    time_zone: str | None = None
    utc_offset: int | None = None  # minutes east of UTC
    work_mode: str | None = None
    city: str | None = None
    role_focus: str | None = None
    stage: str | None = None
    languages: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    want_commitment: int = 0
    want_time_zone: int = 0
    time_zone_hours: int = 3
    want_work_mode: int = 0
    want_role: int = 0
    wanted_roles: list[str] = field(default_factory=list)
    want_stage: int = 0
    wanted_stages: list[str] = field(default_factory=list)
    want_language: int = 0
    fields_offered_at: datetime | None = None
    announcements: bool = True  # takes the organizers' broadcasts

    @property
    def registered(self) -> bool:
        return self.registered_at is not None and self.deleted_at is None


@dataclass(frozen=True)
class TeamRow:
    id: int
    owner_id: int
    name: str
    description: str
    roles_needed: list[str]
    join_token: str | None = None
    size_limit: int | None = None  # how many people the team wants to be, at most


@dataclass(frozen=True)
class Profile:
    """A person's card as others see it: their row, and for a team's owner the team."""

    user: UserRow
    team: TeamRow | None = None  # the team they own: its card is theirs
    in_team: bool = False  # in a team, their own or someone else's


@dataclass(frozen=True)
class InvitationRow:
    id: int
    sender_id: int
    recipient_id: int
    team_id: int | None
    kind: str
    note: str
    status: str
    expires_at: datetime


@dataclass(frozen=True)
class PendingView:
    """A pending invitation with the names it is shown with (/invitations)."""

    invitation: InvitationRow
    sender_name: str
    recipient_name: str
    team_name: str | None


@dataclass(frozen=True)
class LiveMessage:
    """A message that shows buttons for an invitation; `status` is the invitation's when the
    row was taken (to be edited), "pending" while it is recorded."""

    invitation_id: int
    chat_id: int
    message_id: int
    body: str
    language: str
    status: str = "pending"


@dataclass(frozen=True)
class Reason:
    """Why a card matches, as a code and its value (worded by the router in the reader's
    language); `weight` orders them, strongest first."""

    code: str
    value: str = ""
    weight: int = 0


@dataclass(frozen=True)
class Candidate:
    """A person in someone's search, with why they match."""

    id: int
    user_type: str
    display_name: str
    username: str | None
    skills: list[str]
    looking_for: list[str]
    bio: str
    team_name: str | None
    team_description: str | None
    they_have: list[str]  # what I look for that they have
    they_want: list[str]  # what they look for that I have
    total: int  # how many candidates match altogether (counted up to a cap)
    ref: int  # what my card's buttons carry instead of their Telegram id (search_cards)
    more: bool = False  # the count stopped at the cap: there are more than `total`
    links: list[str] = field(default_factory=list)  # shown as URL buttons under the card
    reasons: tuple[Reason, ...] = ()  # why they match, strongest first (services/fit.py)


@dataclass(frozen=True)
class CardTarget:
    """The person behind one of my search cards, and what a press on it may still do."""

    id: int  # the person on the card
    available: bool  # registered, searching, neither deleted nor banned
    pending: bool  # a pending invitation between us, either way
    theirs_pending: bool  # of those, one they sent me
    teammate: bool  # in my team already


@dataclass(frozen=True)
class SavedPerson:
    """Someone on my /saved list, as the list shows them."""

    ref: int  # my card reference to them (search_cards), what the list's buttons carry
    user_type: str
    display_name: str
    skills: list[str]
    team_name: str | None


# The vocabulary of the matching fields (migration 0010), in the order they are offered.
HOURS_PER_WEEK = ("under_10", "10_20", "20_40", "full_time")
AVAILABLE_FROM = ("now", "month", "later")
WORK_MODES = ("remote", "on_site", "either")
ROLE_FOCUSES = ("technical", "product", "design", "business", "science")
STAGES = ("exploring", "idea", "prototype", "users", "revenue")
# how much a preference matters to a person (YC co-founder matching's three levels)
DONT_CARE, NICE_TO_HAVE, MUST_HAVE = 0, 1, 2


# --- events (issue 13)


@dataclass(frozen=True)
class EventRow:
    id: int
    slug: str
    name: str
    starts_on: date
    ends_on: date
    team_size_limit: int | None
    ended_at: datetime | None
    open: bool  # not ended by an organizer, and ends_on not past (the database's date)
    members: int = 0  # people in it (where a listing counts them)


@dataclass(frozen=True)
class EventPerson:
    """Someone in an event's pool, as auto-fill groups them: what they offer and want, and
    for the owner of a team short of members, the team and how many it has."""

    id: int
    skills: list[str]
    looking_for: list[str]
    role_focus: str | None = None
    wanted_roles: list[str] = field(default_factory=list)
    want_role: int = 0
    utc_offset: int | None = None  # minutes east of UTC
    want_time_zone: int = 0
    time_zone_hours: int = 3
    work_mode: str | None = None
    want_work_mode: int = 0
    languages: list[str] = field(default_factory=list)
    want_language: int = 0
    team_id: int | None = None  # the team they own (its card is theirs)
    team_members: int = 0


# Broadcasts (migration 0015): who an announcement goes to, and how far it got.
@dataclass(frozen=True)
class Audience:
    kind: str  # everyone, teamless (people without a team), event (an event's pool)
    event_id: int | None = None


@dataclass(frozen=True)
class AudienceChoice:
    """An audience an admin may pick, with how many people would get the announcement."""

    audience: Audience
    count: int
    event_name: str | None = None


@dataclass(frozen=True)
class BroadcastProgress:
    id: int
    status: str  # sending, stopped, done
    language: str  # the admin's
    progress_chat: int
    progress_message_id: int
    total: int
    delivered: int = 0
    undelivered: int = 0  # refused by Telegram: blocked the bot, left Telegram
    skipped: int = 0  # no longer taking announcements when their turn came

    @property
    def remaining(self) -> int:
        return self.total - self.delivered - self.undelivered - self.skipped
