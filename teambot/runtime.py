"""The actor tree (drawn in the README's "How it is built"), wired and run under one
supervisor. A stop (SIGTERM/SIGINT) is honoured in every phase: while the children start it
cancels the one starting (waiting for PostgreSQL, migrating, waiting for the Bot API) and
stops the rest.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import anyio
from aiogram import Bot, Router
from anyio.abc import TaskStatus
from loguru import logger

from teambot.actors.broadcast import Broadcaster
from teambot.actors.cleanup import CleanupTimer
from teambot.actors.database import DatabaseActor
from teambot.actors.http_server import HttpServer
from teambot.actors.leadership import Leadership
from teambot.actors.matcher import Matcher
from teambot.actors.outbox import Outbox
from teambot.actors.pipeline import Pipeline
from teambot.actors.pipeline.dispatch import Dispatch
from teambot.actors.pipeline.handling import UpdateHandler, build_dispatcher
from teambot.actors.pipeline.inbox import InboxReader, WebhookSetup
from teambot.actors.pipeline.ledger import UpdateLedger
from teambot.actors.pipeline.poller import UpdatePoller
from teambot.actors.pipeline.reads import FirstReads
from teambot.actors.pipeline.throttle import Throttle
from teambot.actors.signals import EarlySignals, watch_signals
from teambot.actors.telegram import TelegramActor
from teambot.actors.watchdog import SystemdNotifier, Watchdog
from teambot.adapters.database import Database
from teambot.adapters.flood_control import HANDOVER_QUIET
from teambot.adapters.leader_lock import LeaderLock, instance_name
from teambot.adapters.telegram import create_bot, flood_control_of, patch_aiogram
from teambot.config import Settings, webhook_path
from teambot.health import Health
from teambot.jobs import build_jobs
from teambot.logs import redactor
from teambot.metrics import Metrics
from teambot.supervisor import ChildSpec, Supervisor
from teambot.web.dashboard import DashboardSite
from teambot.web.webhook import WebhookEndpoint

log = logger.bind(actor="runtime")


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
    outbox: Outbox
    supervisor: Supervisor
    broadcaster: Broadcaster


def build_app(settings: Settings, conninfo: str, extra_routers: Sequence[Router] = ()) -> App:
    assert settings.bot_token is not None
    token = settings.bot_token.get_secret_value()
    redactor.add(token)
    patch_aiogram()
    health = Health(stale_after=settings.poll_timeout_seconds + 45)
    metrics = Metrics()
    notifier = SystemdNotifier()
    health.on_status.append(notifier.status)
    proxy = settings.telegram_proxy.get_secret_value() if settings.telegram_proxy else None
    name = instance_name()  # every session of this process carries it (the lease's fence)
    bot = create_bot(
        token,
        settings.telegram_api_url,
        health,
        metrics,
        flood_control=settings.flood_control,
        proxy=proxy,
        instance=name,
    )
    database = Database(
        conninfo,
        application_name=name,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        max_lifetime=settings.db_pool_max_lifetime_seconds,
    )
    metrics.watch_pool(database.stats)
    ledger = UpdateLedger()
    outbox = Outbox(database, bot, metrics)
    matcher = Matcher(database, outbox, bot, metrics, delay=settings.digest_delay_seconds)
    dispatcher = build_dispatcher(database, settings, matcher, *extra_routers)
    reads = FirstReads(database, metrics)
    handler = UpdateHandler(bot, dispatcher, outbox, reads)
    webhook: WebhookSetup | None = None
    endpoint: tuple[str, WebhookEndpoint] | None = None
    poller: UpdatePoller
    if settings.updates_mode == "webhook":
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        secret = settings.webhook_secret.get_secret_value()
        redactor.add(secret)
        webhook = WebhookSetup(
            settings.webhook_url,
            secret,
            settings.webhook_max_connections,
            dispatcher.resolve_used_update_types(),
        )
        poller = reader = InboxReader(bot, database, ledger, health, metrics, webhook)
        endpoint = (
            webhook_path(settings.webhook_url),
            WebhookEndpoint(database, secret, metrics, reader.received),
        )
    else:
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
            settings.rate_limit_storage_uri.get_secret_value(),
        ),
        Dispatch(
            handler.handle,
            handler.on_failure,
            ledger,
            metrics,
            max_concurrency=settings.max_concurrent_updates,
        ),
        reads,
    )

    cleanup = CleanupTimer(
        build_jobs(settings, database, outbox, bot),
        metrics,
        interval=settings.cleanup_interval_minutes * 60,
    )
    broadcaster = Broadcaster(database, outbox, bot, metrics)
    children: list[ChildSpec] = []
    if settings.http_port:
        # first: a busy port fails the start at once, and the probes answer during start-up
        server = HttpServer(
            health,
            database,
            metrics,
            settings.http_host,
            settings.http_port,
            DashboardSite(database, settings),
            endpoint,
        )
        children.append(
            ChildSpec("http", server.run, request_stop=server.request_stop, stop_timeout=3)
        )
    # the leader's actors: taking updates, sending, the jobs (actors/leadership.py)
    leading = [
        ChildSpec("outbox", outbox.run),
        ChildSpec(
            "pipeline",
            pipeline.run,
            request_stop=pipeline.request_stop,
            stop_timeout=settings.shutdown_timeout_seconds,
        ),
        ChildSpec("cleanup", cleanup.run),
        ChildSpec("matcher", matcher.run),
        ChildSpec(
            "broadcast",
            broadcaster.run,
            # the batch on its way goes out whole: none cut between Telegram and its mark
            request_stop=broadcaster.request_stop,
            stop_timeout=settings.shutdown_timeout_seconds,
        ),
    ]

    def count_restart(actor: str) -> None:
        metrics.actor_restarts.labels(actor).inc()

    leadership = Leadership(
        LeaderLock(conninfo, name),
        leading,
        health,
        metrics,
        leading_status=(
            "receiving updates by webhook" if webhook is not None else "polling for updates"
        ),
        intensity=settings.restart_intensity,
        period=settings.restart_period_seconds,
        on_restart=count_restart,
        on_lead=partial(quiet_after_handover, bot),
    )
    children += [
        ChildSpec(
            "database",
            DatabaseActor(
                database, health, connect_timeout=settings.db_connect_timeout_seconds
            ).run,
        ),
        ChildSpec(
            "telegram",
            TelegramActor(bot, health, handler.know_username, polling=webhook is None).run,
        ),
        ChildSpec(
            "leadership",
            leadership.run,
            request_stop=leadership.request_stop,
            stop_timeout=2 * settings.shutdown_timeout_seconds + 5,
        ),
        ChildSpec("watchdog", Watchdog(notifier, health).run),
    ]
    supervisor = Supervisor(
        children,
        intensity=settings.restart_intensity,
        period=settings.restart_period_seconds,
        on_restart=count_restart,
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
        outbox,
        supervisor,
        broadcaster,
    )


def quiet_after_handover(bot: Bot) -> None:
    """The lead may come from an instance that sent a moment ago (a leader sends nothing
    once the lock is free; a process restarted in a hurry is such an instance too): wait
    out what Telegram's flood limits may still count of its messages."""
    flood = flood_control_of(bot)
    if flood is not None:
        flood.hold_until(anyio.current_time() + HANDOVER_QUIET)


@dataclass
class _AnnounceReady:
    """The supervisor's task status: once every actor has started, say so."""

    app: App
    on_ready: Callable[[], None] | None
    task_status: TaskStatus[None]

    def started(self, value: None = None) -> None:
        # What is alive now lives as long as the process (modules, aiogram's models and their
        # validators, routers, texts): out of the collector's sight, or every full pass
        # scans it all again. Measured in bench.capacity's bursts: 0.30 → 0.06 ms of
        # collection per update.
        gc.freeze()
        # An update makes a few thousand objects, nearly all freed by reference counting
        # as it ends: at the default 700 allocations a collection ran every few updates over
        # the ones in flight. bench.capacity: 291 collections (64 ms) → 12 (17 ms) in a run.
        gc.set_threshold(10_000, 10, 10)
        log.info("ready")
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
            tg.start_soon(watch_signals, app.supervisor, app.health, app.notifier, early_signals)
        try:
            await app.supervisor.run(task_status=_AnnounceReady(app, on_ready, task_status))
        finally:
            gc.unfreeze()  # another app in this process (tests) starts from a clean slate
        tg.cancel_scope.cancel()  # every child has stopped: end the signal watcher too
    log.info("stopped")
