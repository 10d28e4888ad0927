"""psycopg adapter: the sync connection pool, its waits for the server awaited by the loop.

A piece of work is a plain function taking a connection, written against psycopg's sync
API; it runs on the event loop's own thread in a greenlet (`on_loop`), and every time psycopg
would block on the server's socket the greenlet hands the wait to the event loop (asyncio or
trio) and resumes when the socket is ready. So units of work neither hop to a thread nor
hold one, and the same code serves both backends (psycopg's async API is asyncio-only).
On its own a piece of work is one transaction: commit on success, rollback on error, and the
connection always returns to the pool. Inside `Database.transaction()` every piece shares
one connection and one transaction, which ends with the writes registered by
`before_commit` and the COMMIT sent together. The BEGIN goes with the transaction's first
statement (`UnitConnection`).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
import select
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, cast

import anyio
import greenlet
import psycopg
import psycopg.errors
import sniffio
from loguru import logger
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import Jsonb
from psycopg.waiting import Ready, Wait, wait_async
from psycopg_pool import ConnectionPool, PoolTimeout

T = TypeVar("T")
P = ParamSpec("P")
Connection = psycopg.Connection[dict[str, Any]]

log = logger.bind(actor="database")


class _Prepared:
    """A statement prepared on every pooled connection, run as `EXECUTE name(values)`."""

    def __init__(self, name: str, query: str) -> None:
        self.name = name
        names: list[str] = []
        positional = 0

        def number(match: re.Match[str]) -> str:
            nonlocal positional
            key, kind = match.group(1), match.group(2)
            if kind == "%" and key is None:
                return "%"
            if kind != "s":
                raise ValueError(f"only %s and %(name)s can be prepared, not %{kind}")
            if key is None:
                positional += 1
                return f"${positional}"
            if key not in names:
                names.append(key)
            return f"${names.index(key) + 1}"

        numbered = _PLACEHOLDER.sub(number, query)
        if names and positional:
            raise ValueError("a statement mixes %s and %(name)s")
        self.definition = f"prepare {name} as {numbered}"
        self.keys = tuple(names)  # a mapping's, in the order numbered; () for a sequence
        values = [f"%({key})s" for key in names] or ["%s"] * positional
        self.execute = f"execute {name}({', '.join(values)})" if values else f"execute {name}"


_PLACEHOLDER = re.compile(r"%(?:\(([^)]+)\))?(.)", re.DOTALL)
_PREPARED: dict[str, _Prepared] = {}


def prepared(query: str) -> str:
    """Registers `query` to be prepared on every connection the pool opens; returns it.

    For the statements a unit of work sends in its one-string exchanges (its first one, the
    writes sent with the COMMIT), written out with their values on the client: PostgreSQL
    would parse and plan each anew, and planning a statement over users (a score of
    indexes) costs it more than running it. `EXECUTE` of a prepared one costs neither. The
    other statements go over psycopg's extended protocol, which prepares them itself."""
    if query not in _PREPARED:
        _PREPARED[query] = _Prepared(f"teambot_{len(_PREPARED) + 1}", query)
    return query


