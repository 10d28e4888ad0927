"""The deployment files, checked by the tools that consume them, without running anything."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.ops import doc
from tests.ops.tools import (
    COMPOSE_TRIXIE,
    PUBLIC_BASE,
    ROOT,
    bash,
    podman_env,
    run,
    tool,
    unavailable,
)

pytestmark = pytest.mark.ops

UNIT = ROOT / "systemd" / "teambot.service"
BACKUP_UNITS = ("teambot-backup.service", "teambot-backup.timer", "teambot-backup-podman.service")
QUADLET_DIR = ROOT / "deploy" / "quadlet"
SYSTEM_PYTHON = "/usr/bin/python3"


def test_unit_security_score_is_at_most_1_1() -> None:
    analyze = tool("systemd-analyze")
    result = run([analyze, "security", "--offline=true", "--threshold=11", str(UNIT)], check=False)
    score = re.search(r"Overall exposure level for teambot\.service: (\d+\.\d+)", result.stdout)
    assert score is not None, result.stdout + result.stderr
    print(f"systemd-analyze security: {score.group(1)}")
    assert float(score.group(1)) <= 1.1, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr  # unknown keys and bad values show up here


def test_backup_unit_security_score_is_at_most_1_2() -> None:
    analyze = tool("systemd-analyze")
    unit = ROOT / "systemd" / "teambot-backup.service"
    result = run([analyze, "security", "--offline=true", "--threshold=12", str(unit)], check=False)
    assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr


def _skeleton_root(tmp_path: Path) -> Path:
    """A --root for systemd-analyze verify: the ExecStart binaries where deploy.md installs
    them, the env file, the targets."""
    root = tmp_path / "root"
    venv_bin = root / "opt/teambot/venv/bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "teambot").write_text("#!/bin/sh\n")
    (venv_bin / "teambot").chmod(0o755)
    sbin = root / "usr/local/sbin"
    sbin.mkdir(parents=True)
    for script in (ROOT / "deploy" / "backup").iterdir():
        shutil.copy(script, sbin / script.name)
    (root / "etc/teambot").mkdir(parents=True)
    (root / "etc/teambot/teambot.env").write_text("BOT_TOKEN=123456:" + "A" * 30 + "\n")
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in (ROOT / "systemd").iterdir():
        shutil.copy(unit, units / unit.name)
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


@pytest.mark.parametrize("unit", ["teambot.service", "teambot@1.service", *BACKUP_UNITS])
def test_unit_verifies_cleanly(tmp_path: Path, unit: str) -> None:
    analyze = tool("systemd-analyze")
    root = _skeleton_root(tmp_path)
    result = run([analyze, "verify", "--man=no", f"--root={root}", unit], check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_backup_timer_runs_the_backup_nightly_and_catches_up() -> None:
    text = (ROOT / "systemd" / "teambot-backup.timer").read_text()
    for line in ("OnCalendar=*-*-* 03:15:00", "Persistent=true", "WantedBy=timers.target"):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    for name in ("teambot-backup.service", "teambot-backup-podman.service"):
        service = (ROOT / "systemd" / name).read_text()
        assert "Type=oneshot" in service and "StateDirectory=teambot-backup" in service
        assert re.search(
            r"^ExecStart=/usr/local/sbin/teambot-backup /var/lib/teambot-backup \$\{KEEP_DAYS\}",
            service,
            re.MULTILINE,
        ), name


def test_shell_scripts_are_shellcheck_clean() -> None:
    shellcheck = tool("shellcheck")
    scripts = [*sorted((ROOT / "deploy" / "backup").iterdir()), ROOT / "tests/ops/setup.sh"]
    result = run([shellcheck, *map(str, scripts), str(ROOT / ".ci" / "run")], check=False)
    assert result.returncode == 0, result.stdout


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


@pytest.fixture
def compose_project(tmp_path: Path) -> Path:
    """compose.yaml with the env files deploy.md's block writes next to it."""
    project = tmp_path / "teambot"
    project.mkdir()
    shutil.copy(ROOT / "compose.yaml", project / "compose.yaml")
    shutil.copy(ROOT / "compose.standby.yaml", project / "compose.standby.yaml")
    bash(doc.block("compose-env-files"), cwd=project, stdin="123456:" + "A" * 35 + "\n")
    return project


