"""Who leads, kept in PostgreSQL: a session advisory lock, a lease, and a fence.

**The lock.** A session advisory lock on a connection of its own: whoever holds it leads.
It lives as long as the session. A process killed with SIGKILL closes its socket and
PostgreSQL ends the session at once; a host that vanishes is noticed by TCP keepalives,
which this session asks the server to send every second (`tcp_keepalives_*`).

**The lease** (table `leader_lease`, migration 0024). The lock alone cannot tell a dead
leader from a frozen one: a process stopped by SIGSTOP, a paused VM, or a host whose
network drops packets while the server's keepalives still reach a live kernel keeps its
session, and so the lock, for ever. So the leader also renews a lease every RENEW_EVERY
second on the lock's session (`renewed_at = now()`, the server's clock: no clock skew
between hosts enters). A standby that finds the lease not renewed for STALE_AFTER seconds
ends every session of the holder (`pg_terminate_backend`, found by the holder's
`application_name`), its lock's among them, in a transaction holding the lease's row lock,
so that no renewal slips in between the look and the ending. Whoever then takes the free
lock (that standby, or another one quicker) writes its own name into the lease, epoch + 1,
ending again whatever of the previous holder is left (a host gone: its pool's sessions may
outlive its lock's), and leads. A standby never ends the sessions of an instance that
holds the lock with a fresh lease, so two standbys racing for the lead leave the winner
alone.

**The fence.** A replaced leader that thaws could still act for up to a second before its
next renewal fails and it steps down. Two things stop it:
- In the database, refused by the database: every session of an instance is named
  `teambot/<id>` (application_name). A trigger (migration 0024) refuses any write to the
  outbox (new messages, claims, sent-marks), the handled marks and the inbox's removals
  from a teambot session that is not the lease's holder. Its pool connections were ended
  by the takeover anyway, so an open transaction is rolled back and a new one cannot
  commit an update or claim a message.
- Towards Telegram, by its own clock: what the database cannot see is a Bot API call. The
  leader's actors run with `leading` set to the Lease; before each call the Bot API session
  asks `Lease.fresh()`, and asks again once it has a connection, just before writing the
  request: the last renewal was sent less than FRESH_FOR seconds ago (a monotonic clock,
  which runs on while the process is stopped). FRESH_FOR < STALE_AFTER,
  so by the time any standby can take over, the old leader has stopped calling Telegram.
  A thawed leader finds its lease stale, waits for a renewal, which fails (its session
  was ended): it steps down without a call.

**The numbers.** Renewal every 1 s; stale after 3 s; a standby looks every 0.5 s. Failover
after a freeze takes 2–3.5 s (3 s of staleness counted from the last renewal, which came up
to 1 s before the freeze; up to 0.5 s until a standby looks; the takeover, ~0.05 s): within
the 5 s asked (tests/test_instances.py measured 2.1–3.5 s). A false
alarm needs three renewals in a row to miss, that is the leader's event loop or its
renewal blocked for over 2 s; the renewal commits without waiting for the disk
(synchronous_commit off: a lost renewal costs nothing) and runs on a thread of its own,
so a busy pool or a slow fsync does not delay it. Should it happen anyway, the cost is a
failover (no message lost or doubled: the fence holds either way).

What remains: a session the old leader opens in the instant between the new holder's
look at `pg_stat_activity` and its commit of the lease passes the fence's check once (the
trigger reads the lease without locking it, to cost writers nothing); only a leader that
is alive, reaches the database and has not yet noticed the takeover can do that, and it
calls Telegram no more. A Bot API request already on the wire when the leader froze, or
being written at that instant (its lease asked a moment before), is answered by Telegram
whatever happens after; its message may be sent again by the new leader, as for
a SIGKILL between Telegram taking a message and its sent-mark. And a monotonic clock that
does not advance while a VM is paused would let a thawed VM send what it holds in memory
until its renewal fails (at most a second): the database fence still refuses its writes.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from contextvars import ContextVar
from functools import partial
from typing import Any

import anyio
import psycopg

# any constant shared by every teambot instance of one database: "teamlead" in ASCII
LEADER_LOCK_KEY = 0x7465616D6C656164
# the server drops a silent client after idle + interval × count seconds
KEEPALIVE = {"idle": 1, "interval": 1, "count": 2}
RENEW_EVERY = 1.0  # the leader renews its lease
STALE_AFTER = 3.0  # a standby takes over a lease not renewed for this long
FRESH_FOR = 2.5  # the leader calls Telegram only while its last renewal is this recent
CHECK_EVERY = 0.5  # a standby looks at the lock and the lease
FRESH_WAIT = 2.0  # a Bot API call waits this long for a late renewal before giving up


def instance_name() -> str:
    """The application_name of every session of this process: the lease's holder, the
    name a takeover ends sessions by, and what the fence compares."""
    return f"teambot/{secrets.token_hex(6)}"


class Lease:
    """The leader's own view of its lease, asked before each Bot API call."""

    def __init__(self) -> None:
        self.renewed_at = -float("inf")  # time.monotonic() when the last renewal was sent
        self.lost = False

    def fresh(self) -> bool:
        return not self.lost and time.monotonic() - self.renewed_at < FRESH_FOR

    async def wait_fresh(self, timeout: float = FRESH_WAIT) -> bool:
        """True once fresh; False if it is lost, or still stale after `timeout`."""
        if self.fresh():
            return True  # as nearly always: no timer
        with anyio.move_on_after(timeout):
            while not self.fresh():
                if self.lost:
                    return False
                await anyio.sleep(0.05)
            return True
        return False


