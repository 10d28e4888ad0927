"""One aiogram router per feature; handlers stay thin and call services."""

from __future__ import annotations

from aiogram import Router

# The routers' modules are imported when asked for, not with the package: teambot.notices
# (imported by the jobs and the matcher too) uses routers/views.py, and the routers use it.


def feature_routers() -> list[Router]:
    from teambot.routers import (
        admin,
        broadcast,
        events,
        invitations,
        profile,
        registration,
        saved,
        search,
        start,
        still_looking,
        teams,
    )

    return [
        search.leave_note,  # first: any command leaves the note question
        admin.router,
        events.router,
        broadcast.router,
        registration.router,
        start.router,
        profile.router,
        search.router,
        saved.router,
        still_looking.router,
        invitations.router,
        teams.router,
    ]


def fallback_router() -> Router:
    from teambot.routers import fallback

    return fallback.router
