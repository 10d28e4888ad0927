"""docs/deploy.md's systemd path, run as written in a fresh Debian 12 with systemd as PID 1
(a podman container of its own network namespace): PostgreSQL from apt, the bot from the
checkout, the env file, `enable --now`, the health check, the nightly backup unit, a
restore, an upgrade to a newer version with a migration, and the rollback from it. The bot
answers the fake Bot API (on the test machine's loopback, 10.0.2.2 from the container)
after each step.

What the test adds to a real host, and why: the package proxy's CA and pip's use of it
(the test machine reaches PyPI only through that proxy); apt answering "yes" by itself (no
one at the keyboard) and its package lists fetched before (as a host has them); download
caches kept between runs in the ops directory; and the settings that point the bot at the
fake Bot API. To save two minutes, PostgreSQL's installation (1.1) and the bot's (1.2) run
at the same time: they do not depend on each other, and apt waits for its lock.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.ops import doc
from tests.ops.tools import CA_BUNDLE, OPS_DIR, ROOT, SYSTEMD_BASE, Podman, version, wait_for

pytestmark = pytest.mark.ops

USER_ID = 4646
# percent-encoding matters: every character here means something in a URL
ROLE_PASSWORD = "p@ss:w/rd%?#&="
CHECKOUT = "/root/teambot"
NEXT = "/root/teambot-next"  # the same code as a newer version, with one more migration
NEXT_VERSION = "9.9.9"
NEXT_MIGRATION = "9999_ops_test_upgrade"


class Host:
    """The Debian 12 machine: a container running systemd."""

    def __init__(self, podman: Podman, name: str) -> None:
        self.podman = podman
        self.name = name

    def sh(self, script: str, *, stdin: str = "", cwd: str = CHECKOUT, timeout: float = 120) -> str:
        """Runs a script as root in a login-less bash, stopping at the first failure."""
        result = self.podman(
            "exec", "-i", "-w", cwd, "-e", "DEBIAN_FRONTEND=noninteractive", self.name,
            "bash", "-euo", "pipefail", "-c", script,
            stdin=stdin, timeout=timeout, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(
                f"exited {result.returncode}:\n{script}\nstdout:\n{result.stdout[-3000:]}\n"
                f"stderr:\n{result.stderr[-3000:]}\njournal:\n{self.journal()}"
            )
        return result.stdout + result.stderr

    def block(
        self, name: str, *, stdin: str = "", cwd: str = CHECKOUT, timeout: float = 300
    ) -> str:
        return self.sh(doc.block(name), stdin=stdin, cwd=cwd, timeout=timeout)

    def journal(self) -> str:
        result = self.podman(
            "exec", self.name, "sh", "-c",
            "journalctl -u teambot -u teambot-backup --no-pager -o cat | tail -n 40",
            check=False,
        )  # fmt: skip
        return result.stdout

    def psql(self, sql: str) -> str:
        command = f"runuser -u postgres -- psql -d teambot -At -c {_quote(sql)}"
        return self.sh(command, cwd="/").strip()

    def migrated(self, version: str) -> bool:
        sql = f"select count(*) from schema_migrations where version = '{version}'"
        return self.psql(sql) == "1"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture
def checkouts(tmp_path: Path) -> Path:
    """This checkout, and a copy of it posing as the next release."""
    root = tmp_path / "root"
    for name, version_text in (("teambot", None), ("teambot-next", NEXT_VERSION)):
        target = root / name
        target.mkdir(parents=True)
        for file in ("pyproject.toml", "README.md", "Containerfile", "compose.yaml"):
            shutil.copy(ROOT / file, target / file)
        for folder in ("teambot", "deploy", "systemd"):
            shutil.copytree(
                ROOT / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__")
            )
        if version_text:
            for file in ("pyproject.toml", "teambot/__init__.py"):
                path = target / file
                path.write_text(path.read_text().replace(f'"{version()}"', f'"{version_text}"'))
            (target / f"teambot/data/migrations/{NEXT_MIGRATION}.sql").write_text(
                "create table ops_test_upgrade (id integer primary key);\n"
            )
    return root


@pytest.fixture
def host(podman: Podman, checkouts: Path) -> Iterator[Host]:
    options = [
        "--systemd=always",
        # a network namespace of its own (PostgreSQL on its 127.0.0.1:5432, the bot on
        # :8080); the test machine's loopback is 10.0.2.2
        "--network=slirp4netns:allow_host_loopback=true",
        "-v", f"{checkouts / 'teambot'}:{CHECKOUT}",
        "-v", f"{checkouts / 'teambot-next'}:{NEXT}",
        "-v", f"{CA_BUNDLE}:/usr/local/share/ca-certificates/proxy-bundle.crt:ro",
        "-v", f"{_cache('apt')}:/var/cache/apt/archives",
        "-v", f"{_cache('pip')}:/root/.cache/pip",
    ]  # fmt: skip
    with podman.container(SYSTEMD_BASE, options, ["/sbin/init"]) as name:
        machine = Host(podman, name)
        wait_for(
            lambda: (
                podman("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
                in ("running", "degraded")
            ),
            timeout=60,
            what="systemd to boot in the container",
        )
        # the site's package proxy: its CA, and pip told to use the system's CA bundle
        machine.sh(
            "update-ca-certificates >/dev/null"
            " && printf '[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n' >/etc/pip.conf"
            ' && printf \'APT::Get::Assume-Yes "true";\\nDPkg::Lock::Timeout "600";\\n\''
            "    >/etc/apt/apt.conf.d/90ops-test"
            " && apt-get update -q >/dev/null",
            cwd="/",
            timeout=300,
        )
        yield machine


def _cache(name: str) -> Path:
    path = OPS_DIR / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _answers(host: Host, telegram: FakeTelegram, text: str, timeout: float = 90) -> None:
    before = len(telegram.messages(USER_ID))
    telegram.send_text(USER_ID, text)
    try:
        telegram.wait_until_sync(
            lambda: len(telegram.messages(USER_ID)) > before, timeout, f"an answer to {text}"
        )
    except AssertionError:
        raise AssertionError(host.journal()) from None


def _active(host: Host) -> str:
    return host.sh("systemctl show teambot -p ActiveState -p SubState --value").split()


def test_systemd_host_as_documented(host: Host, telegram: FakeTelegram) -> None:
    # 1.2, the bot from the checkout, installs while 1.1 installs PostgreSQL
    with ThreadPoolExecutor(1) as pool:
        install = pool.submit(host.block, "host-install", timeout=900)
        # 1.1 PostgreSQL; the role's password typed twice at createuser's prompt
        host.block("host-postgresql", stdin=f"{ROLE_PASSWORD}\n{ROLE_PASSWORD}\n", timeout=600)
        assert f"teambot {version()}" in install.result()
    encoded = re.sub(r"[^A-Za-z0-9_.~-]", lambda m: f"%{ord(m[0]):02X}", ROLE_PASSWORD)
    over_socket = (
        f"runuser -u nobody -- psql -At -c 'select current_user' "
        f"'postgresql://teambot:{encoded}@/teambot?host=/run/postgresql'"
    )
    with pytest.raises(AssertionError, match="Peer authentication failed"):
        host.sh(over_socket, cwd="/")  # stock Debian: peer on the socket, as deploy.md says
    host.block("host-socket-password")
    assert host.sh(over_socket, cwd="/").strip() == "teambot"

    # 1.3 the env file: token and password typed at the prompts, nothing echoed
    host.block("host-env-file", stdin=f"{telegram.token}\n{ROLE_PASSWORD}\n")
    env_file = host.sh("stat -c %a /etc/teambot/teambot.env && cat /etc/teambot/teambot.env")
    assert env_file.splitlines()[0] == "600", env_file
    assert f"BOT_TOKEN={telegram.token}" in env_file
    assert f"DATABASE_URL=postgresql://teambot:{encoded}@127.0.0.1:5432/teambot" in env_file
    host.sh(
        "cat >>/etc/teambot/teambot.env <<EOF\n"
        f"TELEGRAM_API_URL=http://10.0.2.2:{telegram.port}\n"
        "POLL_TIMEOUT_SECONDS=2\nDB_POOL_MIN_SIZE=2\nEOF"
    )
    host.block("host-check")
    # the subshells left nothing behind in the shell that ran them
    out = host.sh(doc.block("host-check") + '\necho "token=${BOT_TOKEN:-}"')
    assert re.search(r"^token=$", out, re.MULTILINE), out
    assert host.psql("select count(*) from schema_migrations") != "0"

    # 1.4 enable and start: READY=1 before `enable --now` returns
    out = host.block("host-enable")
    assert "active (running)" in out, out
    _answers(host, telegram, "/start")
    # 4. the health check
    assert "healthy" in host.block("host-healthcheck")

    # 6. backups: the timer, and one dump now by the sandboxed service
    out = host.block("host-backup")
    assert re.search(r"teambot-\d{8}T\d{6}Z\.dump", out), out
    timer = host.sh(
        "systemctl is-enabled teambot-backup.timer; systemctl is-active teambot-backup.timer"
    )
    assert timer.split() == ["enabled", "active"], timer
    result = host.sh("systemctl show teambot-backup.service -p Result --value").strip()
    assert result == "success", host.journal()

    saved = host.psql("select id, first_name, language from users order by id")
    assert str(USER_ID) in saved
    host.psql("update users set first_name = 'lost'")
    out = host.block("host-restore")
    assert "teambot restored" in out, out
    assert host.psql("select id, first_name, language from users order by id") == saved
    assert _active(host) == ["active", "running"]
    _answers(host, telegram, "/help")

    # 5. an upgrade to the next version, which adds a migration ...
    out = host.block("host-upgrade", cwd=NEXT, timeout=900)
    assert f"teambot {NEXT_VERSION}" in host.sh("/opt/teambot/venv/bin/teambot --version")
    assert host.migrated(NEXT_MIGRATION)
    assert _active(host) == ["active", "running"]
    _answers(host, telegram, "/help")

    # ... and the rollback: the previous venv, the database as it was before the upgrade
    host.block("host-rollback")
    assert f"teambot {version()}" in host.sh("/opt/teambot/venv/bin/teambot --version")
    assert not host.migrated(NEXT_MIGRATION)
    assert host.psql("select to_regclass('ops_test_upgrade') is null") == "t"
    assert host.psql("select id, first_name, language from users order by id") == saved
    assert _active(host) == ["active", "running"]
    _answers(host, telegram, "/help")
