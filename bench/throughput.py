"""teambot against stock aiogram polling: the same handlers, the same traffic, one command.

    python -m bench.throughput [--runs 5] [--users 25] [--updates 400] [--burst 200]
        [--bursts 2] [--probes 3] [--backlog 0] [--backlog-seconds 30]
        [--backend both|asyncio|trio] [--flood-control] [--stock-inline-filters] [--quick]

The default takes about 3 minutes on 2 cores; the README's figures come from
`--users 50 --updates 2000 --bursts 3 --backlog 100000 --backlog-seconds 60` (about 12).

The contenders (each in a subprocess of its own, so its RSS and CPU are its own; each run on
a fresh copy of one migrated database and a fresh fake Bot API server from
tests/fake_telegram.py, real HTTP on 127.0.0.1, served from this process):

  ours   teambot.runtime.build_app + serve(): poller -> throttle -> dispatch, asyncio or trio
  stock  aiogram's Dispatcher.start_polling with its default AiohttpSession (asyncio
         only): its polling loop, a task per update (unbounded, or with
         tasks_concurrency_limit), one user's updates one at a time (aiogram's
         SimpleEventIsolation); each update handled as teambot handles it
         (UpdateHandler.handle: the unit of work around aiogram's middleware chain, the same
         routers, middleware, FSM storage, outbox and workflow data; `per_update` below), so
         only the framework around the handling differs. aiogram's own CallableObject.call
         (a thread hop per sync filter) is put back, since build_app replaces it.

Both get the same settings: pool 10..30, MAX_CONCURRENT_UPDATES 64 (ours), poll timeout
10 s, and a per-user throttle of 100 updates per 1 s window (ours; stock has none, and the
default 20 a minute would drop most of this traffic). Ours' flood control (pacing under
Telegram's 30 messages/s) is off unless --flood-control: the fake has no flood limits and
stock aiogram no pacing. Logging at WARNING for both.

Runs: --runs rounds, each running every contender once, the order turning by one each round
(stock, ours asyncio, ours trio; then ours asyncio, ours trio, stock; ...). Every figure is
printed as the median over the runs with its range [min–max], every run on its own line,
and ours/stock as the ratio of the medians.

Phases of a run:

  mixed    M users, each a closed loop (one update in flight, the next one sent as soon as
           the bot's answer to the last is on screen): registration through the real
           dialogue, then /search, Next, invitations (with and without a note), answers
           to the invitations received (accept / decline), /help; N updates in all, from
           a script generated per user from --seed (so every contender gets the same).
  burst    B updates enqueued at once, one per user: registered users send /search, new
           users /start; repeated --bursts times.
  paths    (first round only) the common paths one update at a time, each --probes times:
           /start of a registered user, /search, Next, an invitation (the note question,
           then sent without a note), its acceptance; the database work of each.
  backlog  (--backlog K, once per contender, after the rounds) K /help updates (20 per
           user) waiting on the server before the bot starts; RSS sampled every second
           while it drains, for at most --backlog-seconds. Stock runs it twice: as it
           comes, and with start_polling(tasks_concurrency_limit=64).

Latency: from the moment an update is put on the fake server (getUpdates can return it) to
the first Bot API call answering it that reaches the server: for a message, the first
sendMessage / edit in that user's chat; for a button, that or the answerCallbackQuery of
that callback query, whichever is first. Incoming invitations (someone else's action) are
recognised by their buttons and not counted as a reply.

Database work is counted in the contender's process as tests/test_round_trips.py counts it
(bench/harness.py): round trips are the times psycopg waits for the server, transactions
the COMMITs and ROLLBACKs that end one. Per update in a phase, it includes what the bot does
in the background meanwhile (the poller's bookkeeping, sent-marks, the matcher).
CPU: the contender's process (psutil).
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import random
import re
import statistics
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from aiogram import Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.types import Update

from bench.harness import (
    COUNTERS,
    MB,
    ContenderProcess,
    Control,
    DatabaseWork,
    Phase,
    Postgres,
    Recorder,
    Reply,
    Spread,
    count,
    count_teambot_database,
    logs_dir,
    machine_load,
    mb,
    ms,
    new_fake,
    print_table,
    ratio,
    report_logs,
    rotations,
    run_burst,
    tenths,
)

if TYPE_CHECKING:
    from teambot.actors.pipeline.handling import UpdateHandler
    from teambot.config import Settings
    from tests.fake_telegram import FakeTelegram

# aiogram's own, taken before build_app replaces it
AIOGRAM_CALLABLE_CALL = CallableObject.call


# --- the contender's process --------------------------------------------------------------


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
    app.cleanup.first_delay = 0  # its first pass at once, before the counting starts
    stop = anyio.Event()
    token = current_token()
    control.on_stop = lambda: anyio.from_thread.run_sync(stop.set, token=token)
    control.send("started", **control.counters.snapshot())
    async with anyio.create_task_group() as tg:
        await tg.start(partial(serve, app, handle_signals=False))
        if config["settle"]:
            with anyio.move_on_after(15):
                while app.cleanup.passes < 1:  # noqa: ASYNC110 - a counter, not an event
                    await anyio.sleep(0.05)
        control.ready()
        await stop.wait()
        app.supervisor.request_stop()


def per_update(handler: UpdateHandler) -> Callable[[Update], Awaitable[None]]:
    """How teambot handles one update, for stock's polling to call in place of
    Dispatcher.feed_update: UpdateHandler.handle, the update's unit of work (its reads and
    writes, dialogue step, handled mark and messages committed together, the messages sent
    after the COMMIT) around aiogram's own middleware chain and routers. If teambot's
    per-update handling moves, point this at it."""
    from teambot.actors.pipeline.ledger import PendingUpdate
    from teambot.actors.pipeline.work import Work, ordering_key, sender_of

    async def handle(update: Update) -> None:
        pending = PendingUpdate(update.update_id, update)
        user = sender_of(update)
        await handler.handle(Work(pending, ordering_key(pending, user), user))

    return handle


class StockFeed:
    """Stock's Dispatcher.feed_update: `handle` each update, one user's updates one at a
    time, as teambot's dispatch actor runs them (aiogram's own SimpleEventIsolation; the
    dialogue step is stored when the handling ends, after its answers, so the user's next
    update must wait for it)."""

    def __init__(self, handle: Callable[[Update], Awaitable[None]]) -> None:
        from aiogram.fsm.storage.memory import SimpleEventIsolation

        self.handle = handle
        self.isolation = SimpleEventIsolation()

    async def __call__(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        from aiogram.fsm.storage.base import StorageKey

        from teambot.actors.pipeline.work import sender_of

        user = sender_of(update)
        uid = user.id if user is not None else 0
        async with self.isolation.lock(StorageKey(bot_id=bot.id, chat_id=uid, user_id=uid)):
            await self.handle(update)
        return UNHANDLED  # nothing for aiogram to send in the webhook's reply


async def run_stock(config: dict[str, Any], control: Control) -> None:
    import asyncio  # aiogram's start_polling and AiohttpSession are asyncio-only

    import anyio
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from teambot.actors.matcher import Matcher
    from teambot.actors.outbox import Outbox
    from teambot.actors.pipeline.handling import UpdateHandler, build_dispatcher
    from teambot.actors.pipeline.reads import FirstReads
    from teambot.adapters.database import Database
    from teambot.adapters.effects import CollectEffects
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
    session.middleware(CollectEffects())  # what the unit of work needs of the session
    bot = Bot(config["token"], session=session, default=DefaultBotProperties(parse_mode="HTML"))
    metrics = Metrics()
    outbox = Outbox(database, bot, metrics)
    matcher = Matcher(database, outbox, bot, metrics, delay=settings.digest_delay_seconds)
    dispatcher = build_dispatcher(database, settings, matcher)
    reads = FirstReads(database, metrics)  # the first reads of many updates at once, as ours
    dispatcher.feed_update = StockFeed(  # type: ignore[method-assign]
        per_update(UpdateHandler(bot, dispatcher, outbox, reads))
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    control.on_stop = lambda: loop.call_soon_threadsafe(stop.set)
    control.send("started", **control.counters.snapshot())
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(outbox.run)
            await tg.start(reads.run)
            tg.start_soon(matcher.run)
            polling = asyncio.create_task(
                dispatcher.start_polling(
                    bot,
                    handle_signals=False,
                    polling_timeout=settings.poll_timeout_seconds,
                    tasks_concurrency_limit=config["tasks_concurrency_limit"],
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
    count_teambot_database()
    from teambot.logs import setup_logging

    setup_logging(os.environ.get("TEAMBOT_BENCH_LOG_LEVEL", "WARNING"))
    control = Control(COUNTERS)
    if config["kind"] == "ours":
        import anyio

        anyio.run(run_ours, config, control, backend=config["backend"])
    else:
        import asyncio  # the stock contender is asyncio by definition

        asyncio.run(run_stock(config, control))
    control.send("stopped", **COUNTERS.snapshot())


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
        if step.action in ("answer", "act") and self.alert:
            # "no longer pending", "already a pending invitation between you two" (the
            # other person invited first): the press is answered and nothing else comes
            return True
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
    yield Step("press", language, touch=True, button=t(f"role_{role}"))
    yield Step("press", t(f"role_{role}"), touch=True)
    yield Step("say", f"Name {uid}", new=True, button=t("done"))
    yield Step("say", ", ".join(skills), new=True, button=t("done"))
    yield Step("press", t("done"), new=True, button=t("done"))
    yield Step("say", ", ".join(wants), new=True, button=t("done"))
    yield Step("press", t("done"), new=True, button=t("skip"))
    if role == "team":
        yield Step("press", t("skip"), new=True)
        yield Step("say", f"Team {uid}", new=True, button=t("skip"))
    yield Step("press", t("skip"), new=True, button=t("pf_skip_rest"))
    yield Step("press", t("pf_skip_rest"), new=True, button=t("confirm"))
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
        self.kinds: Counter[str] = Counter()

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

    def _describe_stall(self, user: SimUser, flight: InFlight) -> str:
        """What a step unanswered for step_timeout saw, and the chat as it stands."""
        seen = (
            f"answered={flight.answered} alert={flight.alert} new={flight.new}"
            f" touched={sorted(flight.touched)}"
        )
        chat = [
            f"#{m.message_id} {m.text[:50]!r} {m.buttons[:4]}" for m in self.fake.messages(user.uid)
        ]
        return f"user {user.uid}: {flight.step} saw {seen}; the chat ends {chat[-2:]}"

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
                    self.kinds[flight.step.kind] += 1
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
                        self.phase.stalls.append(self._describe_stall(user, flight))
                        user.inflight = None
                        self._launch(user)
        self.phase.duration = last - started
        return self.phase


def burst_targets(
    registered: list[SimUser], size: int, first_new: int
) -> list[tuple[int, str, str]]:
    """/search from registered users (at most half), /start from new ones."""
    searching = registered[: size // 2]
    targets = [(u.uid, "/search", u.lang) for u in searching]
    return targets + [(first_new + n, "/start", "en") for n in range(size - len(targets))]


# --- the common paths, one update at a time ----------------------------------------------

PATHS = (
    "/start (registered)",
    "/search",
    "Next",
    "invite: note question",
    "invite: sent",
    "accept",
)


class PathProbe:
    """Sends the common paths one update at a time, each after the bot has been quiet a
    while, and notes the database work between the update and the next quiet moment."""

    quiet = 0.4

    def __init__(self, traffic: MixedTraffic, child: ContenderProcess) -> None:
        self.traffic = traffic
        self.fake = traffic.fake
        self.recorder = traffic.recorder
        self.child = child
        self.work: dict[str, list[DatabaseWork]] = defaultdict(list)

    def _now(self) -> DatabaseWork:
        return DatabaseWork.of(self.child.stats())

    def step(self, path: str, user: SimUser, step: Step) -> list[Reply] | None:
        """The replies seen, or None when the step did not apply or was not answered."""
        before = self._now()
        if not self.traffic._enqueue(user, step):
            return None
        flight = InFlight(step, self.recorder.enqueued_at)
        seen: list[Reply] = []
        deadline = time.monotonic() + 15
        while not flight.done(self.fake, user.uid) and time.monotonic() < deadline:
            try:
                reply = self.recorder.replies.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(reply)
            if reply.user == user.uid and reply.invitation is None:
                flight.observe(reply)
        seen += self.recorder.drain(self.quiet)
        if not flight.done(self.fake, user.uid):
            return None
        self.work[path].append(self._now() - before)
        return seen

    def run(self, users: list[SimUser], times: int) -> dict[str, list[DatabaseWork]]:
        from teambot.texts import text

        self.recorder.drain(self.quiet)
        by_uid = {u.uid: u for u in users}
        registered = [u for u in users if u.registered]
        for user in registered[:times]:
            without_note = text(user.lang, "send_without_note")
            if self.step(PATHS[0], user, Step("say", "/start", new=True)) is None:
                continue
            if self.step(PATHS[1], user, Step("say", "/search", new=True)) is None:
                continue
            self.step(PATHS[2], user, Step("next", touch=True))
            if self.step(PATHS[3], user, Step("act", new=True, button=without_note)) is None:
                continue
            seen = self.step(PATHS[4], user, Step("press", without_note, new=True))
            invited = [r for r in seen or [] if r.invitation is not None and r.user in by_uid]
            if not invited:
                continue
            invitee = by_uid[invited[0].user]
            assert invited[0].invitation is not None
            message_id, accept, _ = invited[0].invitation
            self.step(PATHS[5], invitee, Step("answer", f"{message_id}|{accept}", new=True))
        return self.work


# --- running a contender ----------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    kind: str  # ours | stock
    backend: str
    tasks_concurrency_limit: int | None = None  # stock's start_polling option

    @property
    def label(self) -> str:
        limit = self.tasks_concurrency_limit
        return f"{self.kind}-{self.backend}" + (f"-limit{limit}" if limit else "")

    @property
    def title(self) -> str:
        if self.kind == "ours":
            return f"ours {self.backend}"
        limit = self.tasks_concurrency_limit
        return "stock" + (f" (tasks_concurrency_limit={limit})" if limit else "")


def start_contender(
    contender: Contender,
    fake: FakeTelegram,
    conninfo: str,
    args: argparse.Namespace,
    log: Any,
    *,
    settle: bool,
) -> ContenderProcess:
    config = {
        "kind": contender.kind,
        "backend": contender.backend,
        "api_url": fake.api_url,
        "token": fake.token,
        "conninfo": conninfo,
        "settle": settle,
        "inline_filters": args.stock_inline_filters,
        "flood_control": args.flood_control,
        "tasks_concurrency_limit": contender.tasks_concurrency_limit,
    }
    return ContenderProcess("bench.throughput", contender.label, config, log)


@dataclass
class TrafficResult:
    mixed: Phase
    burst: Phase
    mixed_db: DatabaseWork
    burst_db: DatabaseWork
    mixed_cpu: float  # the bot's, seconds
    burst_cpu: float
    peak_rss: int
    kinds: Counter[str]
    paths: dict[str, list[DatabaseWork]]

    def per_update(self, phase: str, what: str) -> float:
        work = self.mixed_db if phase == "mixed" else self.burst_db
        updates = (self.mixed if phase == "mixed" else self.burst).updates
        if not updates:
            return math.nan
        value = work.round_trips if what == "round_trips" else work.transactions
        return value / updates

    def cpu_per_update(self, phase: str) -> float:
        seconds, updates = (
            (self.mixed_cpu, self.mixed.updates)
            if phase == "mixed"
            else (self.burst_cpu, self.burst.updates)
        )
        return seconds / updates if updates else math.nan


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


def measure_traffic(
    contender: Contender,
    pg: Postgres,
    args: argparse.Namespace,
    logs: Path,
    *,
    probe: bool,
) -> TrafficResult:
    name, conninfo = pg.fresh()
    fake, recorder = new_fake()
    child: ContenderProcess | None = None
    try:
        with fake, open(logs / f"{contender.label}-traffic.log", "ab") as log:
            child = start_contender(contender, fake, conninfo, args, log, settle=True)
            child.receive("ready", timeout=120)
            fake.wait_until_sync(lambda: fake.get_updates_calls > 0, timeout=30)

            def now() -> tuple[DatabaseWork, float]:
                assert child is not None
                stats = child.stats()
                return DatabaseWork.of(stats), float(stats["cpu"])

            db_start, cpu_start = now()
            users = make_users(args.users, args.seed)
            traffic = MixedTraffic(fake, recorder, users, args.updates)
            mixed = traffic.run()
            recorder.drain()
            db_between, cpu_between = now()
            registered = [u for u in users if u.registered]
            burst = Phase()
            for n in range(args.bursts):
                targets = burst_targets(registered, args.burst, 500_000 + n * args.burst)
                burst.add(run_burst(fake, recorder, targets))
            recorder.drain()
            db_end, cpu_end = now()
            paths: dict[str, list[DatabaseWork]] = {}
            if probe:
                paths = PathProbe(traffic, child).run(users, args.probes)
            final = child.stop()
            child = None
    finally:
        if child is not None:
            child.kill()
        pg.drop(name)
    return TrafficResult(
        mixed=mixed,
        burst=burst,
        mixed_db=db_between - db_start,
        burst_db=db_end - db_between,
        mixed_cpu=cpu_between - cpu_start,
        burst_cpu=cpu_end - cpu_between,
        peak_rss=int(final["maxrss"]),
        kinds=traffic.kinds,
        paths=paths,
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
            child = start_contender(contender, fake, conninfo, args, log, settle=False)
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

Figure = tuple[str, Callable[[TrafficResult], float], Callable[[float], str]]
FIGURES: list[Figure] = [
    ("mixed: updates/s", lambda r: r.mixed.rate, count),
    ("mixed: latency p50 ms", lambda r: r.mixed.pct(50), ms),
    ("mixed: latency p99 ms", lambda r: r.mixed.pct(99), ms),
    ("burst: updates/s", lambda r: r.burst.rate, count),
    ("burst: latency p50 ms", lambda r: r.burst.pct(50), ms),
    ("burst: latency p99 ms", lambda r: r.burst.pct(99), ms),
    ("mixed: round trips/update", lambda r: r.per_update("mixed", "round_trips"), tenths),
    ("mixed: transactions/update", lambda r: r.per_update("mixed", "transactions"), tenths),
    ("burst: round trips/update", lambda r: r.per_update("burst", "round_trips"), tenths),
    ("burst: transactions/update", lambda r: r.per_update("burst", "transactions"), tenths),
    ("mixed: bot CPU ms/update", lambda r: r.cpu_per_update("mixed") * 1000, tenths),
    ("burst: bot CPU ms/update", lambda r: r.cpu_per_update("burst") * 1000, tenths),
    ("peak RSS MB (mixed + burst)", lambda r: r.peak_rss, mb),
]
HEADLINE = (0, 2, 3, 5)  # the FIGURES printed per run


def report_traffic(
    contenders: list[Contender],
    stock: Contender,
    runs: dict[Contender, list[TrafficResult]],
    order: list[list[Contender]],
    args: argparse.Namespace,
) -> None:
    ours = [c for c in contenders if c.kind == "ours"]
    print(
        f"\n== median [min–max] over {args.runs} run(s) each; ours/stock: ratio of the medians"
        f" (mixed: {args.users} users, {args.updates} updates; burst: {args.bursts} × "
        f"{args.burst} at once)"
    )
    header = ["", *(c.title for c in contenders), *(f"{c.backend}/stock" for c in ours)]
    rows = []
    for name, value, fmt in FIGURES:
        spreads = {c: Spread(tuple(value(r) for r in runs[c])) for c in contenders}
        cells = [spreads[c].show(fmt) for c in contenders]
        cells += [ratio(spreads[c].median, spreads[stock].median) for c in ours]
        rows.append([name, *cells])
    print_table(header, rows)

    print("\n== every run, in the order run (updates/s, p99 ms; stalled updates if any)")
    header = ["round", "contender", *(FIGURES[i][0] for i in HEADLINE)]
    rows = []
    seen: Counter[Contender] = Counter()
    for n, round_ in enumerate(order, 1):
        for contender in round_:
            result = runs[contender][seen[contender]]
            seen[contender] += 1
            cells = [FIGURES[i][2](FIGURES[i][1](result)) for i in HEADLINE]
            stalled = result.mixed.stalled + result.burst.stalled
            rows.append([str(n), contender.title + (f" ({stalled} stalled)" if stalled else "")])
            rows[-1] += cells
    print_table(header, rows)
    for contender in contenders:
        for result in runs[contender]:
            for stall in result.mixed.stalls:
                print(f"  stalled, {contender.title}: {stall}")

    first = {c: runs[c][0] for c in contenders}
    if any(r.paths for r in first.values()):
        print(
            f"\n== database work of the common paths, one update at a time: round trips /"
            f" transactions, median of up to {args.probes} (first run; from the update's"
            " arrival until the bot is quiet: sent-marks and the poller's bookkeeping included)"
        )
        rows = []
        for path in PATHS:
            cells = []
            for c in contenders:
                works = first[c].paths.get(path, [])
                if not works:
                    cells.append("-")
                    continue
                trips = statistics.median(w.round_trips for w in works)
                transactions = statistics.median(w.transactions for w in works)
                cells.append(f"{trips:g} / {transactions:g}  (n={len(works)})")
            rows.append([path, *cells])
        print_table(["", *(c.title for c in contenders)], rows)

    for c in contenders:
        mix = ", ".join(f"{kind} {n}" for kind, n in first[c].kinds.most_common())
        print(f"  mixed traffic answered in the first run, {c.title}: {mix}")
    for c in ours:
        parts = []
        for phase, rate_i, p99_i in (("mixed", 0, 2), ("burst", 3, 5)):
            medians = [
                Spread(tuple(FIGURES[i][1](r) for r in runs[who])).median
                for who in (c, stock)
                for i in (rate_i, p99_i)
            ]
            parts.append(
                f"{phase} {ratio(medians[0], medians[2])} the updates/s at"
                f" {ratio(medians[1], medians[3])} the p99"
            )
        print(f"ours on {c.backend} / stock, medians: " + "; ".join(parts))


def report_backlog(results: dict[Contender, BacklogResult], args: argparse.Namespace) -> None:
    contenders = list(results)
    print(f"\n== backlog: {args.backlog} waiting before the start, ≤ {args.backlog_seconds:.0f} s")
    rows: list[list[str]] = []
    for name, value, fmt in (
        ("RSS at start MB", lambda b: b.start_rss, mb),
        ("RSS peak MB", lambda b: b.peak_rss, mb),
        ("RSS at end MB", lambda b: b.end_rss, mb),
        ("answered", lambda b: b.handled, count),
        ("answered/s", lambda b: b.handled / b.seconds, count),
        ("still on the server", lambda b: b.left_on_server, count),
    ):
        rows.append([name, *(fmt(value(results[c])) for c in contenders)])
    print_table(["", *(c.title for c in contenders)], rows)
    for c, drained in results.items():
        series = " ".join(mb(v) for v in drained.series)
        note = f" ({drained.stopped_early})" if drained.stopped_early else ""
        print(f"  RSS MB every 10 s, {c.title}: {series}{note}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds of every contender")
    parser.add_argument("--users", type=int, default=25, help="simulated users (mixed traffic)")
    parser.add_argument("--updates", type=int, default=400, help="updates of mixed traffic")
    parser.add_argument("--burst", type=int, default=200, help="updates in one burst")
    parser.add_argument("--bursts", type=int, default=2, help="bursts, one after another")
    parser.add_argument("--probes", type=int, default=3, help="times each common path is sent")
    parser.add_argument("--backlog", type=int, default=0, help="0: no backlog phase")
    parser.add_argument("--backlog-seconds", type=float, default=30, help="cap per contender")
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
        help="ours paces messages under Telegram's limits (27/s overall, ~1/s per chat)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one run: does it work (seconds)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.users, args.updates, args.probes = 1, 8, 120, 1
        args.burst, args.bursts, args.backlog = 40, 1, 0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]
    stock = Contender("stock", "asyncio")
    contenders = [*(Contender("ours", b) for b in backends), stock]
    logs = logs_dir()
    print(
        f"teambot vs stock aiogram: {args.runs} run(s) of {args.users} users × {args.updates}"
        f" mixed updates and {args.bursts} × {args.burst} at once; backlog {args.backlog};"
        f" seed {args.seed}; ours' flood control {'on' if args.flood_control else 'off'};"
        f" stock sync filters {'inline' if args.stock_inline_filters else 'in threads'}"
    )
    print(f"at the start: {machine_load()}")
    pg = Postgres()
    print(f"{pg.where}; fake Bot API server on 127.0.0.1 in this process; logs in {logs}")
    order = rotations(contenders, args.runs)
    runs: dict[Contender, list[TrafficResult]] = defaultdict(list)
    backlog: dict[Contender, BacklogResult] = {}
    try:
        for n, round_ in enumerate(order, 1):
            for contender in round_:
                print(f"  round {n}: {contender.title} ...", end=" ", flush=True)
                began = time.monotonic()
                result = measure_traffic(contender, pg, args, logs, probe=n == 1)
                runs[contender].append(result)
                print(f"{time.monotonic() - began:.0f} s", flush=True)
        if args.backlog > 0:
            limited = Contender("stock", "asyncio", tasks_concurrency_limit=64)
            for contender in [*contenders, limited]:
                print(f"  backlog of {args.backlog}: {contender.title} ...", flush=True)
                backlog[contender] = measure_backlog(contender, pg, args, logs)
    finally:
        pg.close()
    print(f"at the end: {machine_load()}")
    if args.runs > 0:
        report_traffic(contenders, stock, runs, order, args)
    if backlog:
        report_backlog(backlog, args)
    report_logs(logs)


child_main = contender_main  # what the zygote runs in a contender (bench/harness.py)

if __name__ == "__main__":
    main()
