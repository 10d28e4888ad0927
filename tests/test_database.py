"""The schema, its migrations, and the transaction rules of the database adapter."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import threading
import time
from collections.abc import Callable

import anyio
import psycopg
import pytest
from psycopg.types.json import Jsonb

import teambot.data
from teambot.adapters import database as adapter
from teambot.adapters.database import Connection, Database, UnitConnection
from teambot.data import fsm, migrations, updates, users
from teambot.data.fsm import Dialogue
from teambot.data.migrations import Migration, apply_migrations, bundled_migrations


def test_migrations_applied_twice_are_a_no_op(database_url: str) -> None:
    # the per-test database was cloned from an already migrated template
    assert apply_migrations(database_url) == []
    with psycopg.connect(database_url) as conn:
        versions = [r[0] for r in conn.execute("select version from schema_migrations")]
    assert versions == [m.version for m in bundled_migrations()]


def test_concurrent_instances_apply_each_migration_once(database_url: str) -> None:
    extra = [
        *bundled_migrations(),
        Migration("9999_probe", "create table probe (id int); select pg_sleep(0.2);"),
    ]
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(apply_migrations(database_url, extra)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [[], [], ["9999_probe"]]


def test_a_failed_migration_leaves_nothing_behind(database_url: str) -> None:
    broken = [
        *bundled_migrations(),
        Migration("9999_broken", "create table half (id int); select * from no_such_table;"),
    ]
    with pytest.raises(psycopg.errors.UndefinedTable):
        apply_migrations(database_url, broken)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select to_regclass('half')").fetchone() == (None,)
        assert conn.execute(
            "select count(*) from schema_migrations where version = '9999_broken'"
        ).fetchone() == (0,)


def test_a_migration_that_meets_a_held_lock_gives_way_and_tries_again(
    database_url: str,
) -> None:
    # a long reader (a backup, a report) keeps users open; the migration's ALTER would queue
    # every query on users behind it, so it waits only its own lock_timeout, then again
    slow = Migration(
        "9999_column",
        "set local lock_timeout = '100ms'; alter table users add column probe int;",
    )
    reader = psycopg.connect(database_url)
    reader.execute("select count(*) from users")
    let_go = threading.Timer(0.8, reader.rollback)
    let_go.start()
    try:
        started = time.monotonic()
        assert apply_migrations(database_url, [*bundled_migrations(), slow]) == ["9999_column"]
        assert time.monotonic() - started >= 0.7  # it did wait for the reader
    finally:
        let_go.join()
        reader.close()
    with psycopg.connect(database_url) as conn:
        conn.execute("select probe from users limit 1")


def test_a_migration_whose_lock_never_comes_fails_the_start_leaving_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrations, "LOCK_RETRY_SECONDS", 0.5)
    slow = Migration(
        "9999_column",
        "set local lock_timeout = '100ms'; alter table users add column probe int;",
    )
    with psycopg.connect(database_url) as reader:
        reader.execute("select count(*) from users")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            apply_migrations(database_url, [*bundled_migrations(), slow])
        reader.rollback()
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "select count(*) from schema_migrations where version = '9999_column'"
        ).fetchone() == (0,)


def test_schema_constraints(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("insert into users (id, user_type) values (1, 'investor')")
        conn.execute("insert into users (id, user_type) values (1, 'team'), (2, 'participant')")
        team = conn.execute(
            "insert into teams (owner_id, name) values (1, 'Rocket') returning id"
        ).fetchone()
        assert team is not None
        conn.execute(
            "insert into invitations (sender_id, recipient_id, team_id, kind, expires_at)"
            " values (1, 2, %s, 'invite', now() + interval '72 hours')",
            (team[0],),
        )
        with pytest.raises(psycopg.errors.UniqueViolation):  # one pending per pair
            conn.execute(
                "insert into invitations (sender_id, recipient_id, kind, expires_at)"
                " values (2, 1, 'request', now() + interval '72 hours')"
            )
        conn.execute("delete from teams where id = %s", (team[0],))  # CASCADE
        assert conn.execute("select count(*) from invitations").fetchone() == (0,)


@pytest.mark.anyio
async def test_work_commits_on_success_and_rolls_back_on_error(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=2)
    await database.open()
    try:

        def insert(conn: Connection, user_id: int, fail: bool) -> None:
            conn.execute("insert into users (id) values (%s)", (user_id,))
            if fail:
                raise ValueError("half-way")

        await database.run(insert, 1, False)
        with pytest.raises(ValueError):
            await database.run(insert, 2, True)

        def ids(conn: Connection) -> list[object]:
            return [r["id"] for r in conn.execute("select id from users order by id")]

        assert await database.run(ids) == [1]
        # both connections went back to the pool: two more units of work fit at once
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(database.run, ids)
        # the pool takes a connection back in its own worker thread: allow it a moment
        with anyio.move_on_after(5):
            while (stats := database.stats())["pool_available"] != stats["pool_size"]:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        assert stats["pool_available"] == stats["pool_size"] <= 2  # every connection is back
    finally:
        await database.close()


@pytest.mark.anyio
async def test_a_unit_of_work_is_one_transaction_from_its_first_statement_to_its_writes(
    database_url: str,
) -> None:
    """The BEGIN travels with the first statement and the deferred writes with the COMMIT,
    their values bound on the client: still one transaction, and values arrive verbatim."""
    database = Database(database_url, min_size=1, max_size=3)
    await database.open()
    awkward = "O'Brien %s %(x)s; rollback; -- \\ \" $$ ё 🙂"
    try:

        def add(conn: Connection, user_id: int, name: str) -> None:
            conn.execute("insert into users (id, first_name) values (%s, %s)", (user_id, name))

        def names(conn: Connection) -> dict[int, str]:
            rows = conn.execute("select id, first_name from users order by id").fetchall()
            return {r["id"]: r["first_name"] for r in rows}

        # a write that fails with the COMMIT takes the unit's first statement with it
        with pytest.raises(psycopg.errors.UniqueViolation):
            async with database.transaction() as unit:
                await database.run(add, 1, awkward)
                unit.before_commit(add, 2, awkward)
                unit.before_commit(add, 1, "again")
        assert await database.run(names) == {}

        async with database.transaction() as unit:
            await database.run(add, 1, awkward)
            assert await database.run(names) == {1: awkward}  # the unit sees its own write
            unit.before_commit(add, 2, awkward)
        assert await database.run(names) == {1: awkward, 2: awkward}

        # an error in the first statement leaves the connection usable and nothing written
        with pytest.raises(psycopg.errors.UniqueViolation):
            await database.run(add, 2, "twice")
        async with database.transaction() as unit:  # only deferred writes: BEGIN with them
            unit.before_commit(add, 3, awkward)
        assert await database.run(names) == {1: awkward, 2: awkward, 3: awkward}

        # a statement of another unit, on a connection that went back to the pool, is not
        # inside anything left open
        with pytest.raises(ValueError):
            async with database.transaction():
                await database.run(add, 4, "rolled back")
                raise ValueError("half-way")
        assert 4 not in await database.run(names)
    finally:
        await database.close()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The statements to prepare, for one test: the data layer's and the test's own."""
    monkeypatch.setattr(adapter, "_PREPARED", dict(adapter._PREPARED))