class UnitConnection(psycopg.Connection[dict[str, Any]]):
    """A pooled connection whose transaction costs no round trip of its own: the BEGIN is
    sent in one string with the first statement (after any `open_with` gave it: checks the
    transaction begins with), and the writes that end the transaction (`defer_writes`) in
    one string with the COMMIT (the simple query protocol runs several
    statements a string; those statements' values are written in on the client, and a
    statement registered with `prepared` goes as EXECUTE of its prepared self).

    Not psycopg's pipeline mode, which does the same in as many round trips: measured here
    (a local server) it took twice the client CPU of plain statements and longer on the
    clock. The connection is in autocommit mode so that psycopg sends no BEGIN itself;
    `begin_unit` at checkout makes its next statements one transaction again."""

    _begin_pending = False
    _opening: Sequence[str] = ()  # statements sent with the BEGIN (`open_with`)
    _deferred: list[str] | None = None
    _client_cursor: psycopg.ClientCursor[Any] | None = None
    _ready: frozenset[str] = frozenset()  # names of the statements prepared here
    _lost = False  # psycopg dropped them: prepare them again at the next checkout

    def on_open(self) -> None:
        """The pool's `configure`, for each connection it opens."""
        self._watch_psycopg()
        self.prepare_registered()

    def prepare_registered(self) -> None:
        """Prepare every statement `prepared` registered, in one round trip (when the
        connection opens; again at a checkout after psycopg dropped them)."""
        self._lost = False
        statements = list(_PREPARED.values())
        if not statements:
            return
        try:
            super().execute("; ".join(s.definition for s in statements))
        except psycopg.Error:
            # One was refused (tests/test_database.py prepares them all); the ones before
            # it in the string stay prepared. Prepare the others one by one, and write the
            # refused one out as before. (No DEALLOCATE ALL: psycopg's own would go too.)
            listed = psycopg.Cursor(self, row_factory=tuple_row).execute(
                "select name from pg_prepared_statements"
            )
            kept = {name for (name,) in listed}
            statements = [s for s in statements if s.name in kept or self._prepare_one(s)]
        self._ready = frozenset(s.name for s in statements)

    def _watch_psycopg(self) -> None:
        """psycopg prepares the statements it runs often itself, and on a ROLLBACK (of the
        transaction, or to a savepoint) or a DROP forgets them with DEALLOCATE ALL, which
        takes ours along. From then on ours are written out, until the next checkout
        prepares them again (tests/test_database.py)."""
        manager = self._prepared
        clear = manager.clear

        def clear_ours_too() -> bool:
            deallocating = clear()
            if deallocating:
                self._ready = frozenset()
                self._lost = True
            return deallocating

        manager.clear = clear_ours_too  # type: ignore[method-assign]

    def _prepare_one(self, statement: _Prepared) -> bool:
        try:
            super().execute(statement.definition)
        except psycopg.Error as exc:
            log.error("statement {} is not prepared: {!r}", statement.name, exc)
            return False
        return True

    def begin_unit(self) -> None:
        if self._lost:
            self.prepare_registered()
        self._begin_pending = True
        self._deferred = None
        self._opening = ()

    def open_with(self, works: list[Callable[[Connection], object]]) -> None:
        """Statements to send with the BEGIN, ahead of the transaction's first one; their
        results are not read (an error fails that first exchange)."""
        self._deferred = []
        try:
            for work in works:
                work(self)
            self._opening = self._deferred
        finally:
            self._deferred = None

    def _begin_with(self, *statements: str) -> str:
        opening, self._opening = self._opening, ()
        return "; ".join(["begin", *opening, *statements])

    def defer_writes(self) -> None:
        """Statements from here to the commit are sent with it; their results are not read
        (an error still fails the commit, and the transaction rolls back)."""
        self._deferred = []

    @property
    def in_unit(self) -> bool:
        """A transaction is open, or will be by what the commit sends."""
        open_ = self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE
        return open_ or bool(self._begin_pending and self._deferred)

    def _render(self, query: Any, params: Any) -> str:
        if params is None and isinstance(query, str):
            return query
        statement = _PREPARED.get(query) if isinstance(query, str) else None
        if statement is not None and statement.name in self._ready:
            return self._execute_prepared(statement, params)
        return self.mogrify(query, params)

    def _execute_prepared(self, statement: _Prepared, params: Any) -> str:
        """`EXECUTE` of the statement: the common values written out here, in a tenth of
        what psycopg's client-side binding costs (the prepared statement's parameters have
        their types, so plain literals do); anything else the way `mogrify` writes it."""
        values = [params[key] for key in statement.keys] if statement.keys else params
        literals = []
        for value in values:
            literal = self._literal(value)
            if literal is None:
                return self.mogrify(statement.execute, params)
            literals.append(literal)
        return f"execute {statement.name}({', '.join(literals)})"

    def _literal(self, value: Any) -> str | None:
        kind = type(value)
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is int:
            return str(value)
        if kind is Jsonb:
            value = (value.dumps or json.dumps)(value.obj)
        elif kind is not str:
            return None
        # a quote doubled is all a string literal needs while standard_conforming_strings
        # is on (the default since PostgreSQL 9.1); a NUL is refused by mogrify, as before
        if "\x00" in value or not self._plain_strings:
            return None
        return "'" + value.replace("'", "''") + "'"

    @functools.cached_property
    def _plain_strings(self) -> bool:
        return self.pgconn.parameter_status(b"standard_conforming_strings") == b"on"

    def mogrify(self, query: Any, params: Any) -> str:
        """The statement with its values written in, as the simple query protocol sends it
        (one cursor per connection: its dumpers, found once per type, are kept)."""
        if self._client_cursor is None:
            self._client_cursor = psycopg.ClientCursor(self)
        return self._client_cursor.mogrify(query, params)

    def _send_begin(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
            super().execute(self._begin_with())

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool = False
    ) -> psycopg.Cursor[dict[str, Any]]:
        if self.lock.locked() and _loop() is not None:
            # another piece of work is waiting on this connection: waiting for its lock here
            # would stop the event loop that piece needs to finish
            raise RuntimeError("a connection is used by one piece of work at a time")
        if self._deferred is not None:
            self._deferred.append(self._render(query, params))
            return psycopg.Cursor(self)  # no result: the statement has not been sent
        if self._begin_pending and not binary:
            self._begin_pending = False
            opened = len(self._opening)
            cur = psycopg.Cursor(self, row_factory=self.row_factory)
            cur.execute(self._begin_with(self._render(query, params)))
            for _ in range(1 + opened):
                cur.nextset()  # the statement's own result, past the BEGIN's and the opening's
            return cur
        self._send_begin()
        return super().execute(query, params, prepare=prepare, binary=binary)

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """Inside `on_loop`, psycopg's wait for the socket is the event loop's."""
        loop = _loop()
        if loop is None:
            return super().wait(gen, interval, timeout)
        return loop.switch(_wait_for_server(gen, self.pgconn.socket, interval, timeout))

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        self._send_begin()
        return super().cursor(*args, **kwargs)

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[psycopg.Pipeline]:
        with super().pipeline() as pipeline:
            self._send_begin()  # queued in the pipeline: no round trip of its own
            yield pipeline

    @contextlib.contextmanager
    def transaction(self, *args: Any, **kwargs: Any) -> Iterator[psycopg.Transaction]:
        self._send_begin()  # inside the unit: a savepoint, not a transaction of its own
        with super().transaction(*args, **kwargs) as transaction:
            yield transaction

    def commit(self) -> None:
        deferred, self._deferred = self._deferred, None
        begin, self._begin_pending = self._begin_pending, False
        if not deferred:
            super().commit()
            return
        ending = "; ".join([*deferred, "commit"])
        psycopg.Cursor(self).execute(self._begin_with(ending) if begin else ending)

    def rollback(self) -> None:
        self._deferred = None
        self._begin_pending = False
        self._opening = ()
        super().rollback()


