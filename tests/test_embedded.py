"""The embedded PostgreSQL (DATABASE_URL unset): no server outlives the process that started
it, whichever way that process ends, and what a killed run left does not stand in the way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from teambot.embedded import embedded_server
from tests.conftest import TEST_PGDATA, remove_test_server
from tests.fake_telegram import FakeTelegram
from tests.test_process import BotProcess, bot_processes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

StartBot = Callable[..., BotProcess]


def servers_on(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL processes of the server in pgdata: the postmaster names it on its command
    line, and every process of the server works in it."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "cwd"]):
        if proc.info["name"] == "postgres" and (
            str(pgdata) in (proc.info["cmdline"] or []) or proc.info["cwd"] == str(pgdata)
        ):
            found.append(proc)
    return found


def assert_no_server(pgdata: Path) -> None:
    assert (pgdata / ".handle_pids.json").exists(), "the embedded server never ran here"
    # pg_ctl stop returns when postmaster.pid is gone, a moment before the process is
    _, alive = psutil.wait_procs(servers_on(pgdata), timeout=30)
    assert not alive, f"left running: {alive}"
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []


def running(proc: psutil.Process) -> bool:
    """Alive (a stopped server's processes may wait a moment as zombies to be reaped)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postmaster(pgdata: Path) -> psutil.Process:
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))


def teambot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "teambot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def new_data_dir() -> Path:
    # not in tmp_path: each pytest session that starts makes /tmp/pytest-of-<user> private
    # again, and (run as root) the server's own user could then not reach a new data dir
    return Path(tempfile.mkdtemp(prefix="teambot-test-data-"))


def discard(data_dir: Path) -> None:
    remove_test_server(data_dir / "postgres")  # stops whatever a failed test left running
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_cluster() -> Iterator[Path]:
    """A migrated cluster made once per worker; a test starts from a copy (on a busy
    machine an initdb takes seconds)."""
    data_dir = new_data_dir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DB_", "DATABASE"))}
    made = teambot({**env, "DATA_DIR": str(data_dir)}, "migrate")
    assert made.returncode == 0, made.stderr
    (data_dir / "postgres" / ".handle_pids.json").unlink()
    yield data_dir / "postgres"
    discard(data_dir)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    data_dir = new_data_dir()
    yield data_dir
    discard(data_dir)


@pytest.fixture
def pgdata(data_dir: Path, migrated_cluster: Path) -> Path:
    """The test's copy of the migrated cluster, in DATA_DIR."""
    # -a keeps the owner: run as root, that is the server's own user
    subprocess.run(["cp", "-a", str(migrated_cluster), str(data_dir / "postgres")], check=True)
    return (data_dir / "postgres").resolve()


