"""`teambot run` as a real process: signals, crashes and restarts lose no update."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.slow

USERS = 100
PER_USER = 3  # 300 updates; under the throttle's 20 per minute


class BotProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "teambot", "run"],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log_file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def bot_processes(env: dict[str, str], log: Path) -> Iterator[Callable[..., BotProcess]]:
    """Starts `teambot run` processes with `env` (plus overrides); kills what is left."""
    started: list[BotProcess] = []

    def start(**extra: str) -> BotProcess:
        bot = BotProcess({**env, **extra}, log)
        started.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in started:
            if bot.proc.poll() is None:
                bot.proc.kill()
                bot.wait()


@pytest.fixture
def start_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    with bot_processes(bot_env, tmp_path / "bot.log") as start:
        yield start


def burst(telegram: FakeTelegram) -> list[int]:
    ids = []
    for n in range(PER_USER):
        for user in range(1, USERS + 1):
            ids.append(telegram.send_text(user, "/help" if n % 2 else "/start"))
    return ids


def answered(telegram: FakeTelegram) -> int:
    return sum(len(telegram.messages(user)) for user in range(1, USERS + 1))


def wait_ready(telegram: FakeTelegram, bot: BotProcess) -> None:
    telegram.wait_until_sync(
        lambda: telegram.get_updates_calls > 0 or bot.proc.poll() is not None,
        timeout=30,
        what="the bot to start polling",
    )
    assert bot.proc.poll() is None, bot.output()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigterm_mid_burst_exits_0_after_answering_everything_it_took(
    telegram: FakeTelegram,
    start_bot,
    backend: str,  # type: ignore[no-untyped-def]
) -> None:
    bot = start_bot(TEAMBOT_BACKEND=backend)
    wait_ready(telegram, bot)
    ids = burst(telegram)
    telegram.wait_until_sync(lambda: answered(telegram) >= 30, timeout=30, what="some answers")
    bot.signal(signal.SIGTERM)
    assert bot.wait(30) == 0, bot.output()
    # everything confirmed was answered; nothing taken was left unanswered
    confirmed = [i for i in ids if i < telegram.confirmed_offset]
    assert answered(telegram) >= len(confirmed)
    assert "Traceback" not in bot.output()
    assert telegram.token.split(":")[1] not in bot.output()
    # the rest is answered by the next run
    again = start_bot(TEAMBOT_BACKEND=backend)
    telegram.wait_until_sync(
        lambda: answered(telegram) >= len(ids), timeout=60, what="all 300 answers"
    )
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0
    assert telegram.pending_update_count == 0


def test_sigkill_mid_burst_then_restart_loses_nothing(
    telegram: FakeTelegram,
    start_bot,  # type: ignore[no-untyped-def]
) -> None:
    bot = start_bot()
    wait_ready(telegram, bot)
    ids = burst(telegram)
    telegram.wait_until_sync(lambda: answered(telegram) >= 60, timeout=30, what="some answers")
    bot.signal(signal.SIGKILL)
    bot.wait(10)
    before = answered(telegram)
    again = start_bot()
    telegram.wait_until_sync(
        lambda: all(len(telegram.messages(u)) >= PER_USER for u in range(1, USERS + 1)),
        timeout=60,
        what="every user answered three times",
    )
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0
    duplicates = answered(telegram) - len(ids)
    print(f"answered before kill {before}, duplicates after restart {duplicates}")
    assert telegram.pending_update_count == 0


def test_second_signal_exits_at_once(telegram: FakeTelegram, start_bot) -> None:  # type: ignore[no-untyped-def]
    bot = start_bot(SHUTDOWN_TIMEOUT_SECONDS="60")
    wait_ready(telegram, bot)
    # an answer that hangs keeps the graceful stop busy draining
    telegram.fault_delay = 60
    telegram.inject_fault("sendMessage", "timeout")
    telegram.send_text(1, "/start")
    telegram.wait_until_sync(
        lambda: len(telegram.calls_of("sendMessage")) == 1, timeout=20, what="the hung answer"
    )
    bot.signal(signal.SIGINT)
    telegram.wait_until_sync(
        lambda: "SIGINT received" in bot.output(), timeout=10, what="the first SIGINT"
    )
    bot.signal(signal.SIGINT)
    started = time.monotonic()
    assert bot.wait(10) == 128 + signal.SIGINT, bot.output()
    assert time.monotonic() - started < 5
    assert "second SIGINT received: exiting now" in bot.output()


def test_waits_for_the_database_and_says_why(
    telegram: FakeTelegram,
    start_bot,
    postgres_server: str,  # type: ignore[no-untyped-def]
) -> None:
    name = f"late_{uuid.uuid4().hex[:12]}"
    late = psycopg.conninfo.make_conninfo(postgres_server, dbname=name)
    bot = start_bot(DATABASE_URL=late)
    telegram.wait_until_sync(
        lambda: "waiting for PostgreSQL" in bot.output(),
        timeout=90,  # the interpreter alone may take 20 s to start on a loaded machine
        what="the bot to say it waits for PostgreSQL",
    )
    assert bot.proc.poll() is None, bot.output()
    assert f'database "{name}" does not exist' in bot.output()
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create database {name}")
    telegram.send_text(1, "/start")
    telegram.wait_until_sync(
        lambda: len(telegram.messages(1)) == 1, timeout=30, what="the /start answer"
    )
    bot.signal(signal.SIGTERM)
    assert bot.wait(30) == 0


def test_a_rejected_token_exits_78_without_leaking_it(
    telegram: FakeTelegram,
    start_bot,  # type: ignore[no-untyped-def]
) -> None:
    wrong = "987654321:AAHwrongTokenThatTheServerRejects_xx"
    bot = start_bot(BOT_TOKEN=wrong)
    assert bot.wait(30) == 78
    assert "BOT_TOKEN was rejected" in bot.output()
    assert "wrongTokenThat" not in bot.output()