def test_compose_env_files_are_private_and_consistent(compose_project: Path) -> None:
    db = dict(line.split("=", 1) for line in (compose_project / "db.env").read_text().splitlines())
    bot = dict(
        line.split("=", 1) for line in (compose_project / "teambot.env").read_text().splitlines()
    )
    for path in ("db.env", "teambot.env"):
        assert oct((compose_project / path).stat().st_mode & 0o777) == "0o600", path
    assert bot["BOT_TOKEN"] == "123456:" + "A" * 35
    password = db["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", password), password  # URL-safe as it is
    assert bot["DATABASE_URL"] == f"postgresql://teambot:{password}@db:5432/teambot"
    assert (db["POSTGRES_USER"], db["POSTGRES_DB"]) == ("teambot", "teambot")


def test_compose_validates_with_docker_compose(compose_project: Path) -> None:
    compose = tool("docker-compose")
    file = str(compose_project / "compose.yaml")
    run([compose, "-f", file, "config", "-q"])
    config = json.loads(run([compose, "-f", file, "config", "--format", "json"]).stdout)
    db, bot = config["services"]["db"], config["services"]["bot"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert (db["container_name"], bot["container_name"]) == ("teambot-db", "teambot")
    assert bot["restart"] == db["restart"] == "always"  # what podman-restart.service starts
    assert "pgdata" in config["volumes"]
    assert any(v["source"] == "pgdata" for v in db["volumes"])


def test_debian_12_podman_compose_runs_what_the_file_says(compose_project: Path) -> None:
    """podman-compose 1.0.3 (Debian 12): the podman commands `up` would run."""
    compose = tool("podman-compose")
    file = str(compose_project / "compose.yaml")
    up = [compose, "-f", file, "--dry-run", "up", "-d", "--no-build"]  # deploy.md builds first
    out = run(up, env=podman_env(), timeout=60).stdout
    runs = {match[1]: match[0] for match in re.finditer(r"^podman run --name=(\S+) .*$", out, re.M)}
    assert set(runs) == {"teambot-db", "teambot"}, out
    db, bot = runs["teambot-db"], runs["teambot"]
    assert f"--env-file {compose_project}/db.env" in db
    assert f"--env-file {compose_project}/teambot.env" in bot
    assert "--network-alias db" in db and "--restart always" in db
    assert "--healthcheck-command /bin/sh -c 'pg_isready" in db
    for arg in ("--read-only", "--cap-drop ALL", "--restart always", "--stop-signal SIGTERM"):
        assert arg in bot, (arg, bot)
    assert db.endswith(" docker.io/library/postgres:17-bookworm")
    assert bot.endswith(" localhost/teambot:latest")


def test_podman_compose_with_the_standby_runs_two_bots_on_one_database(
    compose_project: Path,
) -> None:
    """compose.standby.yaml on top (deploy.md section 9): docker-compose validates the pair,
    and podman-compose 1.0.3 would run a second bot like the first."""
    files = ["-f", str(compose_project / "compose.yaml")]
    files += ["-f", str(compose_project / "compose.standby.yaml")]
    run([tool("docker-compose"), *files, "config", "-q"])
    up = [tool("podman-compose"), *files, "--dry-run", "up", "-d", "--no-build"]
    out = run(up, env=podman_env(), timeout=60).stdout
    runs = {match[1]: match[0] for match in re.finditer(r"^podman run --name=(\S+) .*$", out, re.M)}
    assert set(runs) == {"teambot-db", "teambot", "teambot-standby"}, out
    standby = runs["teambot-standby"]
    assert f"--env-file {compose_project}/teambot.env" in standby
    for arg in ("--read-only", "--cap-drop ALL", "--restart always", "--stop-signal SIGTERM"):
        assert arg in standby, (arg, standby)
    assert standby.endswith(" localhost/teambot:latest")


def test_compose_with_redis_gives_both_bots_one_throttle_store(compose_project: Path) -> None:
    """compose.redis.yaml on top of the pair (deploy.md section 9): docker-compose validates
    the three, and podman-compose 1.0.3 would run Redis and point both bots at it."""
    shutil.copy(ROOT / "compose.redis.yaml", compose_project / "compose.redis.yaml")
    files = []
    for name in ("compose.yaml", "compose.standby.yaml", "compose.redis.yaml"):
        files += ["-f", str(compose_project / name)]
    config = json.loads(run([tool("docker-compose"), *files, "config", "--format", "json"]).stdout)
    services = config["services"]
    for bot in ("bot", "bot-standby"):
        environment = services[bot]["environment"]
        assert environment["RATE_LIMIT_STORAGE_URI"] == "redis://teambot-redis:6379/0"
    assert services["redis"]["read_only"] is True
    up = [tool("podman-compose"), *files, "--dry-run", "up", "-d", "--no-build"]
    out = run(up, env=podman_env(), timeout=60).stdout
    runs = {match[1]: match[0] for match in re.finditer(r"^podman run --name=(\S+) .*$", out, re.M)}
    assert set(runs) == {"teambot-db", "teambot", "teambot-standby", "teambot-redis"}, out
    for bot in ("teambot", "teambot-standby"):
        assert "-e RATE_LIMIT_STORAGE_URI=redis://teambot-redis:6379/0" in runs[bot], runs[bot]


def test_debian_13_podman_compose_reads_the_file(compose_project: Path) -> None:
    """podman-compose 1.3.0 (Debian 13) parses it to the same services."""
    # Debian's python3 has podman-compose's dependencies (python3-yaml, python3-dotenv)
    if not (COMPOSE_TRIXIE / "podman_compose.py").exists():
        unavailable("podman-compose 1.3.0 has not been extracted")
    env = {**podman_env(), "PYTHONPATH": str(COMPOSE_TRIXIE)}
    version = run([SYSTEM_PYTHON, "-m", "podman_compose", "version"], env=env).stdout
    assert "podman-compose version 1.3.0" in version, version
    file = str(compose_project / "compose.yaml")
    out = run(
        [SYSTEM_PYTHON, "-m", "podman_compose", "-f", file, "config"], env=env, timeout=60
    ).stdout
    assert "container_name: teambot-db" in out and "container_name: teambot" in out, out
    assert "- teambot.env" in out and "- db.env" in out, out


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


def test_every_deploy_md_shell_block_is_run_or_says_why_not() -> None:
    tested, untested = doc.parse(doc.DEPLOY_MD.read_text())
    assert set(tested) == set(doc.RUN_BY), set(tested) ^ set(doc.RUN_BY)
    assert all(why.strip() for why, _ in untested)


def test_deploy_md_shell_blocks_are_shellcheck_clean(tmp_path: Path) -> None:
    shellcheck = tool("shellcheck")
    tested, untested = doc.parse(doc.DEPLOY_MD.read_text())
    blocks = {**tested, **{f"untested-{i}": body for i, (_, body) in enumerate(untested)}}
    for name, body in blocks.items():
        (tmp_path / f"{name}.sh").write_text("#!/bin/bash\n" + body)
    # SC1091: the env file sourced in a subshell is not there to follow
    result = run(
        [shellcheck, "--exclude=SC1091", *sorted(map(str, tmp_path.glob("*.sh")))], check=False
    )
    assert result.returncode == 0, result.stdout


def _exec_start(unit: str) -> str:
    match = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    assert match is not None, unit
    return match.group(1)


def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = tool("promtool")
    rules_file = ROOT / "deploy/prometheus/alerts.yml"
    checked = run([promtool, "check", "rules", str(rules_file)])
    alerts = re.findall(r"^\s+- alert: (\w+)$", rules_file.read_text(), re.MULTILINE)
    assert f"SUCCESS: {len(alerts)} rules found" in checked.stdout, checked.stdout
    # and the operator's table in docs/deploy.md lists each of them
    table = (ROOT / "docs/deploy.md").read_text()
    listed = re.findall(r"^\| `(Teambot\w+)` \|", table, re.MULTILINE)
    assert sorted(listed) == sorted(alerts)
    # each alert fires on the series that should raise it and stays quiet on healthy ones
    tested = run([promtool, "test", "rules", str(ROOT / "tests/ops/alerts_test.yml")])
    assert "SUCCESS" in tested.stdout, tested.stdout
