"""The matching fields a person fills in beyond the tags (issue 12, migration 0010): reading a
time zone from a city or a UTC offset, checking links, what each preference may be, and
saving preferences. Telegram tells a bot nothing of where a person is, so they say it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from teambot.adapters.database import Database
from teambot.data import users
from teambot.domain import (
    AVAILABLE_FROM,
    HOURS_PER_WEEK,
    ROLE_FOCUSES,
    STAGES,
    WORK_MODES,
    UserRow,
)

HoursPerWeek = Literal["under_10", "10_20", "20_40", "full_time"]
AvailableFrom = Literal["now", "month", "later"]
WorkMode = Literal["remote", "on_site", "either"]
RoleFocus = Literal["technical", "product", "design", "business", "science"]
Stage = Literal["exploring", "idea", "prototype", "users", "revenue"]
# the buttons of the languages step (ISO 639-1); the person's bot language comes first
Language = Literal["en", "ru", "uk", "de", "fr", "es", "it", "pt", "zh"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
LANGUAGE_NAMES: dict[Language, str] = {  # each in itself: read by those who speak it
    "en": "English",
    "ru": "Русский",
    "uk": "Українська",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "pt": "Português",
    "zh": "中文",
}
# the Literals above are the vocabulary of teambot/domain.py, spelt out for the type checker
for _literal, _vocabulary in (
    (HoursPerWeek, HOURS_PER_WEEK),
    (AvailableFrom, AVAILABLE_FROM),
    (WorkMode, WORK_MODES),
    (RoleFocus, ROLE_FOCUSES),
    (Stage, STAGES),
):
    assert get_args(_literal) == _vocabulary, (_literal, _vocabulary)

MAX_LANGUAGES = 10
MAX_LINKS = 3
MAX_LINK = 200
MAX_CITY = 100
MAX_TIME_ZONE_TEXT = 64
SIZE_LIMITS = (2, 3, 4, 5, 6, 8, 10)  # the team size buttons (the column allows 2..50)
OFFSET_HOURS = (-8, -5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10)  # the time zone buttons
TimeZoneHours = Literal["1", "3", "6"]  # ± hours a time zone preference allows


# --- time zones


@dataclass(frozen=True)
class TimeZone:
    name: str  # an IANA name (Europe/Berlin), or a fixed offset (UTC+05:30)
    offset: int  # minutes east of UTC, now (for the ranking)


# Russian names of the cities people here most often live in or move to; English names come
# from the zone keys themselves (Europe/Berlin → "berlin").
_RUSSIAN_CITIES = {
    "москва": "Europe/Moscow",
    "санкт петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "спб": "Europe/Moscow",
    "казань": "Europe/Moscow",
    "нижний новгород": "Europe/Moscow",
    "ростов на дону": "Europe/Moscow",
    "краснодар": "Europe/Moscow",
    "сочи": "Europe/Moscow",
    "воронеж": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad",
    "самара": "Europe/Samara",
    "волгоград": "Europe/Volgograd",
    "екатеринбург": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk",
    "томск": "Asia/Tomsk",
    "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk",
    "хабаровск": "Asia/Vladivostok",
    "владивосток": "Asia/Vladivostok",
    "минск": "Europe/Minsk",
    "киев": "Europe/Kyiv",
    "киів": "Europe/Kyiv",
    "алматы": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek",
    "тбилиси": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku",
    "рига": "Europe/Riga",
    "вильнюс": "Europe/Vilnius",
    "таллин": "Europe/Tallinn",
    "варшава": "Europe/Warsaw",
    "прага": "Europe/Prague",
    "берлин": "Europe/Berlin",
    "мюнхен": "Europe/Berlin",
    "вена": "Europe/Vienna",
    "париж": "Europe/Paris",
    "амстердам": "Europe/Amsterdam",
    "лондон": "Europe/London",
    "мадрид": "Europe/Madrid",
    "барселона": "Europe/Madrid",
    "лиссабон": "Europe/Lisbon",
    "белград": "Europe/Belgrade",
    "стамбул": "Europe/Istanbul",
    "лимассол": "Asia/Nicosia",
    "кипр": "Asia/Nicosia",
    "тель авив": "Asia/Jerusalem",
    "дубай": "Asia/Dubai",
    "бангкок": "Asia/Bangkok",
    "пхукет": "Asia/Bangkok",
    "бали": "Asia/Makassar",
    "сингапур": "Asia/Singapore",
    "нью йорк": "America/New_York",
    "сан франциско": "America/Los_Angeles",
    "лос анджелес": "America/Los_Angeles",
}
# Big cities that are no zone's name
_ENGLISH_CITIES = {
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "st. petersburg": "Europe/Moscow",
    "munich": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "limassol": "Asia/Nicosia",
    "tel aviv": "Asia/Jerusalem",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "miami": "America/New_York",
    "austin": "America/Chicago",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "bali": "Asia/Makassar",
    "astana": "Asia/Almaty",
    "kiev": "Europe/Kyiv",
}
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+\-−–])\s*(\d{1,2})(?:\s*[:.]?\s*(\d{2}))?", re.IGNORECASE)


def _key(name: str) -> str:
    """Case, ё, underscores, hyphens and runs of spaces do not tell cities apart."""
    return " ".join(re.sub(r"[_\-]", " ", name.casefold().replace("ё", "е")).split())


@cache
def _zones() -> dict[str, str]:
    """Every IANA name and every zone's city (its last part), as typed, to the zone key."""
    known: dict[str, str] = {}
    for key in sorted(available_timezones()):
        if "/" not in key or key.startswith(("Etc/", "SystemV/")):
            continue
        known[_key(key)] = key
        known.setdefault(_key(key.rsplit("/", 1)[1]), key)
    return known