def _executions(conn: Connection, query: str) -> int:
    """How often the connection ran `query` as its prepared statement."""
    row = conn.execute(
        "select generic_plans + custom_plans as n from pg_prepared_statements where name = %s",
        (adapter._PREPARED[query].name,),
    ).fetchone()
    return int(row["n"]) if row is not None else 0


@pytest.mark.anyio
@pytest.mark.usefixtures("registry")
async def test_registered_statements_run_prepared_with_their_values_verbatim(
    database_url: str,
) -> None:
    """A unit of work's first statement and its writes sent with the COMMIT are written out
    on the client; a registered one goes as EXECUTE of the statement every pooled
    connection prepared, with the same values, in the same one transaction. Strings,
    numbers, booleans, NULLs and JSON are written out by the adapter (`remember`,
    `select`), a statement with anything else (`insert`: a list) by psycopg."""
    insert = adapter.prepared(
        "insert into users (id, first_name, username, is_searching, skills)"
        " values (%(id)s, %(name)s, %(nick)s, %(searching)s, %(skills)s)"
    )
    remember = adapter.prepared(
        "insert into fsm_states (key, state, data) values (%s, %s, %s)"
        " on conflict (key) do update set data = excluded.data"
    )
    select = adapter.prepared(
        "select u.id, u.first_name, u.username, u.is_searching, u.skills, f.data"
        " from users u join fsm_states f on f.key = u.first_name || u.id where u.id > %s"
    )
    database = Database(database_url, min_size=1, max_size=1)
    await database.open()
    awkward = "O'Brien %s %(x)s $1 ''; rollback; -- \\ \\' \" $$ ё 🙂\n"
    data = {"text": awkward, "n": -7, "none": None, awkward: [True, 1.5]}
    try:

        def add(conn: Connection, user_id: int, skills: list[str] | None = None) -> None:
            values = {"id": user_id, "name": awkward, "nick": None, "searching": False}
            conn.execute(insert, values | {"skills": skills or []})
            conn.execute(remember, (f"{awkward}{user_id}", awkward, Jsonb(data)))

        def read(conn: Connection) -> dict[int, tuple[object, ...]]:
            rows = conn.execute(select, (0,)).fetchall()
            return {r["id"]: tuple(r.values())[1:] for r in rows}

        # a write that fails with the COMMIT takes the unit's first statement with it
        with pytest.raises(psycopg.errors.UniqueViolation):
            async with database.transaction() as unit:
                await database.run(add, 1)
                unit.before_commit(add, 2)
                unit.before_commit(add, 1)
        assert await database.run(read) == {}

        async with database.transaction() as unit:
            await database.run(add, 1)
            unit.before_commit(add, 2, ["go", awkward])
        assert await database.run(read) == {
            1: (awkward, None, False, [], data),
            2: (awkward, None, False, ["go", awkward], data),
        }

        def executions(conn: Connection) -> tuple[int, int, int]:
            return tuple(_executions(conn, query) for query in (insert, remember, select))

        # the pool's one connection ran them as its prepared statements, but for `remember`
        # as a unit's second statement: that one goes by psycopg's extended protocol (and
        # the second `remember` of the failed COMMIT never ran)
        assert await database.run(executions) == (5, 2, 2)
    finally:
        await database.close()


