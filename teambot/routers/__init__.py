"""One aiogram router per feature; handlers stay thin and call services."""

from __future__ import annotations

from aiogram import Router

from teambot.routers import start


def all_routers() -> list[Router]:
    return [start.router]