def fixed_offset(minutes: int) -> TimeZone:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return TimeZone(f"UTC{sign}{hours:02d}:{rest:02d}", minutes)


def valid_offset(minutes: int) -> bool:
    return -12 * 60 <= minutes <= 14 * 60 and minutes % 15 == 0


def read_time_zone(typed: str) -> TimeZone | None:
    """A time zone from what a person typed: a city (Berlin, Москва), an IANA name
    (Europe/Berlin) or an offset (UTC+3, GMT-4, +05:30); None when it is none of these."""
    words = typed.strip()
    if not words or len(words) > MAX_TIME_ZONE_TEXT:
        return None
    if _key(words) in ("utc", "gmt"):
        return fixed_offset(0)
    offset = _OFFSET.fullmatch(words)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        total = int(hours) * 60 + int(minutes or 0)
        total = -total if sign != "+" else total
        return fixed_offset(total) if valid_offset(total) and int(minutes or 0) < 60 else None
    key = _key(words)
    name = _zones().get(key) or _RUSSIAN_CITIES.get(key) or _ENGLISH_CITIES.get(key)
    if name is None:
        return None
    zone_offset = datetime.now(ZoneInfo(name)).utcoffset()
    assert zone_offset is not None  # a ZoneInfo always knows its offset
    return TimeZone(name, int(zone_offset.total_seconds()) // 60)


# --- links


class LinkRefusal(Enum):
    NOT_A_LINK = "not_a_link"  # no host with a dot, spaces, a bad port
    UNSAFE = "unsafe"  # javascript:, data:, mailto:… or a user name in it
    TOO_LONG = "too_long"


_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)  # "host:8080" is no scheme
_LABEL = re.compile(r"(?!-)[^\W_](?:[^\W_]|-){0,62}(?<!-)")


def read_link(typed: str) -> str | LinkRefusal:
    """An https URL, or why not. A bare domain gets https://. http:// is upgraded rather
    than refused: the button opens the page for other people, who should not be sent over
    plain HTTP, and nearly every site answers on https; refusing would only make the person
    retype what they meant."""
    piece = typed.strip()
    if len(piece) > MAX_LINK:
        return LinkRefusal.TOO_LONG
    if not piece or any(char.isspace() for char in piece):
        return LinkRefusal.NOT_A_LINK
    lower = piece.lower()
    if lower.startswith("https://"):
        url = "https://" + piece[8:]
    elif lower.startswith("http://"):
        url = "https://" + piece[7:]
    elif "://" in piece or _SCHEME.match(piece):
        return LinkRefusal.UNSAFE
    else:
        url = "https://" + piece
    if len(url) > MAX_LINK:
        return LinkRefusal.TOO_LONG
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError:
        return LinkRefusal.NOT_A_LINK
    if parts.username is not None or parts.password is not None:
        return LinkRefusal.UNSAFE  # "github.com@evil.example" shows one host and opens another
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return LinkRefusal.NOT_A_LINK
    if labels[-1].isdigit():  # a bare IP address is no one's page
        return LinkRefusal.NOT_A_LINK
    return url


