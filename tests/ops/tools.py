"""Finding the ops tools, and running podman in the test storage that setup.sh prepared.

A missing tool skips the test with the reason, unless TEAMBOT_OPS_TESTS=1: then it fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
OPS_DIR = Path(os.environ.get("TEAMBOT_OPS_DIR", "/var/tmp/teambot-ops"))
REQUIRED = os.environ.get("TEAMBOT_OPS_TESTS") == "1"
SETUP_HINT = "run: bash tests/ops/setup.sh .venv"

# the Containerfile's default BASE_IMAGE, and what the tests build on instead when no image
# registry is reachable: the same Debian release, made by setup.sh from Debian's mirror
PUBLIC_BASE = "docker.io/library/debian:bookworm-slim"
OFFLINE_BASE = "localhost/debian-minbase:bookworm"
SYSTEMD_BASE = "localhost/teambot-systemd-base:bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# where a build finds an extra CA: installing ca-certificates adds it to the image's bundle
LOCAL_CA = "/usr/local/share/ca-certificates/host-bundle.crt"
# what deploy.md's `podman build` needs on this machine: its package proxy's CA (added the
# way deploy.md says), and the host's network (its resolver is not reachable from others)
BUILD_OPTIONS = f"--network=host -v {CA_BUNDLE}:{LOCAL_CA}:ro"


def unavailable(reason: str) -> None:
    """Skip (or fail, under TEAMBOT_OPS_TESTS=1) because the environment lacks something."""
    message = f"{reason} ({SETUP_HINT})"
    if REQUIRED:
        pytest.fail(f"TEAMBOT_OPS_TESTS=1 but {message}")
    pytest.skip(message)


def tool(name: str) -> str:
    """The path of a command: on PATH, in this interpreter's venv, or from setup.sh."""
    venv_bin = Path(sys.executable).parent / name
    candidates = [shutil.which(name), str(venv_bin) if venv_bin.exists() else None]
    if name == "quadlet":
        candidates.append(str(OPS_DIR / "quadlet/usr/libexec/podman/quadlet"))
    if name == "promtool":
        candidates.append(str(OPS_DIR / "promtool/usr/bin/promtool"))
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    unavailable(f"{name} is not installed")
    raise AssertionError("unreachable")


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.3
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Podman:
    """Rootful podman with its storage in OPS_DIR, runc and cgroupfs (see setup.sh)."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            unavailable("the image and systemd tests need root (rootful podman)")
        self.binary = tool("podman")
        conf = OPS_DIR / "containers.conf"
        if not conf.exists():
            unavailable(f"{conf} is missing")
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.base = [
            self.binary,
            "--root",
            str(OPS_DIR / "storage"),
            "--runroot",
            str(OPS_DIR / "run"),
        ]
        for image in (OFFLINE_BASE, SYSTEMD_BASE):
            if not self.image_exists(image):
                unavailable(f"the base image {image} has not been built")

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run([*self.base, *args], check=check, timeout=timeout, env=self.env, stdin=stdin)

    def image_exists(self, image: str) -> bool:
        return self("image", "exists", image, check=False).returncode == 0

    def build(self, tag: str, containerfile: Path, context: Path, *extra: str) -> None:
        # the host's CAs (the package proxy's among them) join the image's bundle when
        # ca-certificates is installed: Debian's way to add a CA, which the Containerfile names
        mounts = ["-v", f"{CA_BUNDLE}:{LOCAL_CA}:ro"] if CA_BUNDLE.exists() else []
        self(
            "build",
            "--format",
            "docker",
            "--pull=never",
            "--network=host",
            *mounts,
            *extra,
            "-t",
            tag,
            "-f",
            str(containerfile),
            str(context),
            timeout=600,
        )

    def inspect(self, name: str, template: str) -> str:
        return self("inspect", name, "--format", template).stdout.strip()

    @contextmanager
    def container(
        self, image: str, options: Sequence[str], command: Sequence[str] = ()
    ) -> Iterator[str]:
        """A detached container, removed afterwards; yields its name."""
        name = f"teambot-ops-{uuid.uuid4().hex[:8]}"
        self("run", "-d", "--name", name, *options, image, *command)
        try:
            yield name
        finally:
            self("rm", "-f", "-t", "0", name, check=False)


APP_IMAGE = "localhost/teambot:ops-test"
# podman-compose 1.3.0 (Debian 13's), extracted by setup.sh; Debian 12's 1.0.3 is on PATH
COMPOSE_TRIXIE = OPS_DIR / "podman-compose-trixie/usr/lib/python3/dist-packages"


def podman_env() -> dict[str, str]:
    """The environment in which a plain `podman` (as podman-compose runs it, or a deploy.md
    block) uses the test storage and configuration that setup.sh wrote."""
    conf, storage = OPS_DIR / "containers.conf", OPS_DIR / "storage.conf"
    for path in (conf, storage):
        if not path.exists():
            unavailable(f"{path} is missing")
    return {**os.environ, "CONTAINERS_CONF": str(conf), "CONTAINERS_STORAGE_CONF": str(storage)}


def bash(
    script: str,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 300,
    what: str = "script",
) -> str:
    """Runs a deploy.md block as a root shell would (stopping at the first failing command);
    its output, or an AssertionError with it."""
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{what} exited {result.returncode}\n{script}\n"
            f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
        )
    return result.stdout + result.stderr


def build_app_image(podman: Podman) -> str:
    """The image from the repository's Containerfile on the offline base (cached layers make
    rebuilds quick)."""
    podman.build(
        APP_IMAGE,
        ROOT / "Containerfile",
        ROOT,
        "--build-arg",
        f"BASE_IMAGE={OFFLINE_BASE}",
        "--build-arg",
        f"VERSION={version()}",
    )
    return APP_IMAGE


def registry_unreachable(image: str, timeout: float = 5) -> str | None:
    """Why the registry of `image` cannot be reached from here, or None when it answers.
    Behind a proxy (HTTPS_PROXY) only a pull can tell: None, and the pull decides."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy")):
        return None
    registry = image.split("/", 1)[0]
    host = "registry-1.docker.io" if registry == "docker.io" else registry
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:443: {exc}"


