"""One aiogram router per feature; handlers stay thin and call services."""

from __future__ import annotations

from aiogram import Router

from teambot.routers import (
    admin,
    fallback,
    invitations,
    profile,
    registration,
    search,
    start,
    teams,
)


def feature_routers() -> list[Router]:
    return [
        search.leave_note,  # first: any command leaves the note question
        admin.router,
        registration.router,
        start.router,
        profile.router,
        search.router,
        invitations.router,
        teams.router,
    ]


def fallback_router() -> Router:
    return fallback.router
