"""docs/deploy.md's compose path, run as written on this Debian 12 host with the podman
(4.3.1) and podman-compose (1.0.3) that Debian 12's apt installs: env files, `up`, the
podman backup unit's command, a restore, an upgrade to a newer image with one more
migration, and the rollback from it, with the bot answering the fake Bot API after each.

What differs from a real host, and why: no image registry is reachable here, so the
document's `podman build` is replaced by the image the other tests build on the offline
base (and, for the upgrade, that image with another version and a migration), and
PostgreSQL's image by a stand-in built from docker-library/postgres's recipe
(tests/ops/postgres-image); where a registry answers, the real ones are used. The fake Bot
API is reached through host.containers.internal; the scripts run from the checkout instead
of /usr/local/sbin, and the dumps go to a temporary directory instead of /var/lib.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.ops import doc
from tests.ops.tools import (
    APP_IMAGE,
    BUILD_OPTIONS,
    PUBLIC_BASE,
    ROOT,
    Podman,
    Relay,
    bash,
    build_app_image,
    podman_env,
    registry_unreachable,
    tool,
    version,
    wait_for,
)

pytestmark = pytest.mark.ops

POSTGRES_IMAGE = "docker.io/library/postgres:17-bookworm"
STANDIN = "localhost/teambot-postgres-standin:bookworm"
BOT_IMAGE = "localhost/teambot:latest"
USER_ID = 4545
BUILD_LINE = "podman build --format docker -t localhost/teambot:latest ."
NEXT_IMAGE = "localhost/teambot:ops-test-next"
NEXT_VERSION = "9.9.9"
NEXT_MIGRATION = "9999_ops_test_upgrade"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A checkout, in a directory named like one (podman-compose names the project after
    it: volume teambot_pgdata, network teambot_backend)."""
    checkout = tmp_path / "teambot"
    checkout.mkdir()
    for name in ("compose.yaml", "Containerfile", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    for name in ("teambot", "deploy", "systemd"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    return checkout


@pytest.fixture
def stack(podman: Podman, project: Path) -> Iterator[dict[str, str]]:
    """The images compose.yaml names, and everything compose creates removed afterwards."""
    tool("podman-compose")
    env = podman_env()

    def clean() -> None:
        podman("rm", "-f", "-t", "0", "teambot", "teambot-db", check=False)
        podman("volume", "rm", "-f", "teambot_pgdata", check=False)
        podman("network", "rm", "-f", "teambot_backend", check=False)

    clean()
    podman("tag", build_app_image(podman), BOT_IMAGE)
    if registry_unreachable(POSTGRES_IMAGE) is None:
        podman("pull", POSTGRES_IMAGE, timeout=300)
    else:
        podman("tag", STANDIN, POSTGRES_IMAGE)
    try:
        yield env
    finally:
        clean()
        for tag in (BOT_IMAGE, "localhost/teambot:previous", POSTGRES_IMAGE, NEXT_IMAGE):
            podman("untag", tag, tag, check=False)  # this name only


def _answers(telegram: FakeTelegram, text: str, podman: Podman, timeout: float = 120) -> None:
    before = len(telegram.messages(USER_ID))
    telegram.send_text(USER_ID, text)
    try:
        telegram.wait_until_sync(
            lambda: len(telegram.messages(USER_ID)) > before,
            timeout=timeout,
            what=f"an answer to {text}",
        )
    except AssertionError:
        logs = podman("logs", "teambot", check=False)
        raise AssertionError((logs.stdout + logs.stderr)[-3000:]) from None


def _users(podman: Podman) -> str:
    return podman(
        "exec",
        "teambot-db",
        "psql",
        "-U",
        "teambot",
        "-d",
        "teambot",
        "-At",
        "-c",
        "select id, first_name, language, registered_at from users order by id",
    ).stdout


def test_compose_deployment_as_documented(
    podman: Podman, stack: dict[str, str], project: Path, telegram: FakeTelegram, tmp_path: Path
) -> None:
    relay = Relay(telegram.port)
    try:
        _deploy(podman, stack, project, telegram, tmp_path, relay)
    finally:
        relay.close()


def _deploy(
    podman: Podman,
    env: dict[str, str],
    project: Path,
    telegram: FakeTelegram,
    tmp_path: Path,
    relay: Relay,
) -> None:
    bash(doc.block("compose-env-files"), cwd=project, stdin=telegram.token + "\n")
    with (project / "teambot.env").open("a") as env_file:  # the fake Bot API, quick polls
        env_file.write(
            f"TELEGRAM_API_URL=http://host.containers.internal:{relay.port}\n"
            "POLL_TIMEOUT_SECONDS=2\n"
        )

    out = bash(doc.block("compose-up"), cwd=project, env=env, timeout=300, what="compose-up")
    assert "teambot-db" in out, out
    _answers(telegram, "/start", podman)
    for name in ("teambot", "teambot-db"):
        policy = podman.inspect(name, "{{.HostConfig.RestartPolicy.Name}}")
        assert policy == "always", (name, policy)  # what podman-restart.service starts
    for name in ("teambot-db", "teambot"):  # the database's compose check, the image's own
        wait_for(
            lambda name=name: podman("healthcheck", "run", name, check=False).returncode == 0,
            timeout=90,
            what=f"{name} to turn healthy",
            interval=2,
        )

    # the nightly backup: the podman unit's ExecStart
    unit = (ROOT / "systemd" / "teambot-backup-podman.service").read_text()
    [exec_start] = re.findall(r"^ExecStart=(.*)$", unit, re.MULTILINE)
    backups = tmp_path / "backups"
    backups.mkdir()
    command = (
        exec_start.replace(
            "/usr/local/sbin/teambot-backup", str(ROOT / "deploy/backup/teambot-backup")
        )
        .replace("/var/lib/teambot-backup", str(backups))
        .replace("${KEEP_DAYS}", "14")
    )
    assert "wrote" in bash(command, cwd=project, env=env, what="the backup unit's command")
    [dump] = list(backups.glob("teambot-*.dump"))
    assert dump.read_bytes()[:5] == b"PGDMP"

    # lose data, restore it as deploy.md says, and the bot carries on
    saved = _users(podman)
    assert str(USER_ID) in saved, saved
    podman("exec", "teambot-db", "psql", "-U", "teambot", "-d", "teambot", "-c",
           "update users set first_name = 'lost'")  # fmt: skip
    restore = doc.block(
        "compose-restore",
        replace={
            "/usr/local/sbin/teambot-restore": str(ROOT / "deploy/backup/teambot-restore"),
            "/var/lib/teambot-backup/": f"{backups}/",
        },
    )
    out = bash(restore, cwd=project, env=env, what="compose-restore")
    assert "teambot restored" in out, out
    assert _users(podman) == saved
    _answers(telegram, "/help", podman)

    # an upgrade to a newer image with one more migration, and the rollback from it
    if registry_unreachable(PUBLIC_BASE):
        build = f"podman tag {_next_image(podman, tmp_path)} localhost/teambot:latest"
    else:  # the document's build, on this checkout: the same version, rebuilt
        build = BUILD_LINE.replace("podman build ", f"podman build {BUILD_OPTIONS} ")
    bash(
        doc.block("compose-upgrade", replace={BUILD_LINE: build}),
        cwd=project,
        env=env,
        timeout=600,
        what="compose-upgrade",
    )
    assert (project / "teambot-before-upgrade.dump").read_bytes()[:5] == b"PGDMP"
    _answers(telegram, "/help", podman)
    assert _users(podman) == saved  # the volume outlived the recreated containers
    if registry_unreachable(PUBLIC_BASE):
        assert _version(podman) == NEXT_VERSION
        assert NEXT_MIGRATION in _migrations(podman)  # applied by `run --rm bot migrate`

    bash(doc.block("compose-rollback"), cwd=project, env=env, timeout=300, what="rollback")
    _answers(telegram, "/help", podman)
    assert _users(podman) == saved
    assert _version(podman) == version()


def _next_image(podman: Podman, tmp_path: Path) -> str:
    """The image as a newer release: another version, one more migration."""
    context = tmp_path / "next-image"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {APP_IMAGE}\n"
        "USER root\n"
        "RUN package=$(python3 -c 'import os, teambot; print(os.path.dirname(teambot.__file__))')"
        f" && echo 'create table ops_test_upgrade (id integer);'"
        f" >$package/data/migrations/{NEXT_MIGRATION}.sql"
        f" && sed -i 's/^__version__ = .*/__version__ = \"{NEXT_VERSION}\"/' $package/__init__.py\n"
        "USER 10001:10001\n"
    )
    podman.build(NEXT_IMAGE, context / "Containerfile", context)
    return NEXT_IMAGE


def _version(podman: Podman) -> str:
    return podman("exec", "teambot", "teambot", "--version").stdout.split()[-1]


def _migrations(podman: Podman) -> str:
    return podman(
        "exec", "teambot-db", "psql", "-U", "teambot", "-d", "teambot", "-At", "-c",
        "select version from schema_migrations",
    ).stdout  # fmt: skip