def version() -> str:
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(server_conninfo: str) -> str:
    """The name of a new empty database on the test PostgreSQL (the bot migrates it)."""
    name = f"ops_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_conninfo, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name


class Forwarder:
    """Relays connections from 127.0.0.1:<port> and from a unix socket in a world-readable
    directory to the test PostgreSQL, whose own socket directory a container user may not
    enter. Containers then reach it over TCP, or over the unix socket mounted in."""

    def __init__(self, conninfo: str, socket_dir: Path) -> None:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
        host = str(params.get("host") or "127.0.0.1")
        port = int(str(params.get("port") or 5432))
        self.target: tuple[int, str | tuple[str, int]] = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{port}")
            if host.startswith("/")
            else (socket.AF_INET, (host, port))
        )
        self.params = {k: str(v) for k, v in params.items() if k not in ("host", "port")}
        self.socket_dir = socket_dir
        socket_dir.mkdir(parents=True, exist_ok=True)
        socket_dir.chmod(0o755)
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.tcp.getsockname()[1])
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = socket_dir / f".s.PGSQL.{self.port}"
        path.unlink(missing_ok=True)
        self.unix.bind(str(path))
        path.chmod(0o777)
        self.unix.listen(64)
        self._closed = False
        for listener in (self.tcp, self.unix):
            threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def conninfo(self, dbname: str, *, host: str = "127.0.0.1") -> str:
        """How a client reaches `dbname`: host is 127.0.0.1, or the directory where
        socket_dir is mounted."""
        return psycopg.conninfo.make_conninfo(
            "", **{**self.params, "host": host, "port": str(self.port), "dbname": dbname}
        )

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.socket(self.target[0], socket.SOCK_STREAM)
                upstream.connect(self.target[1])
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        for listener in (self.tcp, self.unix):
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()


class Relay:
    """Makes a server on 127.0.0.1:<target> (the fake Bot API) reachable from containers on a
    podman network, which see the host as host.containers.internal (the bridge's gateway):
    listens on all addresses, on a port of its own, for the test's lifetime."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("0.0.0.0", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
