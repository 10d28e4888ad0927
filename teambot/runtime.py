"""The actor tree, wired and run under one supervisor.

root task group
├── signals        SIGTERM/SIGINT → graceful stop; a second signal exits at once
└── supervisor     (one-for-one, restart intensity; children start in order, stop reversed)
    ├── http       /healthz, /readyz, /metrics (unless HTTP_PORT=0); answers during start-up
    ├── database   waits for PostgreSQL, migrates, owns the pool — closes after its users
    ├── telegram   checks the token, publishes the command menu, owns the HTTP session
    ├── pipeline   (one-for-all) poller → throttle → dispatch over bounded streams
    ├── cleanup    periodic jobs every CLEANUP_INTERVAL_MINUTES
    ├── matcher    digests of new matches, fed by handlers over a memory stream
    └── watchdog   systemd watchdog pings while the poller makes progress

A stop (SIGTERM/SIGINT) is honoured in every phase: while the children start it cancels the
one starting (waiting for PostgreSQL, migrating, waiting for the Bot API) and stops the rest.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
from aiogram import Bot, Router
from aiogram.exceptions import TelegramUnauthorizedError
from anyio.abc import TaskStatus
from loguru import logger

from teambot.actors.cleanup import CleanupTimer
from teambot.actors.database import DatabaseActor
from teambot.actors.dispatch import Dispatch
from teambot.actors.http_server import HttpServer
from teambot.actors.matcher import Matcher
from teambot.actors.pipeline import Pipeline
from teambot.actors.poller import UpdatePoller
from teambot.actors.throttle import Throttle
from teambot.actors.watchdog import SystemdNotifier, Watchdog
from teambot.adapters.database import Database
from teambot.adapters.telegram import (
    CERTIFICATE_ADVICE,
    TRANSIENT_TELEGRAM_ERRORS,
    CertificateNotTrustedError,
    create_bot,
    reachability_of,
)
from teambot.bot import UpdateHandler, build_dispatcher, publish_commands
from teambot.config import Settings
from teambot.embedded import stop_embedded_servers
from teambot.errors import FatalError
from teambot.health import Health
from teambot.jobs import build_jobs
from teambot.ledger import UpdateLedger
from teambot.logs import redactor
from teambot.metrics import Metrics
from teambot.signals import EarlySignals
from teambot.supervisor import ChildSpec, Supervisor

log = logger.bind(actor="runtime")


class TelegramActor:
    """Owns the Bot API session: checks the token at start, closes the session at stop.
    The bot's @username (from getMe) goes to `on_username` (the dispatcher's data: links
    to the bot's private chat are built with it)."""

    # A certificate failure this many times in a row before the Bot API ever answered is a
    # setup problem to fix, not an outage to wait out: exit 78.
    CERTIFICATE_ATTEMPTS = 3

    def __init__(
        self, bot: Bot, health: Health, on_username: Callable[[str | None], None] = lambda _: None
    ) -> None:
        self.bot = bot
        self.health = health
        self.reachability = reachability_of(bot)
        self.username: str | None = None
        self.on_username = on_username

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self.health.set_status("connecting to the Bot API")
        try:
            await self._introduce()
            task_status.started()
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await self.bot.session.close()

    async def _introduce(self) -> None:
        delay = 1.0
        certificate_failures = 0
        while True:
            try:
                me = await self.bot.get_me()
                await self.bot.delete_webhook(drop_pending_updates=False)
                await publish_commands(self.bot)
                break
            except TelegramUnauthorizedError:
                raise FatalError(
                    "BOT_TOKEN was rejected by the Bot API (401 Unauthorized)"
                ) from None
            except CertificateNotTrustedError as exc:
                certificate_failures += 1
                if certificate_failures >= self.CERTIFICATE_ATTEMPTS:
                    raise FatalError(
                        f"Bot API at {self.reachability.host}: {exc.message}; {CERTIFICATE_ADVICE}"
                    ) from None
                self.reachability.failed(exc, delay)
            except TRANSIENT_TELEGRAM_ERRORS as exc:
                certificate_failures = 0
                self.reachability.failed(exc, delay)
            await anyio.sleep(delay)
            delay = min(delay * 2, 30)
        self.username = me.username
        self.on_username(me.username)
        log.info("connected as @{}", me.username)


@dataclass
class App:
    """The wired tree, exposed so tests and health checks can look inside."""

    settings: Settings
    health: Health
    metrics: Metrics
    notifier: SystemdNotifier
    bot: Bot
    database: Database
    ledger: UpdateLedger
    poller: UpdatePoller
    pipeline: Pipeline
    cleanup: CleanupTimer
    matcher: Matcher
    supervisor: Supervisor