class _OnLoop(greenlet.greenlet):
    """A piece of sync database work run by `on_loop`."""


def _loop() -> greenlet.greenlet | None:
    """Inside `on_loop`: the greenlet the event loop runs in, which awaits what it is handed.
    None elsewhere (a worker thread, a test calling a data function directly)."""
    current = greenlet.getcurrent()
    return current.parent if type(current) is _OnLoop else None


async def on_loop(call: Callable[[], T]) -> T:
    """`call()` on the event loop's thread, in a greenlet of its own whose waits for the
    server (`UnitConnection.wait`) the loop awaits. A cancelled caller still waits for it to
    end, so cancellation never leaves a transaction half-done."""
    work = _OnLoop(call)
    work.gr_context = contextvars.copy_context()  # as a worker thread would see the caller's
    with anyio.CancelScope(shield=True):
        request = work.switch()
        while not work.dead:
            try:
                answer = await request
            except BaseException as exc:  # noqa: BLE001 - raised where the work waited
                request = work.throw(exc)
            else:
                request = work.switch(answer)
    return cast(T, request)


async def _wait_for_server(gen: Any, fileno: int, interval: float, timeout: float | None) -> Any:
    if sniffio.current_async_library() == "asyncio":
        # psycopg's own, as its async connections use it
        return await wait_async(gen, fileno, interval=interval, timeout=timeout)
    if timeout is None:  # as nearly always: no timer
        return await _wait_anyio(gen, fileno)
    with anyio.fail_after(timeout):
        return await _wait_anyio(gen, fileno)


