"""`teambot run` as a real process: signals, crashes and restarts lose no update.

The bursts give every update an answer of its own: registered people search for a skill
nobody has, a different one each time, and the bot names it back ("Nobody with «u7n2» is
looking right now"). So a lost update and one answered twice are each seen, one cannot
hide the other, and the update ids Telegram delivered are checked against the ones the bot
recorded as handled."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from teambot.texts import text
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
def start_bot(bot_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    with bot_processes(bot_env, tmp_path / "bot.log") as start:
        yield start


def register_everyone(database_url: str) -> None:
    """USERS participants, and a team for them to find when they search without a skill
    (so a search with one says "nobody with that skill", naming it)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into users (id, first_name, display_name, user_type, is_searching,"
            " registered_at, fields_offered_at) select g, 'User', 'U' || g,"
            " case when g > %(users)s then 'team' else 'participant' end, true, now(), now()"
            " from generate_series(1, %(users)s + 1) g",
            {"users": USERS},
        )


@dataclass(frozen=True)
class Search:
    user: int
    skill: str


def burst(telegram: FakeTelegram) -> dict[int, Search]:
    """PER_USER searches by each person, each for a skill nobody has; by update id."""
    searches = {}
    for n in range(PER_USER):
        for user in range(1, USERS + 1):
            search = Search(user, f"u{user}n{n}")
            searches[telegram.send_text(user, f"/search {search.skill}")] = search
    return searches


def echoes(telegram: FakeTelegram, searches: dict[int, Search]) -> Counter[int]:
    """How many times each update was answered: its skill named back to its sender."""
    chats = {user: telegram.messages(user) for user in range(1, USERS + 1)}
    counts = Counter[int]()
    for update_id, search in searches.items():
        answer = text("en", "search_empty_filtered", skill=search.skill)
        counts[update_id] = sum(m.html.startswith(answer) for m in chats[search.user])
    return counts


def answered(telegram: FakeTelegram) -> int:
    return sum(len(telegram.messages(user)) for user in range(1, USERS + 1))


def handled_updates(database_url: str) -> set[int]:
    with psycopg.connect(database_url) as conn:
        return {row[0] for row in conn.execute("select update_id from handled_updates")}


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
    start_bot: Callable[..., BotProcess],
    database_url: str,
    backend: str,
) -> None:
    register_everyone(database_url)
    # in flight finish within SHUTDOWN_TIMEOUT_SECONDS: generous, so a loaded machine
    # does not cut one short (that would be answered again by the next run)
    bot = start_bot(TEAMBOT_BACKEND=backend, SHUTDOWN_TIMEOUT_SECONDS="60")
    wait_ready(telegram, bot)
    searches = burst(telegram)
    telegram.wait_until_sync(lambda: answered(telegram) >= 30, timeout=30, what="some answers")
    bot.signal(signal.SIGTERM)
    assert bot.wait(90) == 0, bot.output()
    # everything confirmed was answered; nothing taken was left unanswered
    confirmed = {i for i in searches if i < telegram.confirmed_offset}
    assert confirmed, "the stop came after nothing was confirmed"
    before = echoes(telegram, searches)
    assert [i for i in confirmed if before[i] != 1] == []
    assert confirmed <= handled_updates(database_url)
    assert "Traceback" not in bot.output()
    assert telegram.token.split(":")[1] not in bot.output()
    # the rest is answered by the next run, and what the first run answered is not again
    again = start_bot(TEAMBOT_BACKEND=backend)
    telegram.wait_until_sync(
        lambda: min(echoes(telegram, searches).values()) >= 1,
        timeout=60,
        what="every update answered",
    )
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0
    assert telegram.pending_update_count == 0
    after = echoes(telegram, searches)
    assert {i: n for i, n in after.items() if n != 1} == {}, "lost (0) or answered twice (2+)"
    assert set(searches) <= handled_updates(database_url)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sigkill_mid_burst_then_restart_loses_nothing(
    telegram: FakeTelegram,
    start_bot: Callable[..., BotProcess],
    database_url: str,
    backend: str,
) -> None:
    register_everyone(database_url)
    bot = start_bot(TEAMBOT_BACKEND=backend)
    wait_ready(telegram, bot)
    searches = burst(telegram)
    telegram.wait_until_sync(lambda: answered(telegram) >= 60, timeout=30, what="some answers")
    bot.signal(signal.SIGKILL)
    bot.wait(10)
    before = answered(telegram)
    again = start_bot(TEAMBOT_BACKEND=backend)
    telegram.wait_until_sync(
        lambda: min(echoes(telegram, searches).values()) >= 1,
        timeout=60,
        what="every update answered",
    )
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0
    assert telegram.pending_update_count == 0
    # confirmed to Telegram only once recorded: else a redelivery would be acted on again
    assert sorted(set(searches) - handled_updates(database_url)) == []
    counts = echoes(telegram, searches)
    assert [i for i, n in counts.items() if n == 0] == []  # none lost
    twice = {i: n for i, n in counts.items() if n > 1}
    # answered before the kill and not yet recorded as handled: answered again (at least once)
    print(f"{backend}: answered before the kill {before}, answered again after it {len(twice)}")
    assert answered(telegram) == sum(counts.values()), "an answer that belongs to no update"


def test_second_signal_exits_at_once(
    telegram: FakeTelegram, start_bot: Callable[..., BotProcess]
) -> None:
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
    start_bot: Callable[..., BotProcess],
    postgres_server: str,
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
    start_bot: Callable[..., BotProcess],
) -> None:
    wrong = "987654321:AAHwrongTokenThatTheServerRejects_xx"
    bot = start_bot(BOT_TOKEN=wrong)
    assert bot.wait(30) == 78
    assert "BOT_TOKEN was rejected" in bot.output()
    assert "wrongTokenThat" not in bot.output()
