"""The container image: built with podman from the Containerfile, run against a real
PostgreSQL and the fake Bot API (the container shares the host's loopback)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.ops import doc
from tests.ops.tools import (
    BUILD_OPTIONS,
    OFFLINE_BASE,
    PUBLIC_BASE,
    ROOT,
    Forwarder,
    Podman,
    bash,
    build_app_image,
    free_port,
    fresh_database,
    podman_env,
    registry_unreachable,
    version,
    wait_for,
)

pytestmark = pytest.mark.ops

USER_ID = 4242


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    return build_app_image(podman)


@pytest.fixture
def bot(
    podman: Podman, image: str, telegram: FakeTelegram, postgres_server: str, postgres: Forwarder
) -> Iterator[str]:
    """The bot container, run as compose and Quadlet run it (read-only, no capabilities), in
    the host's network namespace: it reaches PostgreSQL and the Bot API on 127.0.0.1."""
    conninfo = postgres.conninfo(fresh_database(postgres_server))
    options = [
        "--network=host",
        "--read-only",
        "--cap-drop=all",
        "--security-opt=no-new-privileges",
        "-e",
        f"BOT_TOKEN={telegram.token}",
        "-e",
        f"TELEGRAM_API_URL={telegram.api_url}",
        "-e",
        f"DATABASE_URL={conninfo}",
        "-e",
        f"HTTP_PORT={free_port()}",
        "-e",
        "POLL_TIMEOUT_SECONDS=2",
        "-e",
        "DB_POOL_MIN_SIZE=2",
    ]
    with podman.container(image, options) as name:
        yield name


def test_builds_from_the_public_default_base(podman: Podman, tmp_path: Path) -> None:
    """deploy.md's build command as a user runs it in a checkout: no build arguments, the
    base pulled from its registry. Everywhere else the tests build on OFFLINE_BASE."""
    unreachable = registry_unreachable(PUBLIC_BASE)
    if unreachable:
        pytest.skip(
            f"no image registry reachable ({unreachable}): the Containerfile is built with "
            f"--build-arg BASE_IMAGE={OFFLINE_BASE} instead (the other tests here)"
        )
    checkout = tmp_path / "teambot"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(".git", ".venv", "data"))
    build = doc.block("image-build", replace={"podman build ": f"podman build {BUILD_OPTIONS} "})
    bash(build, cwd=checkout, env=podman_env(), timeout=900, what="image-build")
    out = podman("run", "--rm", "localhost/teambot:latest", "--version").stdout.split()
    assert out == ["teambot", version()], out


def test_image_metadata(podman: Podman, image: str) -> None:
    [info] = json.loads(podman("image", "inspect", image).stdout)
    cfg = info["Config"]
    user = cfg["User"].split(":")[0]
    assert user not in ("", "0", "root"), cfg["User"]
    # podman keeps it beside the OCI config (docker format only: hence --format docker)
    assert info["Healthcheck"]["Test"] == ["CMD", "teambot", "healthcheck"]
    assert cfg["StopSignal"] == "SIGTERM"
    assert cfg["Entrypoint"] == ["teambot"] and cfg["Cmd"] == ["run"]
    assert cfg["Env"] and any(e == "HTTP_HOST=127.0.0.1" for e in cfg["Env"])
    labels = cfg["Labels"]
    assert labels["org.opencontainers.image.version"] == version()
    for key in ("title", "description", "source", "licenses"):
        assert labels[f"org.opencontainers.image.{key}"], key


def test_image_has_no_compiler_and_runs_as_non_root(podman: Podman, image: str) -> None:
    script = (
        "id -u; for t in gcc cc c++ g++ clang make ld as; do command -v $t; done; "
        "ls /usr/bin | grep -E '^(x86_64-linux-gnu-)?gcc' || true; teambot --version"
    )
    out = podman("run", "--rm", "--entrypoint", "sh", image, "-c", script).stdout.split()
    assert out[0] != "0", out
    assert out[1:] == ["teambot", version()], f"build tools in the final image: {out[1:-2]}"


def test_answers_start_and_stops_cleanly(podman: Podman, bot: str, telegram: FakeTelegram) -> None:
    telegram.send_text(USER_ID, "/start")
    try:
        telegram.wait_until_sync(
            lambda: bool(telegram.messages(USER_ID)), timeout=60, what="an answer to /start"
        )
    except AssertionError:
        raise AssertionError(podman("logs", bot, check=False).stderr[-3000:]) from None
    podman("stop", "-t", "20", bot, timeout=40)
    state = podman.inspect(bot, "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}")
    assert state == "exited 0 false", (state, podman("logs", bot, check=False).stderr[-3000:])


def test_healthcheck_turns_healthy(podman: Podman, bot: str) -> None:
    def healthy() -> bool:
        return podman("healthcheck", "run", bot, check=False).returncode == 0

    try:
        wait_for(healthy, timeout=60, what="podman healthcheck run to pass", interval=1)
    except AssertionError:
        out = podman("exec", bot, "teambot", "healthcheck", check=False)
        logs = podman("logs", bot, check=False).stderr[-3000:]
        raise AssertionError(f"{out.stdout}{out.stderr}\n{logs}") from None
    assert podman.inspect(bot, "{{.State.Health.Status}}") == "healthy"
