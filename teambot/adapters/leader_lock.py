"""A PostgreSQL session advisory lock on a connection of its own: whoever holds it leads.

The lock lives as long as the session. A process killed with SIGKILL closes its socket and
PostgreSQL ends the session at once; a host that vanishes is noticed by TCP keepalives,
which this session asks the server to send every second (`tcp_keepalives_*`), so the lock
is free within a few seconds either way. The holder checks its session every second and
steps down the moment the check fails: it cannot know whether the server still counts it
as the holder.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

import anyio
import psycopg

# any constant shared by every teambot instance of one database: "teamlead" in ASCII
LEADER_LOCK_KEY = 0x7465616D6C656164
# the server drops a silent client after idle + interval × count seconds
KEEPALIVE = {"idle": 1, "interval": 1, "count": 2}


class LeaderLock:
    def __init__(self, conninfo: str, key: int = LEADER_LOCK_KEY) -> None:
        self.conninfo = conninfo
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; False if another session holds it (or the
        database does not answer)."""
        try:
            return await anyio.to_thread.run_sync(self._try_acquire)
        except psycopg.Error:
            await self.release()
            return False

    def _try_acquire(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=3,
                keepalives=1,
                keepalives_idle=KEEPALIVE["idle"],
                keepalives_interval=KEEPALIVE["interval"],
                keepalives_count=KEEPALIVE["count"],
                application_name="teambot leader lock",
            )
            for name, seconds in KEEPALIVE.items():
                self._conn.execute(f"set tcp_keepalives_{name} = {int(seconds)}")
        row = self._conn.execute("select pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        return bool(row and row[0])

    async def still_held(self) -> bool:
        """The session is alive (and so is the lock it holds). A server that went silent
        fails this within about three seconds (the client's own keepalives)."""
        conn = self._conn
        if conn is None:
            return False
        try:
            await anyio.to_thread.run_sync(partial(conn.execute, "select 1"))
        except psycopg.Error:
            return False
        return True

    async def release(self) -> None:
        """Let the lock go by ending the session."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await anyio.to_thread.run_sync(conn.close)
