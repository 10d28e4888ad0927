"""The shell blocks of docs/deploy.md, so that the tests run what the document says.

Every ```sh block there follows a marker line: `<!-- ops-test: NAME -->` for a block a test
runs as it is written, `<!-- not run by the tests: WHY -->` for one no test can run here.
"""

from __future__ import annotations

import re

from tests.ops.tools import ROOT

DEPLOY_MD = ROOT / "docs" / "deploy.md"

_FENCE = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- (?:ops-test: (?P<name>[\w-]+)|not run by the tests: (?P<why>.+?)) -->")

# the blocks the tests run, and which test runs them
RUN_BY = {
    "host-postgresql": "test_deploy_host.py",
    "host-socket-password": "test_deploy_host.py",
    "host-install": "test_deploy_host.py",
    "host-env-file": "test_deploy_host.py",
    "host-check": "test_deploy_host.py",
    "host-enable": "test_deploy_host.py",
    "host-healthcheck": "test_deploy_host.py",
    "host-backup": "test_deploy_host.py",
    "host-restore": "test_deploy_host.py",
    "host-upgrade": "test_deploy_host.py",
    "host-rollback": "test_deploy_host.py",
    "image-build": "test_image.py",
    "compose-env-files": "test_compose.py",
    "compose-up": "test_compose.py",
    "compose-upgrade": "test_compose.py",
    "compose-rollback": "test_compose.py",
    "compose-restore": "test_compose.py",
}


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(the blocks the tests run, by name; (why not, block) for the others); a block with
    no marker line right above it is an error."""
    tested: dict[str, str] = {}
    untested: list[tuple[str, str]] = []
    for fence in _FENCE.finditer(text):
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.fullmatch(before.strip())
        line = text.count("\n", 0, fence.start()) + 1
        if marker is None:
            raise AssertionError(f"deploy.md line {line}: a sh block without a marker line")
        if marker["name"]:
            if marker["name"] in tested:
                raise AssertionError(f"deploy.md line {line}: {marker['name']} twice")
            tested[marker["name"]] = fence.group(1)
        else:
            untested.append((marker["why"], fence.group(1)))
    return tested, untested


def block(name: str, replace: dict[str, str] | None = None) -> str:
    """The block `name`, with `replace`'s strings swapped where the test machine must differ
    from a real host (each must occur, so the document cannot drift from the test)."""
    assert name in RUN_BY, f"{name} is not in tests/ops/doc.py's RUN_BY"
    text = parse(DEPLOY_MD.read_text())[0][name]
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} is no longer in deploy.md's {name} block"
        text = text.replace(old, new)
    return text
