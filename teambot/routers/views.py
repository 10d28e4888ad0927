"""How things look in a chat: cards and keyboards shared by several routers."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from pydantic import Field

from teambot.domain import Profile
from teambot.services import matching_fields
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


class FieldsOffer(CallbackData, prefix="pfo"):
    """The once-made offer to complete the matching fields (routers/search, routers/profile)."""

    action: Literal["complete", "later"]


def fields_offer_keyboard(lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=text(lang, "pf_offer_complete"), callback_data=FieldsOffer(action="complete")
    )
    builder.button(text=text(lang, "pf_offer_later"), callback_data=FieldsOffer(action="later"))
    return builder.as_markup()


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
        hours_per_week=user.hours_per_week,
        available_from=user.available_from,
        time_zone=user.time_zone,
        utc_offset=user.utc_offset,
        work_mode=user.work_mode,
        city=user.city,
        role_focus=user.role_focus,
        wanted_roles=user.wanted_roles if user.user_type == "team" else [],
        size_limit=team.size_limit if team else None,
        stage=user.stage,
        languages=user.languages,
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
    hours_per_week: str | None = None,
    available_from: str | None = None,
    time_zone: str | None = None,
    utc_offset: int | None = None,
    work_mode: str | None = None,
    city: str | None = None,
    role_focus: str | None = None,
    wanted_roles: list[str] | None = None,
    size_limit: int | None = None,
    stage: str | None = None,
    languages: list[str] | None = None,
    links: list[str] | None = None,  # as text on the confirmation; cards show them as buttons
    **_: object,  # the rest of a draft (the join link it came from, say)
) -> str:
    lines = [f"<b>{escape(display_name)}</b> · {text(lang, ROLE_NAMES[user_type])}"]
    if team_name:
        lines.append(f"{text(lang, 'card_team')}: <b>{escape(team_name)}</b>")
        if team_description:
            lines.append(escape(team_description))
    lines.append(f"{text(lang, 'card_skills')}: {tags_line(lang, skills)}")
    lines.append(f"{text(lang, 'card_wants')}: {tags_line(lang, looking_for)}")
    if hours_per_week:
        commitment = hours_label(lang, hours_per_week)
        if available_from:
            commitment += ", " + text(lang, "pf_from_value", value=available_from)
        lines.append(f"{text(lang, 'pf_card_commitment')}: {commitment}")
    if time_zone:
        zone = escape(time_zone)
        if utc_offset is not None and not time_zone.startswith("UTC"):
            zone += f" ({matching_fields.fixed_offset(utc_offset).name})"
        lines.append(f"{text(lang, 'pf_card_time_zone')}: {zone}")
    if work_mode:
        mode = text(lang, "pf_mode_value", value=work_mode)
        if work_mode in ("on_site", "either") and city:
            mode += f" · {escape(city)}"
        lines.append(f"{text(lang, 'pf_card_work_mode')}: {mode}")
    if role_focus:
        lines.append(
            f"{text(lang, 'pf_card_focus')}: {text(lang, 'pf_role_value', value=role_focus)}"
        )
    if wanted_roles and user_type == "team":  # a person's are a preference, not on the card
        roles = ", ".join(text(lang, "pf_role_value", value=role) for role in wanted_roles)
        lines.append(f"{text(lang, 'pf_card_needs')}: {roles}")
    if size_limit:
        lines.append(text(lang, "pf_card_size", size=size_limit))
    if stage:
        lines.append(f"{text(lang, 'pf_card_stage')}: {text(lang, 'pf_stage_value', value=stage)}")
    if languages:
        spoken = ", ".join(language_name(code) for code in languages)
        lines.append(f"{text(lang, 'pf_card_languages')}: {spoken}")
    if links:
        labels = ", ".join(escape(matching_fields.link_label(url)) for url in links)
        lines.append(f"{text(lang, 'pf_card_links')}: {labels}")
    if bio:
        lines.append("")
        lines.append(escape(bio))
    return "\n".join(lines)


def language_name(code: str) -> str:
    names = matching_fields.LANGUAGE_NAMES
    return next((name for known, name in names.items() if known == code), code)


def link_buttons(links: list[str]) -> list[InlineKeyboardButton]:
    """A person's links as buttons that open them, labelled by kind (GitHub, LinkedIn, site)."""
    return [InlineKeyboardButton(text=matching_fields.link_label(url), url=url) for url in links]


# Fluent's variant keys cannot start with a digit
_HOURS_KEYS = {"10_20": "ten_to_20", "20_40": "twenty_to_40"}


def hours_label(lang: str, value: str) -> str:
    return text(lang, "pf_hours_value", value=_HOURS_KEYS.get(value, value))


class ProposalAnswer(CallbackData, prefix="evp"):
    """Accept / Decline on an auto-fill proposal (teambot.notices, routers/events)."""

    action: Literal["accept", "decline"]
    id: DatabaseKey  # the proposal (a group)


class StopBroadcast(CallbackData, prefix="bcstop"):
    """The Stop button under a broadcast's progress (teambot.notices, routers/broadcast)."""

    id: DatabaseKey
