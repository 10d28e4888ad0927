"""The shipped board (deploy/grafana/teambot.json) and alert rules
(deploy/prometheus/alerts.yml) query only what a running bot's /metrics exposes, and the
board is a dashboard Grafana can load. promtool checks and unit-tests the rules in the ops
group (tests/ops/test_static.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_settings, running
from tests.fake_telegram import FakeTelegram
from tests.test_operations import free_port, get

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "deploy" / "grafana" / "teambot.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
# written by Prometheus itself for every target, not by the bot
PROMETHEUS_OWN = {"up"}
# Grafana fills these in before the query reaches Prometheus
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$instance": ".*"}
# a sample name is its family's name plus one of these, by the family's type
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def board() -> dict[str, Any]:
    return json.loads(BOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return [p for p in board()["panels"] if p["type"] != "row"]


def board_queries() -> list[str]:
    queries = [t["expr"] for panel in panels() for t in panel["targets"]]
    for variable in board()["templating"]["list"]:
        if variable["type"] == "query":  # label_values(metric, label)
            queries.append(variable["query"]["query"].split("(", 1)[1].split(",", 1)[0])
    return queries


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def parse(query: str) -> promql_parser.Expr:
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    return promql_parser.parse(query)


def metric_names(query: str) -> set[str]:
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(parse(query), visit)
    return names


@pytest.mark.anyio
async def test_the_board_and_alerts_query_only_metrics_the_bot_exposes(
    telegram: FakeTelegram, database_url: str
) -> None:
    port = free_port()
    async with running(make_settings(telegram, database_url, http_port=port)):
        telegram.send_text(1, "/start")
        await telegram.wait_for_messages(1, 1)
        exposition = (await get(f"http://127.0.0.1:{port}/metrics")).text
    families = {family.name: family for family in text_string_to_metric_families(exposition)}
    exposed = {name + suffix for name, f in families.items() for suffix in SUFFIXES[f.type]}

    board_names = set().union(*map(metric_names, board_queries()))
    alert_names = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert board_names - exposed == set(), "the board queries metrics /metrics does not have"
    assert alert_names - exposed - PROMETHEUS_OWN == set(), "alerts on metrics nobody exposes"
    # (the text format gives a counter's or histogram's _created series a family of its own)
    metrics = {n for n in families if not n.endswith("_created")}
    shown = {n for n in metrics if any(n + s in board_names for s in SUFFIXES[families[n].type])}
    assert metrics - shown == set(), "every metric the bot exposes has a place on the board"

    # the gauges read at scrape time say what a healthy bot is doing
    value = {s.name: s.value for f in families.values() for s in f.samples if not s.labels}
    assert value["teambot_ready"] == 1
    assert value["teambot_poller_running"] == 1
    assert value["teambot_updates_in_flight_limit"] == 200
    assert value["teambot_updates_in_flight"] >= 0
    assert 0 <= value["teambot_poller_progress_age_seconds"] < 60
    assert value["teambot_db_pool_max"] == 10


def test_the_board_is_a_loadable_grafana_dashboard() -> None:
    dashboard = board()
    assert dashboard["uid"] == "teambot" and dashboard["title"] == "teambot"
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"

    datasource = {"type": "prometheus", "uid": "${datasource}"}
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    for panel in panels():
        assert panel["type"] in {"timeseries", "stat"}, panel["title"]
        assert panel["title"] and panel["description"], panel
        assert panel["datasource"] == datasource, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == datasource, panel["title"]
            assert 'instance=~"$instance"' in target["expr"], (panel["title"], target["expr"])
            parse(target["expr"])  # raises on a PromQL syntax error
    titles = [panel["title"] for panel in panels()]
    assert len(titles) == len(set(titles))


def test_every_alert_says_what_it_means() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        parse(rule["expr"])
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