async def _wait_anyio(gen: Any, fileno: int) -> Any:
    """psycopg's wait loop on anyio (trio): the socket state the generator asks for."""
    try:
        state = next(gen)
        while True:
            state = gen.send(await _ready(fileno, state))
    except StopIteration as done:
        return done.value


async def _ready(fileno: int, state: Wait) -> Ready:
    if state == Wait.R:
        await anyio.wait_readable(fileno)
        return Ready.R
    if state == Wait.W:
        await anyio.wait_writable(fileno)
        return Ready.W
    # Wait.RW: a large statement still being sent; the server may be answering meanwhile
    ready = _ready_now(fileno)
    if not ready:
        async with anyio.create_task_group() as either:

            async def wait(until: Callable[[int], Any]) -> None:
                await until(fileno)
                either.cancel_scope.cancel()

            either.start_soon(wait, anyio.wait_readable)
            either.start_soon(wait, anyio.wait_writable)
        ready = _ready_now(fileno)
    return ready


def _ready_now(fileno: int) -> Ready:
    poll = select.poll()
    poll.register(fileno, select.POLLIN | select.POLLOUT)
    found = poll.poll(0)
    events = found[0][1] if found else 0
    readable = events & (select.POLLIN | select.POLLERR | select.POLLHUP)
    return Ready((Ready.R if readable else 0) | (Ready.W if events & select.POLLOUT else 0))


Statement = tuple[str, Any]  # a query and its parameters
DataFunction = TypeVar("DataFunction", bound=Callable[..., Any])


def one_statement(work: DataFunction) -> DataFunction:
    """Marks a data function that sends a single statement: run on its own, it needs no
    BEGIN and COMMIT (a statement is atomic by itself) and binds its values on the server."""
    work.one_statement = True  # type: ignore[attr-defined]
    return work


def together(conn: Connection, *statements: Statement) -> list[list[dict[str, Any]]]:
    """Several statements in one round trip, run one after the other (in one string, values
    bound on the client): each one's rows."""
    client = conn if isinstance(conn, UnitConnection) else psycopg.ClientCursor(conn)
    mogrify = client.mogrify
    cur = conn.execute("; ".join(mogrify(query, params) for query, params in statements))
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    return results


class DatabaseUnavailable(Exception):
    """The pool is closed (starting, restarting or stopped)."""


# Errors that mean "the database is unreachable right now": the work may be retried.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
    DatabaseUnavailable,
)
# Errors that mean "the values given do not fit": out of range for their column, or naming
# a row that does not exist. From a button's data they mean a forged or stale button.
INVALID_VALUE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.DataError,
    psycopg.errors.ForeignKeyViolation,
)
# The transaction read rows that another changed before its COMMIT: done again, it reads
# them anew. (At READ COMMITTED, what ours run at, only a check of ours raises it.)
CONFLICT_ERRORS: tuple[type[BaseException], ...] = (psycopg.errors.SerializationFailure,)
# A row that must be written once was written before: the work was done already.
DUPLICATE_ERRORS: tuple[type[BaseException], ...] = (psycopg.errors.UniqueViolation,)