@pytest.fixture
def embedded_env(bot_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    env = dict(bot_env)
    del env["DATABASE_URL"]
    env["DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture
def start_bot(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[StartBot]:
    with bot_processes(embedded_env, tmp_path / "bot.log") as start:
        yield start


def wait_ready(telegram: FakeTelegram, bot: BotProcess) -> None:
    # generous: an initdb and a start on a busy machine come first
    calls = telegram.get_updates_calls
    telegram.wait_until_sync(
        lambda: telegram.get_updates_calls > calls or bot.proc.poll() is not None,
        timeout=120,
        what="the bot to start polling",
    )
    assert bot.proc.poll() is None, bot.output()


def answer_start(telegram: FakeTelegram, bot: BotProcess) -> None:
    before = len(telegram.messages(1))
    telegram.send_text(1, "/start")
    telegram.wait_until_sync(
        lambda: len(telegram.messages(1)) > before or bot.proc.poll() is not None,
        timeout=120,
        what="the /start answer",
    )
    assert bot.proc.poll() is None, bot.output()


def test_sigterm_stops_the_server(
    telegram: FakeTelegram, start_bot: StartBot, pgdata: Path
) -> None:
    bot = start_bot()
    wait_ready(telegram, bot)
    answer_start(telegram, bot)
    assert servers_on(pgdata)
    bot.signal(signal.SIGTERM)
    assert bot.wait(60) == 0, bot.output()
    assert_no_server(pgdata)


def test_a_second_signal_stops_the_server(
    telegram: FakeTelegram, start_bot: StartBot, pgdata: Path
) -> None:
    bot = start_bot(SHUTDOWN_TIMEOUT_SECONDS="60")
    wait_ready(telegram, bot)
    telegram.fault_delay = 60  # an answer that hangs keeps the graceful stop busy
    telegram.inject_fault("sendMessage", "timeout")
    telegram.send_text(1, "/start")
    telegram.wait_until_sync(
        lambda: len(telegram.calls_of("sendMessage")) == 1, timeout=60, what="the hung answer"
    )
    bot.signal(signal.SIGINT)
    telegram.wait_until_sync(
        lambda: "SIGINT received" in bot.output(), timeout=30, what="the first SIGINT"
    )
    bot.signal(signal.SIGINT)
    assert bot.wait(60) == 128 + signal.SIGINT, bot.output()
    assert_no_server(pgdata)


def test_a_rejected_token_exit_78_stops_the_server(start_bot: StartBot, pgdata: Path) -> None:
    bot = start_bot(BOT_TOKEN="987654321:AAHwrongTokenThatTheServerRejects_xx")
    assert bot.wait(120) == 78, bot.output()
    assert "BOT_TOKEN was rejected" in bot.output()
    assert_no_server(pgdata)


def test_migrate_and_check_config_leave_no_server(
    embedded_env: dict[str, str], data_dir: Path
) -> None:
    pgdata = data_dir / "postgres"  # made from nothing: initdb, start, migrate, stop
    migrated = teambot(embedded_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "applied: 0001" in migrated.stderr
    assert_no_server(pgdata)
    checked = teambot(embedded_env, "check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert_no_server(pgdata)


def test_an_error_after_the_start_stops_the_server(data_dir: Path, pgdata: Path) -> None:
    with pytest.raises(RuntimeError), embedded_server(data_dir) as conninfo:
        psycopg.connect(conninfo).close()
        raise RuntimeError("start-up failed further on")
    assert_no_server(pgdata)


def test_a_run_after_a_killed_one_adopts_its_server_and_stops_it(
    telegram: FakeTelegram, start_bot: StartBot, pgdata: Path
) -> None:
    killed = start_bot()
    wait_ready(telegram, killed)
    orphan = postmaster(pgdata)
    killed.signal(signal.SIGKILL)
    killed.wait()
    assert running(orphan)  # what a killed run leaves
    again = start_bot()
    answer_start(telegram, again)
    again.signal(signal.SIGTERM)
    assert again.wait(60) == 0, again.output()
    assert not running(orphan)
    adopted = f"adopting the embedded PostgreSQL an earlier run left running (pid {orphan.pid})"
    assert adopted in again.output()
    assert_no_server(pgdata)


def test_migrate_after_a_killed_run_stops_the_server_it_left(
    telegram: FakeTelegram, start_bot: StartBot, embedded_env: dict[str, str], pgdata: Path
) -> None:
    killed = start_bot()
    wait_ready(telegram, killed)
    orphan = postmaster(pgdata)
    killed.signal(signal.SIGKILL)
    killed.wait()
    migrated = teambot(embedded_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert not running(orphan)
    assert_no_server(pgdata)


def test_a_stale_postmaster_pid_naming_another_process_does_not_block_the_start(
    embedded_env: dict[str, str], pgdata: Path
) -> None:
    """A restarted container counts pids from 1 again: the pid a killed run's postmaster.pid
    names may belong to anything now."""
    with subprocess.Popen(["sleep", "120"]) as stranger:
        try:
            (pgdata / "postmaster.pid").write_text(
                f"{stranger.pid}\n{pgdata}\n{int(time.time())}\n5432\n{pgdata}\n\n"
                "  5432001         0\nready\n"
            )
            migrated = teambot(embedded_env, "migrate")
            assert migrated.returncode == 0, migrated.stderr
            assert "applied: nothing, schema is current" in migrated.stderr
            assert stranger.poll() is None
        finally:
            stranger.kill()
    assert_no_server(pgdata)


def test_a_test_run_leaves_no_server_and_no_data_behind(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "test_throwaway.py").write_text(
        textwrap.dedent(
            """
            import atexit
            import os

            import psycopg
            import pytest

            @pytest.mark.parametrize("n", range(4))
            def test_uses_the_server(postgres_server, n):
                with psycopg.connect(postgres_server) as conn:
                    conn.execute("select 1")
                with open(os.environ["SEEN"], "a") as seen:
                    worker = os.environ["PYTEST_XDIST_WORKER"]
                    print(os.environ["TEAMBOT_TEST_PGDATA"], worker, file=seen)
                # the worker ends before the exit handlers registered so far run, as xdist
                # ending a worker does
                atexit.register(os._exit, 0)
            """
        )
    )
    seen = tmp_path / "seen.txt"
    # this run's own TEAMBOT_TEST_PGDATA goes along: the inner run must not take it over
    inner_run = ["-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path)]
    inner_run += ["-n", "2", "-p", "tests.conftest", str(tmp_path / "test_throwaway.py")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *inner_run],
        env={**os.environ, "SEEN": str(seen)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in seen.read_text().splitlines()]
    assert len(rows) == 4
    assert {worker for _, worker in rows} == {"gw0", "gw1"}
    (inner,) = {Path(pgdata) for pgdata, _ in rows}
    assert str(inner) != os.environ.get(TEST_PGDATA)
    assert not inner.exists()
    assert not servers_on(inner)
