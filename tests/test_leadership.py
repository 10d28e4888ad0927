"""The lease and the fence (adapters/leader_lock.py) against the real PostgreSQL: a leader
that stops renewing (frozen, cut off) is replaced within seconds, its sessions are ended,
and whatever it tries afterwards is refused by the database; a leader that renews is never
replaced; a leader whose lease is stale calls Telegram no more."""

from __future__ import annotations

import time

import anyio
import psycopg
import pytest
from aiogram.exceptions import TelegramNetworkError

from teambot.adapters.database import TRANSIENT_ERRORS, Database
from teambot.adapters.leader_lock import (
    FRESH_FOR,
    LEADER_LOCK_KEY,
    STALE_AFTER,
    LeaderLock,
    Lease,
    instance_name,
    leading,
)
from teambot.adapters.telegram import NotLeading, create_bot
from teambot.health import Health
from teambot.metrics import Metrics
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.anyio


def outbox_row(conn: psycopg.Connection[object], row_id: int) -> None:
    conn.execute(
        "insert into outbox (id, method, payload, background, claimed_at)"
        " values (%s, 'sendMessage', '{}', false, now())",
        (row_id,),
    )


def session_named(database_url: str, name: str) -> psycopg.Connection[object]:
    return psycopg.connect(database_url, application_name=name)


async def test_a_leader_that_stops_renewing_is_replaced_and_fenced_off(
    database_url: str, anyio_backend: str
) -> None:
    a, b = LeaderLock(database_url), LeaderLock(database_url)
    assert await a.try_acquire()
    assert not await b.try_acquire()  # the lock is held and the lease is fresh
    pool_a = session_named(database_url, a.name)  # one of A's pooled sessions
    outbox_row(pool_a, 1)
    pool_a.commit()
    # A freezes in the middle of an update: its handled mark written, not committed
    pool_a.execute("insert into handled_updates (update_id) values (7)")

    frozen_at = time.monotonic()
    while not await b.try_acquire():  # what a standby does every CHECK_EVERY
        assert time.monotonic() - frozen_at < STALE_AFTER + 2
        await anyio.sleep(0.1)
    took = time.monotonic() - frozen_at
    print(f"taken over {took:.2f} s after the last renewal")
    assert STALE_AFTER - 0.2 <= took <= STALE_AFTER + 1

    # A thaws: its open transaction was rolled back with its ended session...
    with pytest.raises(psycopg.OperationalError):
        pool_a.commit()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from handled_updates").fetchone() == (0,)
        # ...so B's handling of the same update does not wait behind it
        conn.execute("set lock_timeout = '1s'")
        conn.execute("insert into handled_updates (update_id) values (7)")
        conn.rollback()
    # ...its renewal fails, so it steps down...
    assert not await a.renew()
    assert not a.lease.fresh()
    # ...and a fresh session of A's can neither send nor commit an update
    with session_named(database_url, a.name) as late:
        for write in (
            lambda: outbox_row(late, 2),
            lambda: late.execute("update outbox set claimed_at = null"),
            lambda: late.execute("update outbox set sent_at = now()"),
            lambda: late.execute("insert into handled_updates (update_id) values (8)"),
            lambda: late.execute("delete from inbox"),
        ):
            with pytest.raises(psycopg.OperationalError, match="not the leader"):
                write()
            late.rollback()
        late.execute("select * from outbox")  # reading is not fenced
    # while B's sessions, and sessions that are not an instance's (tools), write freely
    with session_named(database_url, b.name) as mine, psycopg.connect(database_url) as tool:
        outbox_row(mine, 3)
        outbox_row(tool, 4)
    assert await b.renew()
    await a.release()
    await b.release()


async def test_two_standbys_racing_for_a_stale_lease_leave_one_leader_in_peace(
    database_url: str, anyio_backend: str
) -> None:
    a, b, c = (LeaderLock(database_url) for _ in range(3))
    assert await a.try_acquire()
    await anyio.sleep(STALE_AFTER + 0.2)  # A froze
    took_lead: list[LeaderLock] = []

    async def stand_by(lock: LeaderLock) -> None:
        """What Leadership.run does: a standby tries every half second, a leader renews."""
        started = time.monotonic()
        while time.monotonic() - started < STALE_AFTER + 3:
            if lock in took_lead:
                assert await lock.renew()  # nobody ends the new leader's session
            elif await lock.try_acquire():
                took_lead.append(lock)
            await anyio.sleep(0.5)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stand_by, b)
        tg.start_soon(stand_by, c)
    assert len(took_lead) == 1
    assert not await a.renew()
    for lock in (a, b, c):
        await lock.release()


async def test_a_leader_that_renews_is_never_taken_over(
    database_url: str, anyio_backend: str
) -> None:
    a, b = LeaderLock(database_url), LeaderLock(database_url)
    assert await a.try_acquire()
    tries = 0
    started = time.monotonic()
    while time.monotonic() - started < STALE_AFTER + 2:
        assert await a.renew()
        for _ in range(2):
            assert not await b.try_acquire()
            tries += 1
            await anyio.sleep(0.5)
    assert tries >= 8
    assert a.lease.fresh()
    await a.release()
    await b.release()