class Transaction:
    """One connection and one transaction, held across the `Database.run` calls made inside
    `Database.transaction()`. The connection is taken from the pool at the first call."""

    def __init__(self, database: Database, slots: anyio.Semaphore) -> None:
        self.database = database
        self.conn: UnitConnection | None = None
        self.slots = slots  # the ones it takes its connection's slot from: Database._slots
        self.holds_slot = False
        # Two tasks sharing a transaction take turns: on one connection, the second would
        # wait for psycopg's lock inside the loop, which the first can then never release.
        self.one_at_a_time = anyio.Lock(fast_acquire=True)
        self._on_begin: list[Callable[[Connection], object]] = []
        self._before_commit: list[Callable[[Connection], object]] = []

    def on_begin(
        self, work: Callable[Concatenate[Connection, P], object], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Statements to send with the BEGIN, before the transaction's first statement (their
        results are not read; an error fails that first exchange). Only before that."""
        if self.conn is not None:
            raise RuntimeError("the transaction has begun")
        self._on_begin.append(lambda conn: work(conn, *args, **kwargs))

    def before_commit(
        self, work: Callable[Concatenate[Connection, P], object], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        """Writes to send with the COMMIT, in the order registered; their results are not
        read (an error still rolls everything back)."""
        self._before_commit.append(lambda conn: work(conn, *args, **kwargs))

    def _call(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self.conn is None:
            self.conn = self._checkout()
        return work(self.conn, *args, **kwargs)

    def _checkout(self) -> UnitConnection:
        conn = self.database._checkout()
        conn.open_with(self._on_begin)
        return conn

    @property
    def only_writes(self) -> bool:
        """Nothing sent yet and writes to send: the whole transaction is what its commit
        sends, so it can be committed with others (`GroupCommit`)."""
        return self.conn is None and bool(self._before_commit)

    def _end(self, commit: bool) -> None:
        conn = self.conn
        try:
            if commit and (conn is not None or self._before_commit):
                if conn is None:
                    conn = self.conn = self._checkout()
                conn.defer_writes()
                for work in self._before_commit:
                    work(conn)
                conn.commit()
        finally:
            self.conn = None
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()  # when nothing is open: no round trip
                self.database._checkin(conn)


@dataclass(eq=False)
class _Queued:
    transaction: Transaction
    turn: anyio.Event = field(default_factory=anyio.Event)
    # when its turn comes: committed with others, to be committed alone, or to lead a batch
    outcome: Literal["committed", "alone", "lead"] | None = None


class GroupCommit:
    """Transactions made of writes alone (`Transaction.only_writes`: an update whose handler
    read nothing beyond its first read) committed several in one transaction: one round trip
    and one commit for all that came while the previous batch was on its way. Each keeps its
    statements in its order, the first-read check (`on_begin`) right before its own writes,
    so a later one's check sees what an earlier one wrote, as if each had committed in turn.
    If the batch fails, each commits alone and meets its own error (a conflict, a duplicate
    update, the database away), as it would have without the batch. One batch at a time: a
    transaction that finds none on its way leads one at once, so a lone one waits for nothing.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[_Queued] = []
        self._leading = False

    async def commit(self, transaction: Transaction) -> None:
        queued = _Queued(transaction)
        self._queue.append(queued)
        if self._leading:
            await queued.turn.wait()
            if queued.outcome == "committed":
                return
            if queued.outcome == "alone":
                await self.database._end(transaction, True)
                return
        self._leading = True
        batch, self._queue = self._queue, []
        committed = False
        try:
            if len(batch) == 1:
                # alone, and still leading: the batch on its way, for those who come meanwhile
                await self.database._end(transaction, True)
                return
            committed = await self._together(batch)
        finally:
            for other in batch:
                if other is not queued:
                    other.outcome = "committed" if committed else "alone"
                    other.turn.set()
            self._hand_over()
        if not committed:
            await self.database._end(transaction, True)

    def _hand_over(self) -> None:
        if self._queue:
            following = self._queue[0]
            following.outcome = "lead"
            following.turn.set()
        else:
            self._leading = False

    async def _together(self, batch: list[_Queued]) -> bool:
        together = Transaction(self.database, self.database._slots)
        for queued in batch:
            # its check, if any, right before its own writes
            together._before_commit += queued.transaction._on_begin
            together._before_commit += queued.transaction._before_commit
        try:
            await self.database._end(together, True)
        except Exception as exc:  # noqa: BLE001 - each meets its own error alone
            log.debug("a batch of {} commits failed ({!r}): each alone", len(batch), exc)
            return False
        return True


