"""Grafana (pinned chart) with a dashboard per model: requests, errors, latency, replicas, CPU,
memory and GPU, one query per A/B variant, on the cluster's Prometheus."""

from __future__ import annotations

import json

from tests.helpers import one

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _dashboard(record, name: str) -> dict:
    config_map = one(record, CONFIG_MAP, f"main-monitoring-dashboard-ml-{name}").inputs
    assert config_map["metadata"]["namespace"] == "mlplatform-monitoring"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = config_map["data"].values()
    return json.loads(text)


def test_grafana_is_pinned_and_reads_the_clusters_prometheus(dev_plan):
    release = one(dev_plan, RELEASE, "main-monitoring-grafana").inputs
    assert (release["chart"], release["version"]) == ("grafana", "10.5.15")
    (source,) = release["values"]["datasources"]["datasources.yaml"]["datasources"]
    assert (source["uid"], source["url"]) == (
        "prometheus",
        "http://prometheus-server.mlplatform-monitoring.svc",
    )
    assert release["values"]["sidecar"]["dashboards"] == {"enabled": True, "label": "grafana_dashboard"}
    assert "adminPassword" not in release["values"]


def test_each_model_has_a_dashboard_with_its_variants_side_by_side(dev_plan):
    board = _dashboard(dev_plan, "model1")
    titles = [p["title"] for p in board["panels"]]
    assert titles == [
        "Requests per second",
        "Errors per second",
        "Latency",
        "Replicas (available)",
        "CPU (cores)",
        "Memory (working set)",
        "GPU utilisation (%)",
    ]
    for panel in board["panels"]:
        assert [t["legendFormat"] for t in panel["targets"]] == ["primary", "candidate"], panel["title"]
    requests = board["panels"][0]["targets"]
    assert 'mlplatform_io_variant="candidate"' in requests[1]["expr"]
    assert requests[0]["expr"].startswith("sum(rate(vllm:request_success_total{")
    replicas = board["panels"][3]["targets"]
    assert [t["expr"].split("deployment=")[1] for t in replicas] == ['"model1"})', '"model1-candidate"})']


def test_a_custom_server_without_metrics_shows_replicas_and_resources_only(dev_plan):
    titles = [p["title"] for p in _dashboard(dev_plan, "model2")["panels"]]
    # model2 is a custom server on the CPU pool: no server metrics, no GPU.
    assert titles == ["Replicas (available)", "CPU (cores)", "Memory (working set)"]


def test_grafana_can_be_left_out(dev_config, plan_of):
    dev_config["config"]["mlplatform:monitoring"] = {"grafana": False, "retentionDays": 3}
    record = plan_of(dev_config)
    assert [r for r in record.of_type(RELEASE) if r.inputs["chart"] == "grafana"] == []
    assert [r for r in record.of_type(CONFIG_MAP) if "dashboard" in r.name] == []
    prometheus = one(record, RELEASE, "main-monitoring-prometheus").inputs
    assert prometheus["values"]["server"]["retention"] == "3d"
