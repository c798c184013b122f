"""Monitoring: Prometheus on every cluster that serves models, DCGM exporter on their GPU pools with
the values each cloud's GPU nodes need (dcgm-exporter chart 4.1.1)."""

from __future__ import annotations

import pytest

from plan.engine import PROJECT_DIR
from plan.record import PlanRecord
from tests.helpers import dig, one, shipped_plan

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def aks() -> PlanRecord:
    return shipped_plan(PROJECT_DIR / "examples" / "azure-aks.yaml")


def _values(record: PlanRecord, name: str) -> dict:
    return one(record, RELEASE, name).inputs["values"]


def test_gke_exporter_finds_the_driver_and_labels_series_by_device_name(prod_plan):
    values = _values(prod_plan, "main-monitoring-dcgm-exporter")
    env = {e["name"]: e["value"] for e in values["extraEnv"]}
    assert env == {
        "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE": "device-name",
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64",
    }
    assert values["extraHostVolumes"] == [
        {"name": "nvidia-install-dir-host", "hostPath": "/home/kubernetes/bin/nvidia"}
    ]
    mounts = {m["name"]: m for m in values["extraVolumeMounts"]}
    # A list value replaces the chart's: its counters mount must still be there.
    assert mounts["exporter-metrics-volume"]["mountPath"] == "/etc/dcgm-exporter/default-counters.csv"
    assert mounts["nvidia-install-dir-host"] == {
        "name": "nvidia-install-dir-host",
        "mountPath": "/usr/local/nvidia",
        "readOnly": True,
    }
    assert values["securityContext"]["privileged"] is True
    assert "kubernetesDcgm" not in values
    assert values["serviceMonitor"] == {"enabled": False}


def test_gke_admits_the_exporters_critical_priority_outside_kube_system(prod_plan):
    quota = one(prod_plan, "kubernetes:core/v1:ResourceQuota", "main-monitoring-critical-pods").inputs
    assert quota["metadata"]["namespace"] == "mlplatform-monitoring"
    assert dig(quota, "spec.scopeSelector.matchExpressions.0") == {
        "operator": "In",
        "scopeName": "PriorityClass",
        "values": ["system-node-critical"],
    }
    exporter = one(prod_plan, RELEASE, "main-monitoring-dcgm-exporter")
    assert prod_plan.depends_on(
        exporter.urn, one(prod_plan, "kubernetes:core/v1:ResourceQuota", "main-monitoring-critical-pods").urn
    )


def test_aks_exporter_relies_on_the_nvidia_runtime(aks):
    values = _values(aks, "aks-monitoring-dcgm-exporter")
    # AKS GPU nodes run NVIDIA's container runtime: the image's NVIDIA_VISIBLE_DEVICES=all
    # brings driver and GPUs in; the pod-resources API names GPUs by UUID (the chart's default).
    for key in ("extraEnv", "extraHostVolumes", "extraVolumeMounts", "securityContext"):
        assert key not in values, key
    assert {"sku", "kubernetes.azure.com/scalesetpriority"} <= {t["key"] for t in values["tolerations"]}
    assert "ResourceQuota" not in str([r.type for r in aks.resources if "monitoring" in r.name])


def test_eks_exporter_lands_on_the_gpu_group_only(eks):
    values = _values(eks.record, "main-monitoring-dcgm-exporter")
    terms = dig(values, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution")
    [term] = terms["nodeSelectorTerms"]
    assert {"key": "mlplatform.io/pool", "operator": "In", "values": ["gpu-a10g"]} in term["matchExpressions"]
    assert "extraEnv" not in values


def test_prometheus_scrapes_nodes_and_keeps_the_environments_retention(dev_plan, prod_plan):
    dev = _values(dev_plan, "main-monitoring-prometheus")
    prod = _values(prod_plan, "main-monitoring-prometheus")
    assert (dev["server"]["retention"], prod["server"]["retention"]) == ("7d", "30d")
    assert prod["server"]["persistentVolume"] == {"size": "60Gi"}
    assert dev["prometheus-node-exporter"] == {"enabled": True}
    assert dev["kube-state-metrics"]["enabled"] is True
    assert dev["alertmanager"] == {"enabled": False}


def test_prometheus_may_scrape_model_servers_through_the_default_deny(dev_plan):
    policies = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in dev_plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    scrape = policies["allow-serving"]["spec"]["ingress"][-1]
    assert scrape["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mlplatform-monitoring"}}}
    ]
    assert {p["port"] for p in scrape["ports"]} == {"http", "metrics"}


def test_moved_releases_keep_their_former_urns(prod_plan):
    prometheus = one(prod_plan, RELEASE, "main-monitoring-prometheus")
    assert "main-gpu-metrics-prometheus" in str(prometheus.options.get("aliases"))