def link_label(url: str) -> str:
    """What a link's button says: GitHub, LinkedIn, or the site."""
    host = (urlsplit(url).hostname or url).lower().removeprefix("www.")
    if host == "github.com" or host.endswith(".github.com"):
        return "GitHub"
    if host == "linkedin.com" or host.endswith(".linkedin.com"):
        return "LinkedIn"
    return host


@dataclass(frozen=True)
class TypedLinks:
    """What became of the links a person typed: nothing typed vanishes unsaid."""

    kept: list[str]  # all their links now, at most MAX_LINKS
    refused: list[tuple[str, LinkRefusal]] = field(default_factory=list)
    over_limit: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)


def add_links(current: list[str], typed: str) -> TypedLinks:
    """The person's links with those typed (separated by spaces or lines) added."""
    kept = list(current)
    refused: list[tuple[str, LinkRefusal]] = []
    over: list[str] = []
    repeated: list[str] = []
    for piece in typed.split():
        url = read_link(piece)
        if isinstance(url, LinkRefusal):
            refused.append((piece, url))
        elif url in kept:
            repeated.append(piece)
        elif len(kept) >= MAX_LINKS:
            over.append(piece)
        else:
            kept.append(url)
    return TypedLinks(kept, refused, over, repeated)


# --- preferences

Preference = Literal["commitment", "time_zone", "work_mode", "role", "stage", "language"]
PREFERENCES: tuple[Preference, ...] = get_args(Preference)
LEVEL_COLUMNS: dict[Preference, str] = {
    "commitment": "want_commitment",
    "time_zone": "want_time_zone",
    "work_mode": "want_work_mode",
    "role": "want_role",
    "stage": "want_stage",
    "language": "want_language",
}


def level(me: UserRow, preference: Preference) -> int:
    levels = {
        "commitment": me.want_commitment,
        "time_zone": me.want_time_zone,
        "work_mode": me.want_work_mode,
        "role": me.want_role,
        "stage": me.want_stage,
        "language": me.want_language,
    }
    return levels[preference]


async def set_level(
    database: Database, user_id: int, preference: Preference, value: int
) -> UserRow | None:
    """How much a preference matters (0 don't care, 1 nice to have, 2 must-have)."""
    return await database.run(users.set_preferences, user_id, **{LEVEL_COLUMNS[preference]: value})


async def set_time_zone_hours(database: Database, user_id: int, hours: int) -> UserRow | None:
    return await database.run(users.set_preferences, user_id, time_zone_hours=hours)


async def toggle_wanted(
    database: Database, me: UserRow, kind: Literal["role", "stage"], value: str
) -> UserRow | None:
    """A role focus (or stage) I want in others added, or taken off again."""
    column = "wanted_roles" if kind == "role" else "wanted_stages"
    chosen = list(me.wanted_roles if kind == "role" else me.wanted_stages)
    vocabulary = ROLE_FOCUSES if kind == "role" else STAGES
    chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    ordered = [v for v in vocabulary if v in chosen]  # shown and stored in the offered order
    return await database.run(users.set_preferences, me.id, **{column: ordered})


# --- the offer to complete them (people registered before the fields existed)


async def offer_once(database: Database, me: UserRow) -> bool:
    """True the first time a registered person who has never been asked the matching fields
    searches: they are offered to complete them, once. Everyone registered since the fields
    exist was asked in the dialogue (no database work for them here)."""
    if not me.registered or me.fields_offered_at is not None:
        return False
    return await database.run(users.claim_fields_offer, me.id)
