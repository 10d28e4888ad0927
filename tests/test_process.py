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
from tests.test_broadcast import ADMIN, BODY, announcement, figures, got, people
from tests.test_operations import free_port

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

    def exited(self) -> bool:
        return self.proc.poll() is not None

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
    # 30 s: importing aiogram alone takes 3 s of CPU, and the process group runs four at once
    telegram.wait_until_sync(
        lambda: (
            telegram.get_updates_calls > 0
            or telegram.webhook_url != ""
            or bot.proc.poll() is not None
        ),
        timeout=30,
        what="the bot to take updates (a poll, or its webhook set)",
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


WEBHOOK = {
    "UPDATES_MODE": "webhook",
    "WEBHOOK_URL": "https://bot.example.test/telegram",
    "WEBHOOK_SECRET": "process-test-secret-0123456789",
}


def webhook_env(telegram: FakeTelegram) -> dict[str, str]:
    """UPDATES_MODE=webhook on a free port, the fake's stand-in proxy pointed at it."""
    port = free_port()
    telegram.webhook_proxy = f"http://127.0.0.1:{port}"
    return {**WEBHOOK, "HTTP_PORT": str(port)}


@pytest.mark.parametrize(
    ("backend", "mode"), [("asyncio", "polling"), ("trio", "polling"), ("trio", "webhook")]
)
def test_sigkill_mid_burst_then_restart_loses_nothing(
    telegram: FakeTelegram,
    start_bot: Callable[..., BotProcess],
    database_url: str,
    backend: str,
    mode: str,
) -> None:
    register_everyone(database_url)
    env = {"TEAMBOT_BACKEND": backend, **(webhook_env(telegram) if mode == "webhook" else {})}
    bot = start_bot(**env)
    wait_ready(telegram, bot)
    searches = burst(telegram)
    telegram.wait_until_sync(lambda: answered(telegram) >= 60, timeout=30, what="some answers")
    bot.signal(signal.SIGKILL)
    bot.wait(10)
    before = answered(telegram)
    again = start_bot(**env)
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
    print(f"{backend}, {mode}: answered before the kill {before}, again after it {len(twice)}")
    if mode == "webhook":
        with psycopg.connect(database_url) as conn:
            assert conn.execute("select count(*) from inbox").fetchone() == (0,)
    assert answered(telegram) == sum(counts.values()), "an answer that belongs to no update"


CROWD = 300  # ten batches of the broadcast actor's 30


def sent_by_the_outbox(database_url: str, crowd: list[int]) -> set[int]:
    """Recipients whose announcement's outbox row has its sent-mark."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select r.user_id from broadcast_recipients r join outbox o on o.id = r.outbox_id"
            " where o.sent_at is not null and r.user_id = any(%s)",
            (crowd,),
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize(("backend", "lang"), [("asyncio", "en"), ("trio", "ru")])
def test_sigkill_mid_broadcast_then_restart_everyone_gets_it_once_or_by_the_rule_twice(
    telegram: FakeTelegram,
    start_bot: Callable[..., BotProcess],
    database_url: str,
    backend: str,
    lang: str,
) -> None:
    """A broadcast to a few hundred, the bot SIGKILLed after some got it, restarted on the
    other backend: everyone gets it; a second copy only for whom Telegram had taken it and
    the outbox had not yet marked sent when the process died (the outbox's rule: its marks
    are one write per batch, so a kill may repeat up to the batch on its way)."""
    telegram.flood_limits = True  # paced as by Telegram: slow enough to kill it midway
    # half the crowd reads English, half Russian; the admin reads `lang`
    crowd = people(database_url, 1000, CROWD // 2, "en") + people(
        database_url, 1000 + CROWD // 2, CROWD // 2, "ru"
    )
    language = {user: "en" if user < 1000 + CROWD // 2 else "ru" for user in crowd}
    env = {"ADMIN_IDS": str(ADMIN), "FLOOD_CONTROL": "true"}
    other = "trio" if backend == "asyncio" else "asyncio"
    bot = start_bot(TEAMBOT_BACKEND=backend, **env)
    wait_ready(telegram, bot)

    def admin_has(count: int) -> None:
        telegram.wait_until_sync(
            lambda: len(telegram.messages(ADMIN)) >= count, timeout=30, what="the admin's screen"
        )

    telegram.send_text(ADMIN, "/broadcast", language_code=lang)
    admin_has(1)
    telegram.send_text(ADMIN, BODY, language_code=lang)
    admin_has(2)
    telegram.press(ADMIN, text(lang, "broadcast_everyone", count=CROWD), language_code=lang)
    admin_has(4)  # the preview, and the message with Send
    confirm = telegram.last_message(ADMIN)
    assert confirm.buttons[0] == text(lang, "broadcast_send", count=CROWD), confirm.buttons
    telegram.press(ADMIN, confirm.buttons[0], language_code=lang)

    def delivered() -> int:
        return sum(len(got(telegram, user)) for user in crowd)

    telegram.wait_until_sync(lambda: delivered() >= 45, timeout=60, what="some delivered")
    bot.signal(signal.SIGKILL)
    bot.wait(10)
    before = {user for user in crowd if got(telegram, user)}
    # the only ones the rule lets get it twice: Telegram took it, its sent-mark was not
    # written when the process died
    unmarked = before - sent_by_the_outbox(database_url, crowd)

    again = start_bot(TEAMBOT_BACKEND=other, **env)
    endings = (text(lang, "broadcast_done"), text(lang, "broadcast_stopped"))

    def progress() -> str:
        [message] = [m for m in telegram.messages(ADMIN) if m.message_id == confirm.message_id]
        return message.text

    telegram.wait_until_sync(
        lambda: progress().endswith(endings), timeout=120, what="the broadcast's last line"
    )
    again.signal(signal.SIGTERM)
    assert again.wait(30) == 0, again.output()[-3000:]

    copies = {user: got(telegram, user) for user in crowd}
    twice = {user for user, texts in copies.items() if len(texts) > 1}
    print(
        f"\n{backend} → {other}: {len(before)} of {CROWD} had it at the kill,"
        f" {len(unmarked)} of them without a sent-mark; sent twice after the restart:"
        f" {len(twice)}; 429s: {telegram.flood_rejections}"
    )
    assert CROWD > len(before) >= 45  # killed midway
    assert [user for user, texts in copies.items() if not texts] == [], "lost"
    assert {user: len(copies[user]) for user in twice if len(copies[user]) > 2} == {}
    assert twice <= unmarked, "sent twice though its sent-mark was written"
    # each is marked as soon as Telegram takes it: again at most the last one taken, and
    # the one before it if its mark was still being written
    assert len(twice) <= 2
    assert all(set(texts) == {announcement(language[user])} for user, texts in copies.items())
    assert progress() == f"{figures(lang, CROWD, CROWD)}\n{text(lang, 'broadcast_done')}"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from outbox where sent_at is null").fetchone() == (0,)
    assert "Traceback" not in again.output()


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