@pytest.mark.anyio
async def test_prepared_statements_outlive_psycopg_dropping_its_own(database_url: str) -> None:
    """psycopg prepares a statement run five times itself, and on a ROLLBACK (of a unit, or
    to a savepoint) drops its own with DEALLOCATE ALL, which takes the registered ones
    along: they are written out until the connection prepares them again."""
    database = Database(database_url, min_size=1, max_size=1)
    await database.open()
    try:

        def start(conn: Connection, user_id: int) -> None:
            users.refresh(conn, user_id, username=None, first_name="A", last_name=None)
            for _ in range(6):  # psycopg's own, by the extended protocol
                conn.execute("select %s::int as n", (user_id,)).fetchone()

        def fail(conn: Connection) -> None:
            raise ValueError("half-way")

        def savepoint(conn: Connection) -> None:
            with contextlib.suppress(psycopg.errors.UniqueViolation), conn.transaction():
                conn.execute("insert into users (id, first_name) values (1, 'again')")

        for user_id in (1, 2):  # a unit rolled back, then one rolled back to a savepoint
            with pytest.raises(ValueError):
                async with database.transaction():
                    await database.run(start, user_id)
                    await database.run(fail)
            async with database.transaction() as unit:
                await database.run(start, user_id)
                await database.run(savepoint)
                unit.before_commit(fsm.store, {f"k{user_id}": Dialogue("s", {})}, user_id)
            async with database.transaction():
                await database.run(start, user_id)

        def stored(conn: Connection) -> list[tuple[object, ...]]:
            return [tuple(r.values()) for r in conn.execute("select key, state from fsm_states")]

        assert sorted(await database.run(stored)) == [("k1", "s"), ("k2", "s")]

        def read_prepared(conn: Connection) -> int:
            return _executions(conn, users._REFRESH)

        assert await database.run(read_prepared) == 1  # prepared again, and used since
    finally:
        await database.close()


