"""Prometheus metrics, one registry per running bot (so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _PoolCollector(Collector):
    """Reads the pool's numbers at scrape time instead of mirroring them."""

    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats()
        yield GaugeMetricFamily(
            "teambot_db_pool_size", "Connections open in the pool", stats.get("pool_size", 0)
        )
        yield GaugeMetricFamily(
            "teambot_db_pool_available",
            "Idle connections in the pool",
            stats.get("pool_available", 0),
        )
        yield GaugeMetricFamily(
            "teambot_db_pool_max", "Connections the pool may open", stats.get("pool_max", 0)
        )
        yield GaugeMetricFamily(
            "teambot_db_pool_waiting",
            "Units of work waiting for a connection",
            stats.get("requests_waiting", 0),
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._samplers: list[Callable[[], None]] = []
        r = self.registry
        self.updates_received = Counter(
            "teambot_updates_received", "Updates fetched from Telegram", registry=r
        )
        self.updates_handled = Counter(
            "teambot_updates_handled", "Updates handled to the end", registry=r
        )
        self.updates_throttled = Counter(
            "teambot_updates_throttled", "Updates dropped by the per-user rate limit", registry=r
        )
        self.leader = Gauge(
            "teambot_leader",
            "1 while this instance leads (takes updates, sends, runs the jobs); 0 standing by",
            registry=r,
        )
        self.inbox_oldest_age = Gauge(
            "teambot_inbox_oldest_age_seconds",
            "Webhook mode, on the leader: how long the oldest stored update not yet taken up"
            " has waited in the inbox",
            registry=r,
        )
        self.webhook_requests = Counter(
            "teambot_webhook_requests",
            "POSTs to the webhook by outcome: stored, again (stored or handled before),"
            " unavailable (503: the database is away), refused (401), malformed (400)",
            ["outcome"],
            registry=r,
        )
        self.throttle_store_failures = Counter(
            "teambot_throttle_store_failures",
            "Hits the shared throttle store did not answer (those updates were let through)",
            registry=r,
        )
        self.updates_read_again = Counter(
            "teambot_updates_read_again",
            "Updates handled again: their first read, made ahead for many at once, was out of"
            " date by their transaction's BEGIN",
            registry=r,
        )
        self.updates_failed = Counter(
            "teambot_updates_failed", "Updates whose handler raised (bug, not outage)", registry=r
        )
        self.handling_seconds = Histogram(
            "teambot_update_handling_seconds",
            "From fetching an update to finishing it",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.actor_restarts = Counter(
            "teambot_actor_restarts", "Actor restarts by the supervisor", ["actor"], registry=r
        )
        self.bot_api_errors = Counter(
            "teambot_bot_api_errors", "Failed Bot API requests by error code", ["code"], registry=r
        )
        self.messages_sent = Counter(
            "teambot_messages_sent", "Messages sent or edited through the Bot API", registry=r
        )
        self.flood_wait_seconds = Histogram(
            "teambot_flood_wait_seconds",
            "Time an outgoing message waited for its turn under the flood limits",
            ["kind"],  # reply, or background (digests and notices the bot starts itself)
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        for kind in ("reply", "background"):
            self.flood_wait_seconds.labels(kind)
        self.outbox_deferred = Counter(
            "teambot_outbox_deferred",
            "Times the sending of committed messages was left to the outbox sweep (Telegram away)",
            registry=r,
        )
        # set by the samplers when /metrics is scraped (see sample_on_scrape)
        self.updates_in_flight = Gauge(
            "teambot_updates_in_flight",
            "Updates fetched and not yet handled (queued or running)",
            registry=r,
        )
        self.updates_in_flight_limit = Gauge(
            "teambot_updates_in_flight_limit",
            "The poller fetches no more while this many are in flight",
            registry=r,
        )
        self.oldest_update_age = Gauge(
            "teambot_updates_oldest_age_seconds",
            "How long the oldest update in flight has waited since it was fetched",
            registry=r,
        )
        self.poller_running = Gauge(
            "teambot_poller_running", "1 while the update poller runs", registry=r
        )
        self.poller_progress_age = Gauge(
            "teambot_poller_progress_age_seconds",
            "Seconds since the poller last went round its loop",
            registry=r,
        )
        self.ready = Gauge(
            "teambot_ready", "1 when /readyz would answer 200, as of the scrape", registry=r
        )
        self.cleanup_runs = Counter(
            "teambot_cleanup_runs",
            "Cleanup job runs by task and result",
            ["task", "result"],  # not "job": Prometheus' own target label
            registry=r,
        )
        self.cleanup_rows = Counter(
            "teambot_cleanup_rows", "Rows the cleanup jobs changed", ["task"], registry=r
        )
        self.digest_runs = Counter(
            "teambot_digest_runs",
            "Matcher passes over gathered changes by result",
            ["result"],
            registry=r,
        )
        for result in ("ok", "failed"):
            self.digest_runs.labels(result)
        self.digests_sent = Counter(
            "teambot_digests_sent", "'New profiles match you' digests sent", registry=r
        )
        self.broadcast_remaining = Gauge(
            "teambot_broadcast_remaining",
            "People the broadcast being sent has yet to reach (0 when none is sending)",
            registry=r,
        )

    def watch_pool(self, stats: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_PoolCollector(stats))

    def sample_on_scrape(self, sampler: Callable[[], None]) -> None:
        """`sampler` sets gauges just before /metrics renders them. It runs on the event loop
        (it may read anyio's clock), never from `registry.collect()` in another thread."""
        self._samplers.append(sampler)

    def render(self) -> bytes:
        for sampler in self._samplers:
            sampler()
        return generate_latest(self.registry)
