"""The layers as ruff enforces them (pyproject.toml, teambot/routers/ruff.toml): a router
that imports the data layer, and code outside teambot/adapters that imports aiogram's
internals, fail the lint; the imports each layer needs pass."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DATA = "from teambot.data import users"
DATA_MODULE = "from teambot.data.users import get"
ASYNCIO = "import asyncio"
AIOGRAM_INTERNALS = (
    "from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware",
    "from aiogram.dispatcher.event.handler import CallableObject",
    "from aiogram.client.session.base import BaseSession",
    "from aiogram.client.telegram import TelegramAPIServer",
    "from aiogram.fsm.storage.base import BaseStorage",
)
AIOGRAM_PUBLIC = (
    "from aiogram.dispatcher.event.bases import SkipHandler",
    "from aiogram.fsm.context import FSMContext",
    "from aiogram.fsm.state import State",
    "from aiogram.filters import Command",
    "from aiogram.methods import SendMessage",
    "from aiogram.types import Message",
    "from aiogram import BaseMiddleware, Router",
)
SERVICES = "from teambot.services import accounts"
DOMAIN = "from teambot.domain import UserRow"


def banned(path: str, line: str) -> bool:
    """Does `ruff check` refuse this import in a file at `path` (with that path's config)?"""
    lint = ["ruff", "check", "--no-cache", "--select", "TID251", "--output-format", "concise"]
    result = subprocess.run(
        [sys.executable, "-m", *lint, "--stdin-filename", path, "-"],
        input=line + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 1 and "TID251" in result.stdout


@pytest.mark.parametrize("line", [DATA, DATA_MODULE, ASYNCIO, *AIOGRAM_INTERNALS])
def test_a_router_cannot_import_the_data_layer_asyncio_or_aiogram_internals(line: str) -> None:
    assert banned("teambot/routers/probe.py", line)


@pytest.mark.parametrize("line", [SERVICES, DOMAIN, *AIOGRAM_PUBLIC])
def test_a_router_may_import_services_rows_and_aiogram_public_api(line: str) -> None:
    assert not banned("teambot/routers/probe.py", line)


@pytest.mark.parametrize("path", ["teambot/services/probe.py", "teambot/actors/pipeline/probe.py"])
def test_outside_the_adapters_aiogram_internals_and_asyncio_are_banned(path: str) -> None:
    for line in (ASYNCIO, *AIOGRAM_INTERNALS):
        assert banned(path, line), line
    for line in (DATA, DOMAIN, *AIOGRAM_PUBLIC):  # below the routers the data layer is fine
        assert not banned(path, line), line


def test_the_adapters_may_use_aiogram_internals() -> None:
    for line in (ASYNCIO, *AIOGRAM_INTERNALS):
        assert not banned("teambot/adapters/probe.py", line), line


def test_the_routers_config_repeats_every_project_ban() -> None:
    """A banned-api table in a nested config replaces the inherited one: each ban of the
    project's must be written there again."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    routers = tomllib.loads((ROOT / "teambot/routers/ruff.toml").read_text())
    bans = project["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"]
    router_bans = routers["lint"]["flake8-tidy-imports"]["banned-api"]
    assert {name: router_bans.get(name) for name in bans} == bans