@pytest.mark.anyio
@pytest.mark.usefixtures("registry")
async def test_a_statement_the_server_will_not_prepare_is_written_out_as_before(
    database_url: str,
) -> None:
    # PostgreSQL cannot tell the parameter's type before a value comes
    bare = adapter.prepared("select %s is null as value")
    with UnitConnection.connect(database_url, autocommit=True) as conn:
        conn.prepare_registered()
        others = {s.name for s in adapter._PREPARED.values()} - {adapter._PREPARED[bare].name}
        assert conn._ready == others  # the data layer's, before it in the one string, too
    database = Database(database_url, min_size=1, max_size=1)
    await database.open()
    try:

        def value(conn: Connection, given: object) -> object:
            row = conn.execute(bare, (given,)).fetchone()
            assert row is not None
            return row["value"], _executions(conn, bare)

        assert await database.run(value, "plain text") == (False, 0)
        assert await database.run(value, None) == (True, 0)
    finally:
        await database.close()


def test_every_statement_the_data_layer_registers_is_prepared(database_url: str) -> None:
    for module in pkgutil.iter_modules(teambot.data.__path__, "teambot.data."):
        importlib.import_module(module.name)
    registered = {statement.name for statement in adapter._PREPARED.values()}
    assert len(registered) >= 8  # the unit of work's: first statements, writes at COMMIT
    with UnitConnection.connect(database_url, autocommit=True) as conn:
        conn.prepare_registered()
        assert conn._ready == registered


@pytest.mark.anyio
async def test_units_of_work_leave_the_event_loop_free_while_they_wait(database_url: str) -> None:
    """Units of work run on the event loop's thread (adapters/database.py): while one waits
    for the server the loop goes on with everything else, other units included, and a unit
    that finds no idle connection waits for the pool to grow without holding the loop."""
    database = Database(database_url, min_size=0, max_size=4)  # no connection at first
    await database.open()
    ticks = 0
    seen: dict[str, tuple[int, int]] = {}

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    def slow(conn: Connection, name: str, seconds: float) -> str:
        before = ticks
        conn.execute("select pg_sleep(%s)", (seconds,))
        seen[name] = (before, ticks)
        return name

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(tick)
            async with anyio.create_task_group() as units:
                units.start_soon(database.run, slow, "first", 0.4)
                units.start_soon(database.run, slow, "second", 0.4)
            tg.cancel_scope.cancel()
        for name, (before, after) in seen.items():
            assert after - before >= 10, f"the loop stood still while {name} waited"
        # the two ran side by side, each on a connection of its own: each saw the other's
        # wait go on, not begin after it ended
        assert seen["first"][0] < seen["second"][1] and seen["second"][0] < seen["first"][1]
        assert database.stats()["pool_size"] == 2
    finally:
        await database.close()


@pytest.mark.anyio
async def test_tasks_sharing_a_transaction_take_turns_on_its_connection(database_url: str) -> None:
    """Work started side by side inside one `transaction()` runs one piece at a time on the
    transaction's connection, and all of it commits together (not a hang: the second piece
    would otherwise wait for the connection inside the event loop the first needs)."""
    database = Database(database_url, min_size=1, max_size=4)
    await database.open()
    try:

        def add(conn: Connection, user_id: int) -> int:
            conn.execute("insert into users (id) values (%s)", (user_id,))
            conn.execute("select pg_sleep(0.05)")
            return conn.execute("select count(*) as n from users").fetchone()["n"]

        seen: list[int] = []

        async def add_and_note(user_id: int) -> None:
            seen.append(await database.run(add, user_id))

        with anyio.fail_after(10):
            async with database.transaction(), anyio.create_task_group() as tg:
                for user_id in (1, 2, 3):
                    tg.start_soon(add_and_note, user_id)
        assert sorted(seen) == [1, 2, 3]  # one after another, in one transaction

        def count(conn: Connection) -> int:
            return conn.execute("select count(*) as n from users").fetchone()["n"]

        assert await database.run(count) == 3
        # every slot came back: as many units as slots fit at once again
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(database.run, count)
    finally:
        await database.close()


