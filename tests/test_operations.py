"""What an operator sees: health endpoints, metrics, `teambot healthcheck`, systemd notify."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest
import yaml

from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram

_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now for a bot process to listen on. Not one the kernel picked: between
    this pick and the bot's bind the kernel could hand the same port to any socket bound to
    port 0 (a fake server of a test running beside: the bot then exits "port in use" and
    the test talks to that server). So a port below the kernel's ephemeral range, in a
    block of its own per xdist worker, never handed out twice by this process."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    first = 20_000 + 500 * worker
    candidates = [p for p in range(first, min(first + 500, low)) if p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # no such block on this host: the kernel's pick
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(url, timeout=10)


def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HTTP_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "teambot", "healthcheck"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.anyio
async def test_health_endpoints_and_metrics(telegram: FakeTelegram, database_url: str) -> None:
    port = free_port()
    settings = make_settings(telegram, database_url, http_port=port)
    base = f"http://127.0.0.1:{port}"
    async with running(settings) as app:
        telegram.send_text(1, "/start")
        await telegram.wait_for_messages(1, 1)
        assert (await get(f"{base}/healthz")).status_code == 200
        ready = await get(f"{base}/readyz")
        assert (ready.status_code, ready.text) == (200, "ok: leader\n")
        result = await anyio.to_thread.run_sync(healthcheck, port)
        assert (result.returncode, result.stdout.strip()) == (0, "healthy")
        metrics = (await get(f"{base}/metrics")).text
        assert "teambot_updates_received_total 1.0" in metrics
        assert "teambot_updates_handled_total 1.0" in metrics
        assert "teambot_messages_sent_total 1.0" in metrics
        assert "teambot_db_pool_size" in metrics

        # the poller stops making progress: liveness and readiness both say so
        # (stale_after, not last_poll: the poller would mark progress while we look)
        app.health.stale_after = -1
        stuck = await get(f"{base}/healthz")
        assert stuck.status_code == 503
        assert "poller made no progress" in stuck.text
        result = await anyio.to_thread.run_sync(healthcheck, port)
        assert result.returncode == 1
        assert result.stdout.startswith("unhealthy: the update poller made no progress")
        app.health.stale_after = 60

        # the database goes away: not ready, but still alive
        dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
        maintenance = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f"alter database {dbname} with allow_connections false")
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (dbname,),
            )
        try:
            not_ready = await get(f"{base}/readyz")
            assert not_ready.status_code == 503
            assert "PostgreSQL does not answer" in not_ready.text
            assert (await get(f"{base}/healthz")).status_code == 200
        finally:
            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f"alter database {dbname} with allow_connections true")


def test_healthcheck_without_a_running_bot_says_so() -> None:
    result = healthcheck(free_port())
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: no answer from http://127.0.0.1:")


def test_systemd_notify_messages_in_order(bot_env: dict[str, str], tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    env = {
        **bot_env,
        "LOG_LEVEL": "INFO",  # stderr is read only at the end
        "DB_POOL_MIN_SIZE": "1",
        "POLL_TIMEOUT_SECONDS": "1",
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "400000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "teambot", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    messages: list[str] = []
    try:
        while "READY=1" not in messages:
            messages.append(sock.recv(4096).decode())
        while messages.count("WATCHDOG=1") < 3:
            messages.append(sock.recv(4096).decode())
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in messages:
            messages.append(sock.recv(4096).decode())
        assert proc.wait(30) == 0
        sock.settimeout(0.5)
        with contextlib.suppress(TimeoutError):
            while True:
                messages.append(sock.recv(4096).decode())
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    statuses = [m for m in messages if m.startswith("STATUS=")]
    assert statuses[:4] == [
        "STATUS=waiting for the database",
        "STATUS=applying database migrations",
        "STATUS=connecting to the Bot API",
        "STATUS=polling for updates",
    ]
    assert messages.index("STATUS=polling for updates") < messages.index("READY=1")
    assert "WATCHDOG=1" in messages[messages.index("READY=1") :]
    assert "STATUS=draining updates in flight" in messages


def test_the_template_unit_is_the_service_unit_run_per_instance() -> None:
    """systemd/teambot@.service (several instances on a host) keeps teambot.service's
    settings and sandbox line for line; only what names an instance differs."""
    systemd = Path(__file__).resolve().parents[1] / "systemd"

    def settings(name: str) -> list[str]:
        text = (systemd / name).read_text()
        return [line for line in text[text.index("[Unit]") :].splitlines() if line.strip()]

    def shared(lines: list[str]) -> list[str]:
        naming = ("Description=", "StateDirectory=", "EnvironmentFile=-")
        return [
            line
            for line in lines
            if not line.startswith(naming) and "journalctl" not in line and "STATE_DIR" not in line
        ]

    single, template = settings("teambot.service"), settings("teambot@.service")
    assert shared(template) == shared(single)
    assert {
        "Description=teambot instance %i, Launch Lab's teammate finder for Telegram",
        "EnvironmentFile=-/etc/teambot/teambot-%i.env",
        "StateDirectory=teambot/%i",
    } <= set(template)


def test_the_standby_compose_service_is_the_bot_service_under_another_name() -> None:
    """compose.standby.yaml's second bot runs exactly as compose.yaml's (same image, env,
    sandbox); only its name differs, and it is not built (the first one's image)."""
    root = Path(__file__).resolve().parents[1]
    bot = yaml.safe_load((root / "compose.yaml").read_text())["services"]["bot"]
    standby = yaml.safe_load((root / "compose.standby.yaml").read_text())["services"]
    assert list(standby) == ["bot-standby"]
    expected = {k: v for k, v in bot.items() if k not in ("container_name", "build")}
    assert {k: v for k, v in standby["bot-standby"].items() if k != "container_name"} == expected
    assert standby["bot-standby"]["container_name"] == "teambot-standby"
