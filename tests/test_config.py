"""Bad configuration: one clear line per bad setting, exit code 78, no traceback, no secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOKEN = "123456789:AAHsecretTokenValueThatMustNeverLeak_x"


def teambot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DB_", "DATABASE"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "teambot", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_bad_setting_gets_one_line_and_exit_78(tmp_path: Path) -> None:
    result = teambot(
        "check-config",
        env={
            "BOT_TOKEN": "not-a-token-" + TOKEN,
            "RATE_LIMIT_REQUESTS_PER_MINUTE": "500",
            "DB_PORT": "seventy",
            "TEAMBOT_BACKEND": "curio",
            "DATABASE_URL": "mysql://root:hunter2@db/x",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[2].strip() for line in lines] == [
        "BOT_TOKEN",
        "DATABASE_URL",
        "DB_PORT",
        "RATE_LIMIT_REQUESTS_PER_MINUTE",
        "TEAMBOT_BACKEND",
    ], lines
    assert "Traceback" not in result.stderr
    assert "secretToken" not in result.stderr + result.stdout
    assert "hunter2" not in result.stderr + result.stdout
    assert "less than or equal to 100" in result.stderr


def test_missing_token_is_named(tmp_path: Path) -> None:
    result = teambot("run", env={}, cwd=tmp_path)
    assert result.returncode == 78
    assert result.stderr.strip() == "teambot: bad configuration: BOT_TOKEN: required but not set"


def test_dotenv_file_is_read_and_good_config_passes(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nTEAMBOT_BACKEND=trio\n")
    result = teambot("check-config", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "backend trio" in result.stdout
    assert "embedded PostgreSQL" in result.stdout
    assert "secretToken" not in result.stdout + result.stderr


def test_pool_bounds_are_checked_together(tmp_path: Path) -> None:
    result = teambot(
        "check-config",
        env={"BOT_TOKEN": TOKEN, "DB_POOL_MIN_SIZE": "20", "DB_POOL_MAX_SIZE": "5"},
        cwd=tmp_path,
    )
    assert result.returncode == 78
    assert "DB_POOL_MAX_SIZE: expected at least DB_POOL_MIN_SIZE (20)" in result.stderr


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = teambot("--help", env={}, cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "migrate", "check-config"):
        assert command in result.stdout


def test_a_bad_proxy_url_is_one_line_without_its_password(tmp_path: Path) -> None:
    for url in (
        "https://user:hunter2@proxy.example:3128",  # TLS to the proxy is not supported
        "socks5://user:hunter2@proxy.example:port",
        "user:hunter2@proxy.example:1080",
    ):
        result = teambot(
            "check-config", env={"BOT_TOKEN": TOKEN, "TELEGRAM_PROXY": url}, cwd=tmp_path
        )
        assert result.returncode == 78, url
        assert result.stderr.strip() == (
            "teambot: bad configuration: TELEGRAM_PROXY: expected http://, socks5:// or"
            " socks5h:// with user:password@host:port"
        )
        assert "hunter2" not in result.stdout + result.stderr
    good = "socks5h://user:hunter2@proxy.example:1080"
    result = teambot("check-config", env={"BOT_TOKEN": TOKEN, "TELEGRAM_PROXY": good}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_admin_ids_are_people_not_groups(tmp_path: Path) -> None:
    # reports carry a profile: a group's id (negative) would show it to the whole group
    result = teambot(
        "check-config", env={"BOT_TOKEN": TOKEN, "ADMIN_IDS": "42,-1001234567890"}, cwd=tmp_path
    )
    assert result.returncode == 78
    assert result.stderr.strip() == (
        "teambot: bad configuration: ADMIN_IDS: Input should be greater than 0"
    )