async def test_a_leader_that_lets_go_is_followed_at_once_without_ending_its_sessions(
    database_url: str, anyio_backend: str
) -> None:
    a, b = LeaderLock(database_url), LeaderLock(database_url)
    assert await a.try_acquire()
    with session_named(database_url, a.name) as still_open:
        await a.release()  # a graceful stop (rolling restart)
        started = time.monotonic()
        assert await b.try_acquire()
        assert time.monotonic() - started < 1
        still_open.execute("select 1")  # not ended: A finishes its stop undisturbed
    with psycopg.connect(database_url) as conn:
        row = conn.execute("select holder, epoch from leader_lease").fetchone()
    assert row == (b.name, 2)
    await b.release()


async def test_a_session_ended_under_the_leader_hands_over_and_the_leader_steps_down(
    database_url: str, anyio_backend: str
) -> None:
    """The old rule still holds: the lock's session gone (SIGKILL, host gone), another
    instance takes the lead at once; the old leader's renewal fails."""
    a, b = LeaderLock(database_url), LeaderLock(database_url)
    assert await a.try_acquire()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "select pg_terminate_backend(pid, 2000) from pg_stat_activity"
            " where application_name = %s",
            (a.name,),
        )
    assert await b.try_acquire()
    assert not await a.renew()
    await b.release()


async def test_the_pool_carries_the_instance_name_and_is_fenced_with_it(
    database_url: str, anyio_backend: str
) -> None:
    lock = LeaderLock(database_url, instance_name())
    database = Database(database_url, min_size=1, max_size=2, application_name=lock.name)
    await database.open()
    try:
        with pytest.raises(TRANSIENT_ERRORS):  # not leading yet: refused, as the database
            await database.run(outbox_row, 1)  # being away is (the work waits, is retried)
        assert await lock.try_acquire()
        await database.run(outbox_row, 1)
    finally:
        await database.close()
        await lock.release()


class GoesStaleAfterOneLook(Lease):
    def __init__(self) -> None:
        super().__init__()
        self.looks = 0

    def fresh(self) -> bool:
        self.looks += 1
        return self.looks == 1


async def test_a_stale_lease_stops_bot_api_calls_before_they_leave(
    telegram: FakeTelegram, anyio_backend: str
) -> None:
    bot = create_bot(telegram.token, telegram.api_url, Health(), Metrics(), flood_control=False)
    try:
        lease = Lease()
        lease.renewed_at = time.monotonic()
        token = leading.set(lease)
        try:
            await bot.send_message(1, "while fresh")
            lease.renewed_at = time.monotonic() - FRESH_FOR  # frozen past its freshness
            started = time.monotonic()
            with pytest.raises(TelegramNetworkError, match="may no longer lead"):
                await bot.send_message(1, "after the freeze")
            assert time.monotonic() - started >= 1.5  # it waited for a late renewal
            # a renewal that comes while the call waits lets it go
            lease.renewed_at = time.monotonic() - FRESH_FOR

            async def renew_soon() -> None:
                await anyio.sleep(0.3)
                lease.renewed_at = time.monotonic()

            async with anyio.create_task_group() as tg:
                tg.start_soon(renew_soon)
                await bot.send_message(1, "after a late renewal")
            lease.lost = True
            with pytest.raises(TelegramNetworkError):
                await bot.send_message(1, "after the lease was lost")
        finally:
            leading.reset(token)
        # fresh when the call starts, stale once a connection is in hand (it waited for
        # one across a freeze): asked again just before the request is written
        stale_soon = GoesStaleAfterOneLook()
        token = leading.set(stale_soon)
        try:
            with pytest.raises(NotLeading):
                await bot.send_message(1, "after waiting for a connection")
            assert stale_soon.looks == 2
        finally:
            leading.reset(token)
        await bot.send_message(1, "outside the leader's actors")  # not gated
    finally:
        await bot.session.close()
    assert [m.text for m in telegram.messages(1)] == [
        "while fresh",
        "after a late renewal",
        "outside the leader's actors",
    ]


async def test_an_older_teambot_holding_the_lock_without_a_lease_hands_over_at_once(
    database_url: str, anyio_backend: str
) -> None:
    """The upgrade to the version with the lease: the old leader holds the lock and never
    renews a lease. The first new instance ends its lock's session and leads; the old one
    notices within a second (its check of the session) and steps down."""
    with psycopg.connect(
        database_url, autocommit=True, application_name="teambot leader lock"
    ) as old:
        old.execute("select pg_advisory_lock(%s)", (LEADER_LOCK_KEY,))
        new = LeaderLock(database_url)
        assert await new.try_acquire()
        with pytest.raises(psycopg.OperationalError):
            old.execute("select 1")
    await new.release()