_LOOP_WAITS_FOR_A_CONNECTION = 0.05  # seconds

_transaction: ContextVar[Transaction | None] = ContextVar("teambot_transaction", default=None)
# how long a pooled connection may be waited for (None: the pool's own timeout)
_acquire_within: ContextVar[float | None] = ContextVar("teambot_acquire_within", default=None)


class Database:
    def __init__(
        self,
        conninfo: str,
        *,
        min_size: int = 10,
        max_size: int = 30,
        max_lifetime: float = 3600,
        acquire_timeout: float = 10,
        application_name: str | None = None,
    ) -> None:
        self.conninfo = conninfo
        # the instance's name on every pooled session (adapters/leader_lock.py: the fence)
        self.application_name = application_name
        self._min_size = min_size
        self._max_size = max_size
        self._max_lifetime = max_lifetime
        self._acquire_timeout = acquire_timeout
        self._pool: ConnectionPool[UnitConnection] | None = None
        # One slot per pooled connection, taken before a unit of work asks the pool for
        # one: the units beyond the pool's size queue here, in the event loop, not inside
        # the pool (which would wait in a thread).
        # Two are kept for `transaction(priority=True)`, the short statements a burst of
        # updates queued for slots must not hold back: the outbox's sent-marks (or a crash
        # would find many messages sent and not marked, and send them again) and the
        # pipeline's front, storing and reading the inbox (or the updates behind the burst
        # would wait for it).
        # fast_acquire: a free slot is taken without a turn of the event loop (a tenth of a
        # round trip's CPU); the work that follows waits for the server anyway.
        reserved = min(2, max_size - 1)
        self._slots = anyio.Semaphore(max_size - reserved, fast_acquire=True)
        self._priority_slots = (
            anyio.Semaphore(reserved, fast_acquire=True) if reserved else self._slots
        )
        self._limiter = anyio.CapacityLimiter(max_size)  # threads waiting inside the pool
        self._commits = GroupCommit(self)

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    # what the pool opens (tests count round trips with a subclass)
    connection_class: type[UnitConnection] = UnitConnection

    def _make_pool(self) -> ConnectionPool[UnitConnection]:
        return ConnectionPool(
            self.conninfo,
            connection_class=self.connection_class,
            min_size=self._min_size,
            max_size=self._max_size,
            max_lifetime=self._max_lifetime,
            # No check on checkout: it costs a round trip per unit of work. A connection
            # the server dropped fails its work with OperationalError, which is retried
            # (TRANSIENT_ERRORS), and the pool discards the broken connection.
            kwargs={
                "row_factory": dict_row,
                "autocommit": True,  # UnitConnection begins and ends its transactions
                **({"application_name": self.application_name} if self.application_name else {}),
            },
            configure=UnitConnection.on_open,
            timeout=self._acquire_timeout,
            open=False,
            name="teambot",
        )

    async def open(self, timeout: float = 10) -> None:
        pool = self._make_pool()
        try:
            await anyio.to_thread.run_sync(partial(pool.open, wait=True, timeout=timeout))
        except BaseException:
            await anyio.to_thread.run_sync(pool.close)
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await anyio.to_thread.run_sync(partial(pool.close, timeout=5))

    def _transaction(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("the database pool is not open")
        conn = self._getconn(pool)
        try:
            with conn:
                if not getattr(work, "one_statement", False):
                    conn.begin_unit()
                return work(conn, *args, **kwargs)
        finally:
            pool.putconn(conn)

    def _checkout(self) -> UnitConnection:
        pool = self._pool
        if pool is None:
            raise DatabaseUnavailable("the database pool is not open")
        conn = self._getconn(pool)
        conn.begin_unit()
        return conn

    def _getconn(self, pool: ConnectionPool[UnitConnection]) -> UnitConnection:
        timeout = _acquire_within.get()
        loop = _loop()
        if loop is None:
            return pool.getconn(timeout)
        if pool.get_stats()["pool_available"]:
            # idle a moment ago; should the pool's own thread have taken it meanwhile, the
            # loop waits only briefly for another
            with contextlib.suppress(PoolTimeout):
                return pool.getconn(_LOOP_WAITS_FOR_A_CONNECTION)
        # none idle: the wait for one (the pool is growing, or the database is away) is a
        # thread's, not the loop's
        waiting = anyio.to_thread.run_sync(partial(pool.getconn, timeout), limiter=self._limiter)
        return cast(UnitConnection, loop.switch(waiting))

    def _checkin(self, conn: UnitConnection) -> None:
        pool = self._pool
        if pool is None:
            conn.close()
        else:
            pool.putconn(conn)

    async def run(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `work(conn, ...)`: in the current `transaction()` if there is one, else in a
        transaction of its own on a pooled connection."""
        current = _transaction.get()
        if current is not None and current.database is self:
            async with current.one_at_a_time:
                if not current.holds_slot:
                    await current.slots.acquire()  # released when the transaction ends
                    current.holds_slot = True
                return await on_loop(partial(current._call, work, *args, **kwargs))
        async with self._slots:
            return await on_loop(partial(self._transaction, work, *args, **kwargs))

    async def run_within(
        self,
        seconds: float,
        work: Callable[Concatenate[Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`run` in a transaction of its own that waits at most `seconds` for a connection
        (PoolTimeout after that): for a caller that must answer soon whatever the database
        does, such as Telegram's POST to the webhook while the database is away."""
        deadline = anyio.current_time() + seconds
        acquired = False
        with anyio.move_on_at(deadline):
            await self._slots.acquire()
            acquired = True
        if not acquired:
            raise PoolTimeout(f"no database connection within {seconds:g} s")
        token = _acquire_within.set(max(0.1, deadline - anyio.current_time()))
        try:
            return await on_loop(partial(self._transaction, work, *args, **kwargs))
        finally:
            _acquire_within.reset(token)
            self._slots.release()

    async def run_ahead(
        self, work: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`run` in a transaction of its own, on a connection kept for short writes that must
        not queue behind a burst of updates waiting for one (`transaction(priority=True)`)."""
        async with self._priority_slots:
            return await on_loop(partial(self._transaction, work, *args, **kwargs))

    def current(self) -> Transaction | None:
        """The `transaction()` the caller is inside, if any."""
        current = _transaction.get()
        return current if current is not None and current.database is self else None

    @asynccontextmanager
    async def transaction(self, *, priority: bool = False) -> AsyncIterator[Transaction]:
        """Every `run` inside the block shares one transaction, committed (with the
        `before_commit` writes) when the block ends without an error, else rolled back.
        Inside another `transaction()` of the same database: that one. `priority`: its
        connection comes from the slot kept for it, not after the queue of other work."""
        current = _transaction.get()
        if current is not None and current.database is self:
            yield current
            return
        transaction = Transaction(self, self._priority_slots if priority else self._slots)
        token = _transaction.set(transaction)
        commit = False
        try:
            yield transaction
            commit = True
        finally:
            _transaction.reset(token)
            with anyio.CancelScope(shield=True):
                if commit and transaction.only_writes and not priority:
                    await self._commits.commit(transaction)
                else:
                    await self._end(transaction, commit)

    async def _end(self, transaction: Transaction, commit: bool) -> None:
        try:
            if commit and transaction._before_commit and not transaction.holds_slot:
                await transaction.slots.acquire()
                transaction.holds_slot = True
            await on_loop(partial(transaction._end, commit))
        finally:
            if transaction.holds_slot:
                transaction.holds_slot = False
                transaction.slots.release()

    async def ping(self, timeout: float = 2) -> None:
        """`select 1` on a pooled connection, waiting at most `timeout` for one."""

        def select_one() -> None:
            pool = self._pool
            if pool is None:
                raise DatabaseUnavailable("the database pool is not open")
            with pool.connection(timeout=timeout) as conn:
                conn.execute("select 1")

        await anyio.to_thread.run_sync(select_one, limiter=self._limiter)

    def stats(self) -> dict[str, int]:
        return dict(self._pool.get_stats()) if self._pool is not None else {}


def probe(conninfo: str, timeout: float = 3) -> None:
    """Connect once and run `select 1`; raises psycopg.OperationalError when it can't."""
    with psycopg.connect(conninfo, connect_timeout=max(1, int(timeout))) as conn:
        conn.execute("select 1")


async def run_interruptible(conninfo: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
    """`work(conn)` in a worker thread on an autocommit connection of its own. A cancelled
    caller does not wait for the work to end: the statement running on the server is
    cancelled (its transaction rolls back), and the thread lets go within seconds. For work
    that may take long, such as a migration or the wait for another instance's lock."""
    conn = await anyio.to_thread.run_sync(partial(psycopg.connect, conninfo, autocommit=True))
    abandoned = False
    released = threading.Event()

    def run() -> T:
        try:
            if abandoned:
                raise psycopg.errors.QueryCanceled("cancelled before it started")
            return work(conn)
        finally:
            conn.close()
            released.set()

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        abandoned = True
        with anyio.move_on_after(5, shield=True):
            while not released.is_set():  # a statement may begin after a cancel request
                with contextlib.suppress(psycopg.Error):
                    await anyio.to_thread.run_sync(partial(conn.cancel_safe, timeout=2))
                await anyio.to_thread.run_sync(released.wait, 0.5)
        raise


async def listen(conninfo: str, channel: str, heard: Callable[[], None]) -> None:
    """Call `heard()` (in the event loop) on every NOTIFY on `channel`, until cancelled.
    A connection of its own, in a worker thread; a lost connection is opened again. The
    thread looks up once a second, so a cancel lets it go within about a second."""
    stop = threading.Event()

    def wait_for_notifies() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"listen {channel}")
                    anyio.from_thread.run_sync(heard)  # what came before the LISTEN
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            anyio.from_thread.run_sync(heard)
            except psycopg.Error:
                stop.wait(1.0)  # the database is away: its actor says so; try again
            except RuntimeError:
                return  # the event loop is gone: cancelled, and the thread was let go

    try:
        await anyio.to_thread.run_sync(wait_for_notifies, abandon_on_cancel=True)
    finally:
        stop.set()


def describe(conninfo: str) -> str:
    """Which database, for an operator: host, port, database and user; never the password."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    host = str(parts.get("host") or parts.get("hostaddr") or "")
    port = str(parts.get("port") or 5432)
    if not host:
        where = f"the default socket, port {port}"
    elif host.startswith("/"):
        where = f"{host} port {port}"
    else:
        where = f"{host}:{port}"
    labels = {"dbname": "database", "user": "user"}
    names = [f"{label} {parts[key]}" for key, label in labels.items() if parts.get(key)]
    return f"PostgreSQL at {where}" + (f" ({', '.join(names)})" if names else "")


def problem(exc: psycopg.Error) -> str:
    """libpq's reason on one line, without the address `describe` already gives:
    "Connection refused", 'database "x" does not exist'. libpq never quotes the password."""
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    reason = re.sub(r"^connection (failed|is bad): ", "", reason)
    reason = re.sub(r"^connection to server (at|on) .*? failed: ", "", reason)
    return re.sub(r"^FATAL:\s+", "", reason)