@pytest.mark.anyio
async def test_a_statement_larger_than_the_sockets_buffers_goes_through(database_url: str) -> None:
    """Sending it takes many waits for the socket to take more (and, on trio, the wait for
    either direction psycopg asks for while the server may already answer)."""
    database = Database(database_url, min_size=1, max_size=3)
    await database.open()
    big = "ё" * 4_000_000  # 8 MB on the wire
    try:

        def length(conn: Connection, value: str) -> int:
            return conn.execute("select length(%s) as n", (value,)).fetchone()["n"]

        assert await database.run(length, big) == len(big)
        async with database.transaction():  # also with the BEGIN sent in its string
            assert await database.run(length, big) == len(big)
    finally:
        await database.close()


@pytest.mark.anyio
async def test_a_first_read_is_confirmed_only_while_nothing_it_read_changed(
    database_url: str,
) -> None:
    """An update's first read, made before its transaction: the transaction's BEGIN checks
    that the person's row and their dialogue are as read, a dialogue that did not exist
    then included; a person new then is created by the transaction itself."""
    database = Database(database_url, min_size=1, max_size=2)
    await database.open()
    known = updates.Sender(1, "k1", None, "Ann", None)
    new = updates.Sender(2, "k2", None, "Bob", None)

    def run(conn: Connection, sql: str) -> None:
        conn.execute(sql)

    async def confirmed(sender: updates.Sender, first: updates.FirstRead) -> bool:
        try:
            async with database.transaction() as unit:
                unit.on_begin(updates.confirm, sender, first)
                await database.run(updates.begin, sender, language="en", first=first)
                unit.before_commit(run, "select 1")  # as the handled mark is
        except adapter.CONFLICT_ERRORS:
            return False
        return True

    try:
        await database.run(run, "insert into users (id, first_name) values (1, 'Ann')")
        read = await database.run(updates.read, [known, new])
        assert [first.me is not None for first in read] == [True, False]
        assert await confirmed(known, read[0])  # nothing changed
        assert await confirmed(new, read[1])  # created by the confirmed transaction
        read = await database.run(updates.read, [known])
        await database.run(
            run, "insert into fsm_states (key, state, data) values ('k1', 's', '{}')"
        )
        assert not await confirmed(known, read[0])  # a dialogue begun since
        read = await database.run(updates.read, [known])
        await database.run(run, "update users set bio = 'new' where id = 1")
        assert not await confirmed(known, read[0])  # the person changed since
        assert await confirmed(known, (await database.run(updates.read, [known]))[0])
    finally:
        await database.close()


@pytest.mark.anyio
async def test_first_reads_the_database_does_not_answer_are_left_to_the_updates(
    database_url: str,
) -> None:
    """The first-read actor with the database away (its pool closed): each update hears
    None and reads inside its own transaction, which meets the outage there and is retried
    as any other work; the actor itself goes on serving."""
    from teambot.actors.pipeline.reads import FirstReads
    from teambot.metrics import Metrics

    database = Database(database_url, min_size=1, max_size=2)  # never opened: away
    reads = FirstReads(database, Metrics())
    sender = updates.Sender(1, "k1", None, "Ann", None)
    assert await reads.read(sender) is None  # not running: nothing to ask
    async with anyio.create_task_group() as tg:
        await tg.start(reads.run)
        assert await reads.read(sender) is None
        await database.open()
        try:
            first = await reads.read(sender)
            assert first is not None and first.me is None  # answered once it is back
        finally:
            await database.close()
        tg.cancel_scope.cancel()


Unit = Callable[[adapter.Transaction], None]


def _run(conn: Connection, sql: str) -> None:
    conn.execute(sql)


def _writes(*statements: str) -> Unit:
    def register(transaction: adapter.Transaction) -> None:
        for sql in statements:
            transaction.before_commit(_run, sql)

    return register


def _mark(n: int) -> Unit:
    return _writes(f"insert into grouped (n, xid) values ({n}, pg_current_xact_id()::text)")


