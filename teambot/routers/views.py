"""How things look in a chat: cards and keyboards shared by several routers."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from teambot.domain import Profile
from teambot.texts import text
from teambot.utils import escape

# Bounds for numbers in callback data: anyone can send any callback data, and an
# out-of-range number must fail the filter (the fallback's neutral "no longer active"),
# not the database. A field that fails validation makes the filter not match.
DatabaseKey = Annotated[int, Field(ge=1, le=2**63 - 1)]  # a bigserial/bigint key
Position = Annotated[int, Field(ge=0, le=100_000)]  # an offset in a list shown to a person

ROLE_NAMES = {
    "participant": "role_participant",
    "cofounder": "role_cofounder",
    "team": "role_team",
}


class LanguageChoice(CallbackData, prefix="lang"):
    code: Literal["en", "ru"]


class Answer(CallbackData, prefix="inv"):
    """The buttons on an invitation (teambot.notices shows them, routers/invitations answers)."""

    action: Literal["accept", "decline", "cancel"]
    id: DatabaseKey


class Moderate(CallbackData, prefix="mod"):
    """The Ban button on a report to the admins (teambot.notices, routers/admin)."""

    action: Literal["ban"]
    target: DatabaseKey  # the reported user's Telegram id


class StillLooking(CallbackData, prefix="still"):
    """The answers to "Still looking?" (teambot.notices asks, routers/still_looking answers):
    about the presser, so they name nobody."""

    answer: Literal["yes", "pause"]


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="English", callback_data=LanguageChoice(code="en"))
    builder.button(text="Русский", callback_data=LanguageChoice(code="ru"))
    return builder.as_markup()


def tags_line(lang: str, tags: list[str]) -> str:
    return ", ".join(escape(tag) for tag in tags) if tags else text(lang, "nothing_chosen")


def user_card(lang: str, profile: Profile) -> str:
    """The card others see: the profile, and for a team its name and description."""
    user, team = profile.user, profile.team
    return profile_card(
        lang,
        user_type=user.user_type or "participant",
        display_name=user.display_name,
        skills=user.skills,
        looking_for=user.looking_for,
        bio=user.bio,
        team_name=team.name if team else None,
        team_description=team.description if team else "",
    )


def profile_card(
    lang: str,
    *,
    user_type: str,
    display_name: str,
    skills: list[str],
    looking_for: list[str],
    bio: str,
    team_name: str | None = None,
    team_description: str = "",
) -> str:
    lines = [f"<b>{escape(display_name)}</b> · {text(lang, ROLE_NAMES[user_type])}"]
    if team_name:
        lines.append(f"{text(lang, 'card_team')}: <b>{escape(team_name)}</b>")
        if team_description:
            lines.append(escape(team_description))
    lines.append(f"{text(lang, 'card_skills')}: {tags_line(lang, skills)}")
    lines.append(f"{text(lang, 'card_wants')}: {tags_line(lang, looking_for)}")
    if bio:
        lines.append("")
        lines.append(escape(bio))
    return "\n".join(lines)


class ProposalAnswer(CallbackData, prefix="evp"):
    """Accept / Decline on an auto-fill proposal (teambot.notices, routers/events)."""

    action: Literal["accept", "decline"]
    id: DatabaseKey  # the proposal (a group)


class StopBroadcast(CallbackData, prefix="bcstop"):
    """The Stop button under a broadcast's progress (teambot.notices, routers/broadcast)."""

    id: DatabaseKey
