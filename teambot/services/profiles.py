"""Registration and profile rules: what a valid profile is, and saving it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from teambot.adapters.database import Connection, Database
from teambot.data import teams, users
from teambot.domain import Profile, UserRow
from teambot.services import matching_fields as fields
from teambot.services import skills as skill_tags

UserType = Literal["participant", "cofounder", "team"]
MAX_NAME = 64
MAX_BIO = 500
MAX_TEAM_NAME = 100
MAX_TEAM_DESCRIPTION = 1000


class ProfileDraft(BaseModel):
    """What the registration dialogue collects; validated again before saving."""

    user_type: UserType
    display_name: str = Field(min_length=1, max_length=MAX_NAME)
    skills: list[str] = Field(default_factory=list, max_length=skill_tags.MAX_SKILLS)
    looking_for: list[str] = Field(default_factory=list, max_length=skill_tags.MAX_SKILLS)
    bio: str = Field(default="", max_length=MAX_BIO)
    team_name: str | None = Field(default=None, min_length=1, max_length=MAX_TEAM_NAME)
    team_description: str = Field(default="", max_length=MAX_TEAM_DESCRIPTION)
    # the matching fields (migration 0010), each optional
    hours_per_week: fields.HoursPerWeek | None = None
    available_from: fields.AvailableFrom | None = None
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    utc_offset: int | None = Field(default=None, ge=-720, le=840)
    work_mode: fields.WorkMode | None = None
    city: str | None = Field(default=None, min_length=1, max_length=fields.MAX_CITY)
    role_focus: fields.RoleFocus | None = None
    wanted_roles: list[fields.RoleFocus] = Field(default_factory=list)  # a team's: it needs
    size_limit: int | None = Field(default=None, ge=2, le=50)  # a team's
    stage: fields.Stage | None = None
    languages: list[str] = Field(default_factory=list, max_length=fields.MAX_LANGUAGES)
    links: list[str] = Field(default_factory=list, max_length=fields.MAX_LINKS)

    def profile(self) -> dict[str, Any]:
        """The fields a person edits on their own profile (not the role, not the team)."""
        return self.model_dump(
            include={"display_name", "skills", "looking_for", "bio", *users.MATCHING_FIELDS}
        )

    @field_validator("display_name", "bio", "team_description", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


def clean_name(text: str) -> str | None:
    name = " ".join(text.split())
    return name if 1 <= len(name) <= MAX_NAME else None


def _register(conn: Connection, user_id: int, draft: ProfileDraft) -> None:
    users.register(conn, user_id, user_type=draft.user_type, **draft.profile())
    if draft.user_type == "team" and draft.team_name:
        teams.upsert_owned(
            conn,
            user_id,
            name=draft.team_name,
            description=draft.team_description,
            roles_needed=draft.looking_for,
            size_limit=draft.size_limit,
        )


async def register(database: Database, user_id: int, draft: ProfileDraft) -> None:
    await database.run(_register, user_id, draft)


def _update(conn: Connection, user_id: int, draft: ProfileDraft) -> None:
    users.update_profile(conn, user_id, **draft.profile())
    team = teams.owned_by(conn, user_id)
    if team is not None:  # what a team looks for is the roles it needs
        teams.update(conn, team.id, roles_needed=draft.looking_for, size_limit=draft.size_limit)


async def update(database: Database, user_id: int, draft: ProfileDraft) -> None:
    """An edit of a registered profile: role, searching and team membership stay as they are."""
    await database.run(_update, user_id, draft)


def _profile(conn: Connection, user: UserRow) -> Profile:
    team, in_team = teams.of_profile(conn, user.id)
    return Profile(user, team, in_team)


async def profile(database: Database, user: UserRow) -> Profile:
    """The person's card as others see it (with the team they own), and whether they are in
    a team (a member cannot start over: that could change their role)."""
    return await database.run(_profile, user)
