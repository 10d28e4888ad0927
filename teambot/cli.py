"""`teambot run | migrate | check-config` (also `python -m teambot ...`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import anyio
from loguru import logger

from teambot import __version__
from teambot.config import ConfigError, Settings, load_settings
from teambot.errors import EX_CONFIG, EX_SOFTWARE, FatalError, find_error
from teambot.logs import setup_logging
from teambot.supervisor import RestartIntensityExceeded

EX_OK = 0


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


def _run(settings: Settings) -> int:
    from teambot.runtime import build_app, serve

    async def main(conninfo: str) -> None:
        await serve(build_app(settings, conninfo))  # built inside the loop: it makes anyio events

    with _database(settings) as conninfo:
        anyio.run(main, conninfo, backend=settings.teambot_backend)
    return EX_OK


def _migrate(settings: Settings) -> int:
    from teambot.data.migrations import apply_migrations

    with _database(settings) as conninfo:
        applied = apply_migrations(conninfo)
    logger.info("applied: {}", ", ".join(applied) if applied else "nothing, schema is current")
    return EX_OK


def _check_config(settings: Settings) -> int:
    database = "embedded PostgreSQL" if settings.uses_embedded_database else "external"
    print(
        f"configuration OK: database {database}, backend {settings.teambot_backend}, "
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
    try:
        settings = load_settings(require_token=args.command in ("run", "check-config"))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"teambot: bad configuration: {problem}", file=sys.stderr)
        return EX_CONFIG
    setup_logging(settings.log_level, settings.log_file)
    command = {
        "run": _run,
        "migrate": _migrate,
        "check-config": _check_config,
        "healthcheck": _healthcheck,
    }[args.command]
    try:
        return command(settings)
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
