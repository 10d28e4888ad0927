"""The ops group: deployment files checked with the real tools (tests/ops/setup.sh)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ops.tools import Forwarder, Podman


@pytest.fixture(scope="session")
def podman() -> Podman:
    return Podman()


@pytest.fixture(scope="session")
def postgres(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forwarder]:
    """The test PostgreSQL (tests/conftest.py), reachable from containers over TCP on
    127.0.0.1 and over a unix socket in a directory they may mount."""
    forwarder = Forwarder(postgres_server, tmp_path_factory.mktemp("pgsock"))
    yield forwarder
    forwarder.close()
