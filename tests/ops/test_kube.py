"""deploy/kube: the Kubernetes manifests, validated against the Kubernetes API's own schemas
(kubernetes-validate, strict: an unknown or misplaced field fails), read for what docs/
deploy.md promises (two instances, probes, secrets from the Secret, non-root), and run with
`podman kube play` (podman 4.3): two bot pods on one PostgreSQL pod, one leads, the other
stands by, and takes over when the leader's pod is killed.

What differs from a cluster under podman, and why: no image registry is reachable, so the
images are the ones the other ops tests build (the app on the offline base, PostgreSQL's
stand-in); podman 4.3 publishes every `containerPort` on the host (the second replica could
not bind 8080), so the played copy has no `ports` and its probes name 8080; it resolves pods
by pod name, not by Service, so DATABASE_URL names the database's pod; and it reads a
`secretKeyRef` / `secretRef` from a podman secret holding the Secret's `data` as JSON, which
the test creates. Redis (deploy/kube/redis.yaml) is validated, not played: no Redis image
can be built offline here.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fake_telegram import FakeTelegram
from tests.ops.tools import (
    APP_IMAGE,
    ROOT,
    Podman,
    Relay,
    build_app_image,
    run,
    tool,
    wait_for,
)

pytestmark = pytest.mark.ops

KUBE = ROOT / "deploy" / "kube"
MANIFESTS = [KUBE / "teambot.yaml", KUBE / "redis.yaml"]
STANDIN = "localhost/teambot-postgres-standin:bookworm"
NETWORK = "teambot-kube-test"
USER_ID = 4646


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("version", ["1.37.0", "1.30.0"])
def test_manifests_validate_strictly_against_the_kubernetes_schemas(
    version: str, tmp_path: Path
) -> None:
    validate = tool("kubernetes-validate")
    paths = [str(p) for p in MANIFESTS]
    run([validate, "--strict", "--kubernetes-version", version, *paths])
    # the check has teeth: a misplaced field fails it
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (KUBE / "teambot.yaml").read_text().replace("readOnlyRootFilesystem", "readOnlyRootFS")
    )
    result = run([validate, "--strict", "-k", version, str(broken)], check=False)
    assert result.returncode != 0 and "readOnlyRootFS" in result.stdout + result.stderr


def test_two_instances_with_probes_secrets_from_the_secret_and_no_root() -> None:
    docs = documents(KUBE / "teambot.yaml")
    bot = by_kind(docs, "Deployment", "teambot")
    assert bot["spec"]["replicas"] == 2
    assert bot["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert by_kind(docs, "PodDisruptionBudget", "teambot")["spec"]["minAvailable"] == 1
    [container] = bot["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    env = {e["name"]: e for e in container["env"]}
    assert env["HTTP_HOST"]["value"] == "0.0.0.0"  # the image listens on 127.0.0.1
    assert container["envFrom"] == [{"secretRef": {"name": "teambot"}}]
    # the image's user, and the Containerfile's
    user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Containerfile").read_text(), re.M)
    assert user is not None
    pod = bot["spec"]["template"]["spec"]
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
        int(user[1]),
        int(user[2]),
    )
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/var/lib/teambot"}

    everything = docs + documents(KUBE / "redis.yaml")
    secret_keys = set()
    for deployment in (d for d in everything if d["kind"] == "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, deployment["metadata"]
        for c in spec["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            assert c["readinessProbe"] and c["livenessProbe"]
            for e in c.get("env", []):
                # no secret written into the manifest: they come from the Secret
                assert not re.search("TOKEN|PASSWORD|SECRET|DATABASE_URL", e["name"]) or (
                    "valueFrom" in e
                ), e
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "teambot"
                    secret_keys.add(ref["key"])
    # the header's `kubectl create secret` gives every key the manifests read
    header = (KUBE / "teambot.yaml").read_text().split("apiVersion", 1)[0]
    assert secret_keys <= set(re.findall(r"--from-literal=(\w+)=", header))
    assert {"BOT_TOKEN", "DATABASE_URL", "RATE_LIMIT_STORAGE_URI"} <= set(
        re.findall(r"--from-literal=(\w+)=", header)
    )


def played_copy(tmp_path: Path) -> Path:
    """The manifest as podman 4.3 can play it (see the module's docstring)."""
    docs = documents(KUBE / "teambot.yaml")
    images = {"postgres": STANDIN, "bot": APP_IMAGE}
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            container["image"] = images[container["name"]]
            container.pop("ports", None)
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if "httpGet" in container.get(probe, {}):
                    container[probe]["httpGet"]["port"] = 8080
    path = tmp_path / "teambot.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


@pytest.fixture
def kube(podman: Podman, tmp_path: Path) -> Iterator[Path]:
    def clean() -> None:
        podman("pod", "rm", "-f", "-t", "0", "teambot-pod-0", "teambot-pod-1", check=False)
        podman("pod", "rm", "-f", "-t", "0", "teambot-db-pod-0", check=False)
        podman("secret", "rm", "teambot", check=False)
        podman("volume", "rm", "-f", "teambot-pgdata", check=False)
        podman("network", "rm", "-f", NETWORK, check=False)

    clean()
    build_app_image(podman)
    if not podman.image_exists(STANDIN):
        pytest.skip(f"{STANDIN} has not been built (tests/ops/setup.sh)")
    podman("network", "create", NETWORK)
    try:
        yield played_copy(tmp_path)
    finally:
        clean()


def role(podman: Podman, pod: str) -> str | None:
    probe = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/readyz').read())"
    result = podman("exec", f"{pod}-bot", "python", "-c", probe, check=False, timeout=20)
    found = re.search(r"ok: (\w+)", result.stdout)
    return found[1] if found else None


def answered(telegram: FakeTelegram, text: str, podman: Podman) -> None:
    before = len(telegram.messages(USER_ID))
    telegram.send_text(USER_ID, text)
    try:
        telegram.wait_until_sync(
            lambda: len(telegram.messages(USER_ID)) > before,
            timeout=90,
            what=f"an answer to {text}",
        )
    except AssertionError:
        logs = [podman("logs", f"{p}-bot", check=False) for p in ("teambot-pod-0", "teambot-pod-1")]
        raise AssertionError("\n".join((r.stdout + r.stderr)[-2000:] for r in logs)) from None


def test_podman_kube_play_runs_two_instances_one_leads_the_other_takes_over(
    podman: Podman, kube: Path, telegram: FakeTelegram, tmp_path: Path
) -> None:
    relay = Relay(telegram.port)
    try:
        secret = {
            "BOT_TOKEN": telegram.token,
            "POSTGRES_PASSWORD": "kube-test-password",
            "DATABASE_URL": "postgresql://teambot:kube-test-password@teambot-db-pod-0:5432/teambot",
            "TELEGRAM_API_URL": f"http://host.containers.internal:{relay.port}",
            "POLL_TIMEOUT_SECONDS": "2",
        }
        data = tmp_path / "secret.json"
        data.write_text(
            json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in secret.items()})
        )
        podman("secret", "create", "teambot", str(data))
        data.unlink()
        podman("kube", "play", "--network", NETWORK, str(kube), timeout=300)
        pods = ["teambot-pod-0", "teambot-pod-1"]
        wait_for(
            lambda: sorted(str(role(podman, p)) for p in pods) == ["leader", "standby"],
            180,
            "one leader and one standby",
        )
        answered(telegram, "/start", podman)
        [leader] = [p for p in pods if role(podman, p) == "leader"]
        [standby] = [p for p in pods if p != leader]
        podman("pod", "kill", leader)  # SIGKILL: the node is gone
        wait_for(lambda: role(podman, standby) == "leader", 30, "the standby leading")
        answered(telegram, "/help", podman)
        user = podman(
            "exec",
            "teambot-db-pod-0-postgres",
            "psql",
            "-U",
            "teambot",
            "-d",
            "teambot",
            "-At",
            "-c",
            f"select count(*) from users where id = {USER_ID}",
        )
        assert user.stdout.strip() == "1"
        run_as = podman("exec", f"{standby}-bot", "id", "-u", check=False)
        assert run_as.stdout.strip() == "10001"
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"podman timed out: {exc.cmd}") from None
    finally:
        relay.close()
