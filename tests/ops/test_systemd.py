"""systemd/teambot.service under a real systemd (PID 1 in a podman container), with the
project installed in /opt/teambot/venv: READY, a clean stop, a watchdog restart."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.ops.tools import (
    ROOT,
    SYSTEMD_BASE,
    Forwarder,
    Podman,
    build_app_image,
    free_port,
    fresh_database,
    wait_for,
)

pytestmark = pytest.mark.ops

IMAGE = "localhost/teambot-systemd:ops-test"
USER_ID = 4343


@pytest.fixture(scope="module")
def image(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> str:
    """systemd + the venv from the app image (same base, same /usr/bin/python3) + the unit."""
    app = build_app_image(podman)
    context = tmp_path_factory.mktemp("systemd-image")
    shutil.copy(ROOT / "systemd" / "teambot.service", context / "teambot.service")
    (context / "Containerfile").write_text(
        f"FROM {SYSTEMD_BASE}\n"
        f"COPY --from={app} /opt/teambot/venv /opt/teambot/venv\n"
        "COPY teambot.service /etc/systemd/system/teambot.service\n"
    )
    podman.build(IMAGE, context / "Containerfile", context)
    return IMAGE


class Machine:
    """A container running systemd as PID 1."""

    def __init__(self, podman: Podman, name: str) -> None:
        self.podman = podman
        self.name = name

    def sh(self, command: str, *, check: bool = True, timeout: float = 60) -> str:
        result = self.podman("exec", self.name, "sh", "-c", command, check=check, timeout=timeout)
        return result.stdout.strip()

    def show(self, *props: str) -> dict[str, str]:
        out = self.sh(f"systemctl show teambot.service -p {','.join(props)}")
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self) -> str:
        return self.sh("journalctl -u teambot.service --no-pager -o cat | tail -n 60", check=False)


@pytest.fixture
def machine(
    podman: Podman,
    image: str,
    telegram: FakeTelegram,
    postgres: Forwarder,
    postgres_server: str,
    tmp_path: Path,
) -> Iterator[Machine]:
    etc = tmp_path / "etc-teambot"
    etc.mkdir()
    # DATABASE_URL over the unix socket, as on a host with a local PostgreSQL
    conninfo = postgres.conninfo(fresh_database(postgres_server), host="/run/postgresql")
    env = etc / "teambot.env"
    env.write_text(
        f"BOT_TOKEN={telegram.token}\n"
        f"TELEGRAM_API_URL={telegram.api_url}\n"
        f"DATABASE_URL={conninfo}\n"
        f"HTTP_PORT={free_port()}\n"
        "POLL_TIMEOUT_SECONDS=2\n"
        "DB_POOL_MIN_SIZE=2\n"
    )
    env.chmod(0o600)
    options = [
        "--systemd=always",
        "--network=host",
        "-v",
        f"{postgres.socket_dir}:/run/postgresql:ro",
        "-v",
        f"{etc}:/etc/teambot:ro",
    ]
    with podman.container(image, options, ["/sbin/init"]) as name:
        box = Machine(podman, name)

        def booted() -> bool:
            state = box.sh("systemctl is-system-running", check=False)
            return state in ("running", "degraded")

        wait_for(booted, timeout=60, what="systemd to boot in the container")
        yield box


def test_ready_answers_and_stops_cleanly(machine: Machine, telegram: FakeTelegram) -> None:
    # Type=notify: `systemctl start` returns once teambot sent READY=1
    start = machine.podman(
        "exec", machine.name, "systemctl", "start", "teambot.service", check=False, timeout=120
    )
    assert start.returncode == 0, start.stderr + machine.journal()
    state = machine.show("ActiveState", "SubState", "StatusText", "User")
    assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
    assert state["StatusText"], "no STATUS= from teambot"
    # the sandbox is really applied: a dynamic user, no new privileges, a seccomp filter
    pid = machine.show("MainPID")["MainPID"]
    status = dict(
        (line.split(":", 1)[0], line.split(":", 1)[1].split())
        for line in machine.sh(f"cat /proc/{pid}/status").splitlines()
    )
    assert status["Uid"][0] != "0" and status["NoNewPrivs"] == ["1"], status
    assert status["Seccomp"] == ["2"] and status["CapEff"] == ["0000000000000000"], status

    telegram.send_text(USER_ID, "/start")
    try:
        telegram.wait_until_sync(
            lambda: bool(telegram.messages(USER_ID)), timeout=60, what="an answer to /start"
        )
    except AssertionError:
        raise AssertionError(machine.journal()) from None

    machine.sh("systemctl stop teambot.service", timeout=60)
    state = machine.show("ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    assert state["ActiveState"] == "inactive", state
    assert state["Result"] == "success", (state, machine.journal())
    assert state["ExecMainStatus"] == "0", (state, machine.journal())


def test_watchdog_restarts_a_stuck_process(machine: Machine) -> None:
    machine.sh(
        "mkdir -p /etc/systemd/system/teambot.service.d && printf '%s\\n' '[Service]' "
        "WatchdogSec=3 RestartSec=1 TimeoutAbortSec=5 "
        "> /etc/systemd/system/teambot.service.d/ops-test.conf && systemctl daemon-reload"
    )
    machine.sh("systemctl start teambot.service", timeout=120)
    first = machine.show("MainPID", "WatchdogUSec", "ActiveState")
    assert first["WatchdogUSec"] == "3s" and first["ActiveState"] == "active", first

    # healthy: the pings keep it alive well past WatchdogSec
    time.sleep(7)
    state = machine.show("MainPID", "NRestarts")
    assert (state["MainPID"], state["NRestarts"]) == (first["MainPID"], "0"), machine.journal()

    machine.sh(f"kill -STOP {first['MainPID']}")
    seen: set[str] = set()

    def restarted() -> bool:
        state = machine.show("MainPID", "NRestarts", "Result", "SubState")
        seen.add(state["Result"])
        return (
            int(state["NRestarts"]) >= 1
            and state["SubState"] == "running"
            and state["MainPID"] not in ("0", first["MainPID"])
        )

    wait_for(restarted, timeout=40, what="systemd to restart the stuck teambot", interval=0.5)
    journal = machine.journal()
    assert "watchdog" in seen or re.search(r"[Ww]atchdog timeout", journal), (seen, journal)