def build_app(settings: Settings, conninfo: str, extra_routers: Sequence[Router] = ()) -> App:
    assert settings.bot_token is not None
    token = settings.bot_token.get_secret_value()
    redactor.add(token)
    health = Health(stale_after=settings.poll_timeout_seconds + 45)
    metrics = Metrics()
    notifier = SystemdNotifier()
    health.on_status.append(notifier.status)
    proxy = settings.telegram_proxy.get_secret_value() if settings.telegram_proxy else None
    bot = create_bot(
        token,
        settings.telegram_api_url,
        health,
        metrics,
        flood_control=settings.flood_control,
        proxy=proxy,
    )
    database = Database(
        conninfo,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        max_lifetime=settings.db_pool_max_lifetime_seconds,
    )
    metrics.watch_pool(database.stats)
    ledger = UpdateLedger()
    matcher = Matcher(database, bot, metrics, delay=settings.digest_delay_seconds)
    handler = UpdateHandler(bot, build_dispatcher(database, settings, matcher, *extra_routers))
    poller = UpdatePoller(
        bot, database, ledger, health, metrics, poll_timeout=settings.poll_timeout_seconds
    )
    metrics.updates_in_flight_limit.set(poller.max_in_flight)

    def sample_progress() -> None:
        metrics.updates_in_flight.set(ledger.in_flight)
        metrics.oldest_update_age.set(ledger.oldest_age())
        metrics.poller_running.set(health.polling)
        metrics.poller_progress_age.set(anyio.current_time() - health.last_poll)

    metrics.sample_on_scrape(sample_progress)
    pipeline = Pipeline(
        poller,
        Throttle(
            settings.rate_limit_requests_per_minute,
            settings.rate_limit_presses_per_minute,
            settings.rate_limit_window_seconds,
            metrics,
        ),
        Dispatch(
            handler.handle,
            handler.on_failure,
            ledger,
            metrics,
            max_concurrency=settings.max_concurrent_updates,
        ),
    )

    cleanup = CleanupTimer(
        build_jobs(settings, database, bot),
        metrics,
        interval=settings.cleanup_interval_minutes * 60,
    )
    children: list[ChildSpec] = []
    if settings.http_port:
        # first: a busy port fails the start at once, and the probes answer during start-up
        server = HttpServer(health, database, metrics, settings.http_host, settings.http_port)
        children.append(
            ChildSpec("http", server.run, request_stop=server.request_stop, stop_timeout=3)
        )
    children += [
        ChildSpec(
            "database",
            DatabaseActor(
                database, health, connect_timeout=settings.db_connect_timeout_seconds
            ).run,
        ),
        ChildSpec("telegram", TelegramActor(bot, health, handler.know_username).run),
        ChildSpec(
            "pipeline",
            pipeline.run,
            request_stop=pipeline.request_stop,
            stop_timeout=settings.shutdown_timeout_seconds,
        ),
        ChildSpec("cleanup", cleanup.run),
        ChildSpec("matcher", matcher.run),
        ChildSpec("watchdog", Watchdog(notifier, health).run),
    ]
    supervisor = Supervisor(
        children,
        intensity=settings.restart_intensity,
        period=settings.restart_period_seconds,
        on_restart=lambda actor: metrics.actor_restarts.labels(actor).inc(),
    )
    return App(
        settings,
        health,
        metrics,
        notifier,
        bot,
        database,
        ledger,
        poller,
        pipeline,
        cleanup,
        matcher,
        supervisor,
    )


async def _watch_signals(app: App, early: EarlySignals | None) -> None:
    supervisor = app.supervisor
    received = 0

    def on_signal(signum: int) -> None:
        nonlocal received
        received += 1
        name = signal.Signals(signum).name
        if received == 1:
            if supervisor.started:
                log.info("{} received: finishing updates in flight, then stopping", name)
                app.health.set_status("draining updates in flight")
            else:
                log.info("{} received while {}: stopping", name, app.health.status)
                app.health.set_status("stopping")
            app.notifier.notify("STOPPING=1")
            supervisor.request_stop()
        else:
            log.warning("second {} received: exiting now", name)
            # unconfirmed updates stay on Telegram's side and come back next start
            stop_embedded_servers()  # os._exit skips the exit handler that would
            os._exit(128 + signum)

    with anyio.open_signal_receiver(*EarlySignals.SIGNALS) as signals:
        if early is not None and early.received is not None:
            on_signal(early.received)  # arrived before this receiver listened
        async for signum in signals:
            on_signal(signum)


@dataclass
class _AnnounceReady:
    """The supervisor's task status: once every actor has started, say so."""

    app: App
    on_ready: Callable[[], None] | None
    task_status: TaskStatus[None]

    def started(self, value: None = None) -> None:
        log.info("ready")
        self.app.health.set_status("polling for updates")
        self.app.notifier.notify("READY=1")
        if self.on_ready is not None:
            self.on_ready()
        self.task_status.started()


async def serve(
    app: App,
    *,
    handle_signals: bool = True,
    early_signals: EarlySignals | None = None,
    on_ready: Callable[[], None] | None = None,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run until stopped (a signal, or `app.supervisor.request_stop()`), which may come in
    any phase: waiting for the database, migrating, checking the token, running.
    `task_status` is reported only once every actor runs."""
    async with anyio.create_task_group() as tg:
        if handle_signals:
            tg.start_soon(_watch_signals, app, early_signals)
        await app.supervisor.run(task_status=_AnnounceReady(app, on_ready, task_status))
        tg.cancel_scope.cancel()  # every child has stopped: end the signal watcher too
    log.info("stopped")
