"""Several instances of one bot: throughput and latency with 1, 2 and 3 `teambot run`
processes on one PostgreSQL, in polling and in webhook mode (the fake Bot API delivering by
webhook through a stand-in load balancer over the instances), fed the same bursts by the
same fake.

    python -m bench.instances [--runs 3] [--burst 200] [--bursts 3] [--pings 30]

Per configuration and run: a warm-up burst, then --bursts bursts of --burst /help at once
from as many people (updates/s and latency from the update being put on the server to its
reply), then --pings people each sending /help alone, one after another (the latency of
one update when nothing else is going on: what webhook delivery and the inbox add over a
long poll). Configurations alternate (the order turns by one each round); figures are the
median [min–max] over the runs, and each configuration's ratio to one instance polling.

Only the leader works (teambot/actors/leadership.py), so more instances are not expected to
add throughput, on 2 cores or anywhere: the point is that standing by costs nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import (
    Phase,
    Postgres,
    Spread,
    count,
    logs_dir,
    machine_load,
    ms,
    new_fake,
    print_table,
    ratio,
    rotations,
    run_burst,
)

WEBHOOK_ENV = {
    "UPDATES_MODE": "webhook",
    "WEBHOOK_URL": "https://bot.example.test/telegram",
    "WEBHOOK_SECRET": "bench-instances-secret-0123456789",
}
FIRST_USER = 10_000


@dataclass(frozen=True)
class Config:
    mode: str
    instances: int

    @property
    def title(self) -> str:
        return f"{self.mode} ×{self.instances}"


CONFIGS = [Config(mode, n) for mode in ("polling", "webhook") for n in (1, 2, 3)]


@dataclass
class Run:
    burst: Phase
    pings: list[float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def role(port: int) -> str | None:
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1, trust_env=False)
    except httpx.HTTPError:
        return None
    return reply.text.strip().removeprefix("ok: ") if reply.status_code == 200 else None


def start(
    config: Config, api_url: str, token: str, conninfo: str, log: Path
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    ports = [free_port() for _ in range(config.instances)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DB_", "DATABASE"))}
    env.update(
        BOT_TOKEN=token,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=conninfo,
        FLOOD_CONTROL="false",
        LOG_LEVEL="WARNING",
        DATA_DIR=tempfile.mkdtemp(prefix="teambot-bench-instance-"),
        **(WEBHOOK_ENV if config.mode == "webhook" else {}),
    )
    processes = []
    with log.open("ab") as out:
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "teambot", "run"],
                    env={**env, "HTTP_PORT": str(port)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 60
    while True:
        roles = [role(port) for port in ports]
        if None not in roles and roles.count("leader") == 1:
            return processes, ports
        if time.monotonic() > deadline:
            stop(processes)
            raise RuntimeError(f"{config.title}: not ready within 60 s ({roles}); see {log}")
        time.sleep(0.1)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(config: Config, pg: Postgres, args: argparse.Namespace, logs: Path) -> Run:
    name, conninfo = pg.fresh()
    fake, recorder = new_fake()
    try:
        with fake:
            processes, ports = start(
                config, fake.api_url, fake.token, conninfo, logs / "instances.log"
            )
            try:
                fake.webhook_proxy = [f"http://127.0.0.1:{port}" for port in ports]
                targets = [(FIRST_USER + n, "/help", "en") for n in range(args.burst)]
                run_burst(fake, recorder, targets)  # the warm-up
                burst = Phase()
                for _ in range(args.bursts):
                    burst.add(run_burst(fake, recorder, targets))
                pings: list[float] = []
                for n in range(args.pings):
                    alone = run_burst(
                        fake, recorder, [(FIRST_USER + args.burst + n, "/help", "en")]
                    )
                    pings += alone.latencies
                recorder.drain()
            finally:
                stop(processes)
    finally:
        pg.drop(name)
    return Run(burst, pings)


def report(runs: dict[Config, list[Run]], args: argparse.Namespace) -> None:
    base = CONFIGS[0]

    def median(config: Config, value: Callable[[Run], float]) -> float:
        return Spread(tuple(value(r) for r in runs[config])).median

    def rate(r: Run) -> float:
        return r.burst.rate

    def p99(r: Run) -> float:
        return r.burst.pct(99)

    def ping50(r: Run) -> float:
        return sorted(r.pings)[len(r.pings) // 2] if r.pings else float("nan")

    def ping95(r: Run) -> float:
        ordered = sorted(r.pings)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0

    print(
        f"\n== {args.bursts} × {args.burst} /help at once, then {args.pings} alone, per run;"
        f" median [min–max] over {args.runs} run(s); the ratio is to {base.title}"
    )
    rows = []
    for config in CONFIGS:
        cells = [config.title]
        for value, fmt in ((rate, count), (p99, ms), (ping50, ms), (ping95, ms)):
            cells.append(Spread(tuple(value(r) for r in runs[config])).show(fmt))
        cells.append(ratio(median(config, rate), median(base, rate)))
        cells.append(ratio(median(config, ping50), median(base, ping50)))
        rows.append(cells)
    print_table(
        ["", "updates/s", "burst p99", "alone p50", "alone p95", "updates/s ratio", "alone ratio"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--pings", type=int, default=30)
    args = parser.parse_args()
    logs = logs_dir()
    print(f"before: {machine_load()}")
    pg = Postgres()
    runs: dict[Config, list[Run]] = {config: [] for config in CONFIGS}
    try:
        for round_ in rotations(CONFIGS, args.runs):
            for config in round_:
                run = measure(config, pg, args, logs)
                runs[config].append(run)
                print(
                    f"{config.title}: {count(run.burst.rate)} updates/s,"
                    f" burst p99 {ms(run.burst.pct(99))}, alone p50"
                    f" {ms(sorted(run.pings)[len(run.pings) // 2])}",
                    flush=True,
                )
    finally:
        pg.close()
    report(runs, args)
    print(f"after: {machine_load()}")


if __name__ == "__main__":
    main()
