"""The deployment files, checked by the tools that consume them, without running anything."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.ops.tools import PUBLIC_BASE, ROOT, run, tool, unavailable

pytestmark = pytest.mark.ops

UNIT = ROOT / "systemd" / "teambot.service"
QUADLET_DIR = ROOT / "deploy" / "quadlet"


def test_unit_security_score_is_at_most_1_1() -> None:
    analyze = tool("systemd-analyze")
    result = run([analyze, "security", "--offline=true", "--threshold=11", str(UNIT)], check=False)
    score = re.search(r"Overall exposure level for teambot\.service: (\d+\.\d+)", result.stdout)
    assert score is not None, result.stdout + result.stderr
    print(f"systemd-analyze security: {score.group(1)}")
    assert float(score.group(1)) <= 1.1, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr  # unknown keys and bad values show up here


def _skeleton_root(tmp_path: Path) -> Path:
    """A --root for systemd-analyze verify: the ExecStart binary, the env file, the targets."""
    root = tmp_path / "root"
    venv_bin = root / "opt/teambot/venv/bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "teambot").write_text("#!/bin/sh\n")
    (venv_bin / "teambot").chmod(0o755)
    (root / "etc/teambot").mkdir(parents=True)
    (root / "etc/teambot/teambot.env").write_text("BOT_TOKEN=123456:" + "A" * 30 + "\n")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(UNIT, units / UNIT.name)
    system = root / "usr/lib/systemd/system"
    system.mkdir(parents=True)
    host_units = next(
        (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
        None,
    )
    if host_units is None:
        unavailable("no systemd unit directory (apt-get install systemd)")
        raise AssertionError("unreachable")
    for unit in [*host_units.glob("*.target"), *host_units.glob("*.slice")]:
        if unit.is_file():
            shutil.copy(unit, system / unit.name)
    return root


def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    root = _skeleton_root(tmp_path)
    result = run([analyze, "verify", "--man=no", f"--root={root}", "teambot.service"], check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_unit_has_the_operational_settings() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=30",
        "Restart=on-failure",
        "RestartSec=5",
        "EnvironmentFile=/etc/teambot/teambot.env",
        "StateDirectory=teambot",
        "DynamicUser=yes",
        "TimeoutStopSec=20",
        "ExecStart=/opt/teambot/venv/bin/teambot run",
        "KillSignal=SIGTERM",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line


def test_containerfile_is_hadolint_clean() -> None:
    hadolint = tool("hadolint")
    containerfile = str(ROOT / "Containerfile")
    result = run([hadolint, "--failure-threshold", "info", containerfile], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_shape() -> None:
    text = (ROOT / "Containerfile").read_text()
    # `podman build .` in a fresh checkout pulls a public image; the tests pass OFFLINE_BASE
    assert re.search(rf"^ARG BASE_IMAGE={re.escape(PUBLIC_BASE)}$", text, re.MULTILINE)
    stages = re.findall(r"^FROM (.+)$", text, re.MULTILINE)
    assert stages == ["${BASE_IMAGE} AS runtime", "runtime AS builder", "runtime"], stages
    assert re.search(r'^HEALTHCHECK .*\n?.*CMD \["teambot", "healthcheck"\]', text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \["teambot"\]$', text, re.MULTILINE)
    assert re.search(r'^CMD \["run"\]$', text, re.MULTILINE)
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.MULTILINE)
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    for label in ("title", "description", "source", "licenses", "version"):
        assert f"org.opencontainers.image.{label}=" in text, label


def test_compose_validates() -> None:
    compose = tool("docker-compose")
    run([compose, "-f", str(ROOT / "compose.yaml"), "config", "-q"])
    config = json.loads(
        run([compose, "-f", str(ROOT / "compose.yaml"), "config", "--format", "json"]).stdout
    )
    db, bot = config["services"]["db"], config["services"]["bot"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["restart"] and db["restart"]
    assert "pgdata" in config["volumes"]
    assert any(v["source"] == "pgdata" for v in db["volumes"])


def test_quadlet_generates_the_units() -> None:
    quadlet = tool("quadlet")
    result = run(
        [quadlet, "-dryrun"],
        env={"QUADLET_UNIT_DIRS": str(QUADLET_DIR), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    units = dict(
        re.findall(r"^---(\S+)---\n(.*?)(?=^---|\Z)", result.stdout, re.MULTILINE | re.DOTALL)
    )
    assert set(units) == {
        "teambot.service",
        "teambot-db.service",
        "teambot-volume.service",
        "teambot-network.service",
    }, result.stdout
    bot = _exec_start(units["teambot.service"])
    assert bot.endswith(" localhost/teambot:latest run"), bot
    for arg in (
        "--network teambot",
        '--health-cmd "teambot healthcheck"',
        "--health-on-failure kill",
        "--sdnotify=healthy",
        "--env-file /etc/teambot/teambot.env",
        "--stop-timeout 20",
        "--read-only",
    ):
        assert arg in bot, (arg, bot)
    assert "Requires=teambot-db.service" in units["teambot.service"]
    db = _exec_start(units["teambot-db.service"])
    for arg in (
        '--health-cmd "pg_isready -U teambot -d teambot"',
        "-v teambot-pgdata:/var/lib/postgresql/data",
        "--sdnotify=healthy",
    ):
        assert arg in db, (arg, db)
    assert "podman volume create --ignore teambot-pgdata" in units["teambot-volume.service"]
    assert "podman network create --ignore teambot" in units["teambot-network.service"]


def _exec_start(unit: str) -> str:
    match = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert match is not None, unit
    return match.group(1)


def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = tool("promtool")
    checked = run([promtool, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")])
    assert "SUCCESS: 12 rules found" in checked.stdout, checked.stdout
    # each alert fires on the series that should raise it and stays quiet on healthy ones
    tested = run([promtool, "test", "rules", str(ROOT / "tests/ops/alerts_test.yml")])
    assert "SUCCESS" in tested.stdout, tested.stdout