async def _commit_in_a_batch(database: Database, *units: Unit) -> list[BaseException | None]:
    """Transactions made of writes alone: the first is held on its way to the server (by a
    lock) while the others come one after another, so they are committed together after
    it, in the order they came. What each raised."""
    outcomes: list[BaseException | None] = [None] * len(units)

    async def end(index: int, unit: Unit) -> None:
        try:
            async with database.transaction() as transaction:
                if index == 0:
                    transaction.before_commit(_run, "lock table held in row exclusive mode")
                unit(transaction)
        except psycopg.Error as exc:
            outcomes[index] = exc

    with psycopg.connect(database.conninfo) as holder:
        holder.execute("create table if not exists held ()")
        holder.commit()
        holder.execute("lock table held in access exclusive mode")
        async with anyio.create_task_group() as tg:
            for index, unit in enumerate(units):
                tg.start_soon(end, index, unit)
                await anyio.wait_all_tasks_blocked()
            holder.commit()
    return outcomes


@pytest.mark.anyio
async def test_transactions_of_writes_alone_are_committed_together(database_url: str) -> None:
    """Units whose handlers read nothing (a /help) send their whole transaction with the
    COMMIT: those that come while one is on its way go in one transaction after it, so a
    burst costs the database a commit per batch, not per update."""
    database = Database(database_url, min_size=1, max_size=3)
    await database.open()
    try:
        await database.run(_run, "create table grouped (n int primary key, xid text)")
        assert await _commit_in_a_batch(database, *(_mark(n) for n in range(6))) == [None] * 6
        rows = await database.run(
            lambda conn: conn.execute("select n, xid from grouped").fetchall()
        )
        assert sorted(r["n"] for r in rows) == list(range(6))
        assert len({r["xid"] for r in rows}) == 2  # the first alone, the five after it together
    finally:
        await database.close()


@pytest.mark.anyio
async def test_a_batch_that_fails_commits_each_alone_with_its_own_error(
    database_url: str,
) -> None:
    """One transaction of the batch refused (a duplicate): the others are committed all
    the same, and only that one hears the error, as if each had committed alone."""
    database = Database(database_url, min_size=1, max_size=3)
    await database.open()
    try:
        await database.run(_run, "create table grouped (n int primary key, xid text)")
        outcomes = await _commit_in_a_batch(database, _mark(0), _mark(1), _mark(0), _mark(2))
        assert [type(o) for o in outcomes] == [
            type(None),
            type(None),
            psycopg.errors.UniqueViolation,
            type(None),
        ]
        rows = await database.run(lambda conn: conn.execute("select n from grouped").fetchall())
        assert sorted(r["n"] for r in rows) == [0, 1, 2]
    finally:
        await database.close()


@pytest.mark.anyio
async def test_in_a_batch_a_first_read_is_checked_against_what_those_before_it_wrote(
    database_url: str,
) -> None:
    """Each transaction's first-read check runs right before its own writes, so one whose
    person an earlier transaction of the same batch changed fails its check (and its update
    is handled again), as it would have had each committed in turn; the earlier one stays."""
    database = Database(database_url, min_size=1, max_size=3)
    await database.open()
    known = updates.Sender(1, "k1", None, "Ann", None)
    try:
        await database.run(_run, "create table grouped (n int primary key, xid text)")
        await database.run(_run, "insert into users (id, first_name) values (1, 'Ann')")
        first = (await database.run(updates.read, [known]))[0]

        def checked(transaction: adapter.Transaction) -> None:
            transaction.on_begin(updates.confirm, known, first)
            _mark(2)(transaction)

        outcomes = await _commit_in_a_batch(
            database, _mark(0), _writes("update users set bio = 'changed' where id = 1"), checked
        )
        assert outcomes[0] is None and outcomes[1] is None
        assert isinstance(outcomes[2], adapter.CONFLICT_ERRORS)
        bio = await database.run(
            lambda conn: conn.execute("select bio from users where id = 1").fetchone()
        )
        assert bio == {"bio": "changed"}
        rows = await database.run(lambda conn: conn.execute("select n from grouped").fetchall())
        assert [r["n"] for r in rows] == [0]
    finally:
        await database.close()