# set (to the leader's Lease) in the leader's actors: the Bot API session asks it
leading: ContextVar[Lease | None] = ContextVar("teambot_leading", default=None)


class LeaderLock:
    def __init__(
        self,
        conninfo: str,
        name: str | None = None,
        key: int = LEADER_LOCK_KEY,
        *,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.conninfo = conninfo
        self.name = name or instance_name()
        self.key = key
        self.stale_after = stale_after
        self.lease = Lease()
        self.epoch: int | None = None
        # the last stale lease this instance ended: its holder, its age (s), the
        # sessions ended and the time that took (s)
        self.took_over: tuple[str, float, int, float] | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._limiter = anyio.CapacityLimiter(1)  # its own thread: never queued behind work

    async def _run(self, work: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(work, *args), limiter=self._limiter)

    async def try_acquire(self) -> bool:
        """Take the lead: the lock if it is free, or the lease if its holder stopped
        renewing it. False if another instance leads (or the database does not answer)."""
        try:
            epoch = await self._run(self._try_acquire)
        except psycopg.Error:
            await self.release()
            return False
        if epoch is None:
            return False
        self.epoch = epoch
        self.lease = Lease()
        self.lease.renewed_at = time.monotonic()
        return True

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=3,
                keepalives=1,
                keepalives_idle=KEEPALIVE["idle"],
                keepalives_interval=KEEPALIVE["interval"],
                keepalives_count=KEEPALIVE["count"],
                application_name=self.name,
            )
            for name, seconds in KEEPALIVE.items():
                self._conn.execute(f"set tcp_keepalives_{name} = {int(seconds)}")
            # a renewal lost in a crash costs nothing; one waiting for a slow disk could
            # look stale to the standbys
            self._conn.execute("set synchronous_commit = off")
        return self._conn

    def _try_acquire(self) -> int | None:
        conn = self._connect()
        if not self._try_lock(conn):
            if not self._end_stale_holder(conn):
                return None
            # its lock goes with its session in a moment, unless a standby takes it first
            deadline = time.monotonic() + 2
            while not self._try_lock(conn):
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.02)
        return self._claim(conn)

    def _try_lock(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("select pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    def _end_stale_holder(self, conn: psycopg.Connection[Any]) -> bool:
        """If the lease's holder has not renewed it for `stale_after` seconds, end its
        sessions (its lock's among them) and say so. Under the lease's row lock, so a
        renewal cannot slip in between the look and the ending; the lease is left to
        whoever takes the lock next (`_claim`)."""
        with conn.transaction():
            row = conn.execute(
                "select holder, extract(epoch from clock_timestamp() - renewed_at)::float8"
                " from leader_lease"
                " where renewed_at < now() - make_interval(secs => %s) for update",
                (self.stale_after,),
            ).fetchone()
            if row is None:
                return False
            started = time.monotonic()
            ended = self._end_sessions(conn, row[0])
        self.took_over = (row[0], row[1], ended, time.monotonic() - started)
        return True

    def _end_sessions(self, conn: psycopg.Connection[Any], holder: str) -> int:
        """End every session of the instance named `holder`, and the lock's session if it
        bears that name or is not an instance's (an older teambot holding the lock without
        a lease). Never the caller's, nor another instance's that took the lock
        meanwhile."""
        row = conn.execute(
            # Not waiting for them to be gone: a session told to end runs no further
            # command (a frozen client's sessions all wait for one); one blocked writing to
            # its client can take seconds to notice, and would delay the takeover.
            "select count(*) filter (where pg_terminate_backend(pid))"
            " from pg_stat_activity"
            " where pid <> pg_backend_pid() and datname = current_database()"
            " and (application_name = %(holder)s"
            "  or (pid in (select pid from pg_locks where locktype = 'advisory'"
            "    and database = (select oid from pg_database"
            "     where datname = current_database())"
            "    and classid::bigint = %(high)s and objid::bigint = %(low)s"
            "    and objsubid = 1 and granted)"
            "   and application_name not like 'teambot/%%'))",
            {
                # '' (nobody leads) names no session
                "holder": holder or "-",
                "high": self.key >> 32,
                "low": self.key & 0xFFFFFFFF,
            },
        ).fetchone()
        return int(row[0]) if row else 0

    def _claim(self, conn: psycopg.Connection[Any]) -> int:
        """Holding the lock: write this instance into the lease (epoch + 1), after ending
        what is left of the previous holder (a host gone: its pool's sessions may outlive
        its lock's)."""
        with conn.transaction():
            row = conn.execute("select holder from leader_lease for update").fetchone()
            assert row is not None, "migration 0024 writes the lease's row"
            if row[0] != self.name:
                self._end_sessions(conn, row[0])
            epoch = conn.execute(
                "update leader_lease set holder = %s, epoch = epoch + 1, renewed_at = now()"
                " returning epoch",
                (self.name,),
            ).fetchone()
            assert epoch is not None
            return int(epoch[0])

    async def renew(self) -> bool:
        """Renew the lease; False if this instance no longer holds it (taken over, or the
        session is gone: the lock may be someone else's already)."""
        conn = self._conn
        if conn is None:
            return False
        sent = time.monotonic()
        row = None
        with anyio.move_on_after(STALE_AFTER):
            try:
                row = await anyio.to_thread.run_sync(
                    partial(self._renew, conn), limiter=self._limiter, abandon_on_cancel=True
                )
            except psycopg.Error:
                row = None
        if sent + STALE_AFTER <= time.monotonic():
            # No answer: the network may drop our packets while the server's keepalives
            # still reach this host's kernel. A standby has taken over by now; the thread
            # waiting for the answer is left to its fate, with the connection.
            self._conn = None
            self._limiter = anyio.CapacityLimiter(1)
        if row is None or row[0] != self.epoch:
            self.lease.lost = True
            return False
        self.lease.renewed_at = sent
        return True

    def _renew(self, conn: psycopg.Connection[Any]) -> Any:
        return conn.execute(
            "update leader_lease set renewed_at = now() where holder = %s returning epoch",
            (self.name,),
        ).fetchone()

    async def still_held(self) -> bool:
        return await self.renew()

    async def release(self) -> None:
        """Let the lead go: the lease says nobody leads, and the session (and its lock)
        ends."""
        self.lease.lost = True
        conn, self._conn = self._conn, None
        if conn is not None:

            def let_go() -> None:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(
                        "update leader_lease set holder = '' where holder = %s", (self.name,)
                    )
                    # now, not when the server notices the closed socket and ends the
                    # session a moment later: a standby that asks at once finds it free
                    conn.execute("select pg_advisory_unlock(%s)", (self.key,))
                with contextlib.suppress(psycopg.Error):
                    conn.close()

            await self._run(let_go)
