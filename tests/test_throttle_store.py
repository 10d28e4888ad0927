"""The throttle with a shared store (RATE_LIMIT_STORAGE_URI=redis://…), against a real
redis-server (Debian's package) started here: instances that share it count one budget
per user, and a store that stops answering never stops the bot (fail open, said once in
the log, the password never in it).

Without redis-server these tests are skipped, unless TEAMBOT_REQUIRE_REDIS=1 (.ci/run)
makes that a failure."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from loguru import logger

from teambot.actors.pipeline import throttle as throttle_module
from teambot.actors.pipeline.throttle import Throttle
from teambot.config import ConfigError, load_settings
from teambot.metrics import Metrics
from tests.conftest import running
from tests.fake_telegram import FakeTelegram
from tests.test_operations import free_port
from tests.test_throttle import NOTICE, pending, production_settings, settle, throttled_count

pytestmark = pytest.mark.anyio

PASSWORD = "s3cret-redis-pass"


@dataclass
class Redis:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--requirepass", PASSWORD, "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        missing = "redis-server is not installed: apt-get install -y redis-server"
        if os.environ.get("TEAMBOT_REQUIRE_REDIS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    server = Redis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), format="{level} {message}", level="DEBUG")
    yield lines
    logger.remove(sink)


async def test_two_instances_sharing_the_store_count_one_budget_per_user(redis: Redis) -> None:
    first, second = (
        Throttle(messages=3, presses=5, window_seconds=60, metrics=Metrics(), storage_uri=redis.uri)
        for _ in range(2)
    )
    assert first.shared and second.shared
    taken = [t.check(pending(n)).throttled is None for n, t in enumerate([first, second] * 2)]
    assert taken == [True, True, True, False]  # three messages a window, wherever they land
    refused = second.check(pending(10)).throttled
    assert refused is not None and 55 <= refused.seconds_left() <= 60
    # presses have their own budget, and another person has their own
    assert first.check(pending(11, press=True)).throttled is None


async def test_an_unreachable_store_lets_updates_through_says_so_once_and_is_tried_again(
    redis: Redis, log_lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle_module, "STORE_RETRY_SECONDS", 0.3)
    metrics = Metrics()
    throttle = Throttle(
        messages=2, presses=5, window_seconds=60, metrics=metrics, storage_uri=redis.uri
    )
    assert [throttle.check(pending(n)).throttled is None for n in range(3)] == [True, True, False]
    redis.stop()
    started = time.monotonic()
    let_through = [throttle.check(pending(n)).throttled is None for n in range(3, 50)]
    assert all(let_through)  # fail open: the bot goes on answering
    assert time.monotonic() - started < 2  # and waits for the dead store once, not per update
    failed = metrics.registry.get_sample_value("teambot_throttle_store_failures_total")
    assert failed == 1
    warnings = [line for line in log_lines if line.startswith("WARNING")]
    assert len(warnings) == 1 and "does not answer" in warnings[0]
    assert f"127.0.0.1:{redis.port}" in warnings[0]

    redis.start()  # an empty store: the budget starts over
    await anyio.sleep(0.35)
    assert [throttle.check(pending(n)).throttled is None for n in range(50, 53)] == [
        True,
        True,
        False,
    ]
    assert any(line.startswith("INFO") and "answers again" in line for line in log_lines)
    assert not any(PASSWORD in line for line in log_lines)


async def test_a_store_that_takes_connections_and_never_answers_costs_one_timeout(
    log_lines: list[str],
) -> None:
    with socket.socket() as silent:  # the kernel accepts connections; nobody answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        uri = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        throttle = Throttle(messages=2, presses=5, window_seconds=60, metrics=Metrics(),
                            storage_uri=uri)  # fmt: skip
        started = time.monotonic()
        assert all(throttle.check(pending(n)).throttled is None for n in range(20))
        waited = time.monotonic() - started
    assert throttle_module.STORE_TIMEOUT_SECONDS <= waited < 2
    assert sum(line.startswith("WARNING") for line in log_lines) == 1


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_bot_on_a_shared_store_throttles_a_burst_and_goes_on_when_the_store_dies(
    telegram: FakeTelegram, database_url: str, redis: Redis, log_lines: list[str], lang: str
) -> None:
    settings = production_settings(telegram, database_url, rate_limit_storage_uri=redis.uri)
    async with running(settings) as app:
        for _ in range(25):
            telegram.send_text(1, "/help", language_code=lang)
        await settle(telegram)
        assert throttled_count(app) == 5
        replies = [m.text for m in telegram.messages(1)]
        assert len(replies) == 21 and sum(bool(NOTICE[lang].match(t)) for t in replies) == 1

        await anyio.to_thread.run_sync(redis.stop)
        for _ in range(5):
            telegram.send_text(2, "/help", language_code=lang)
        await telegram.wait_for_messages(2, 5)
        await settle(telegram)
    assert throttled_count(app) == 5  # nobody was refused while the store was away
    token = settings.bot_token.get_secret_value() if settings.bot_token else PASSWORD
    assert not any(PASSWORD in line or token in line for line in log_lines)


def test_a_bad_store_uri_is_one_clear_line_without_the_password() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(
            require_token=False,
            rate_limit_storage_uri=f"memcached://user:{PASSWORD}@cache:11211",
            _env_file=None,
        )
    [line] = refused.value.problems
    assert line.startswith("RATE_LIMIT_STORAGE_URI: expected memory:// or a Redis URL")
    assert PASSWORD not in line
    settings = load_settings(require_token=False, _env_file=None)
    assert settings.rate_limit_storage_uri.get_secret_value() == "memory://"
