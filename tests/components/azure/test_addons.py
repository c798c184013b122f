"""The NVIDIA device plugin: pinned chart, only on GPU pools, past their taints."""

from __future__ import annotations

from components.contract import POOL_LABEL
from tests.helpers import dig, one


def test_device_plugin_runs_on_gpu_pools_only(aks):
    release = one(aks.record, "kubernetes:helm.sh/v3:Release", "aks-nvidia-device-plugin").inputs
    assert (release["chart"], release["version"], release["namespace"]) == (
        "nvidia-device-plugin",
        "0.18.0",
        "kube-system",
    )
    assert release["repositoryOpts"]["repo"] == "https://nvidia.github.io/k8s-device-plugin"
    terms = dig(release, "values.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution")
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["gpu-t4"]}]}
    ]
    assert {t["key"] for t in release["values"]["tolerations"]} == {
        "sku",
        "kubernetes.azure.com/scalesetpriority",
    }


def test_device_plugin_uses_the_clusters_kubernetes_provider(aks):
    release = one(aks.record, "kubernetes:helm.sh/v3:Release", "aks-nvidia-device-plugin")
    assert release.provider == one(aks.record, "pulumi:providers:kubernetes", "aks-k8s").urn


def test_monitoring_add_ons_run_on_the_system_pool_tolerating_its_taint(aks):
    prometheus = one(aks.record, "kubernetes:helm.sh/v3:Release", "aks-monitoring-prometheus").inputs
    server = prometheus["values"]["server"]
    assert server["nodeSelector"] == {POOL_LABEL: "system"}
    assert {
        "key": "CriticalAddonsOnly",
        "operator": "Equal",
        "value": "true",
        "effect": "NoSchedule",
    } in server["tolerations"]


def test_device_plugin_waits_for_the_gpu_pools_it_runs_on(aks):
    release = one(aks.record, "kubernetes:helm.sh/v3:Release", "aks-nvidia-device-plugin")
    gpu_pool = one(aks.record, "azure-native:containerservice:AgentPool", "aks-gpu-t4")
    assert gpu_pool.urn in release.dependencies


def test_only_workloads_on_gpu_pools_wait_for_the_device_plugin(aks):
    plugin = one(aks.record, "kubernetes:helm.sh/v3:Release", "aks-nvidia-device-plugin").urn
    gpu_model = one(aks.record, "kubernetes:apps/v1:Deployment", "aks-model2-deployment").urn
    cpu_model = one(aks.record, "kubernetes:apps/v1:Deployment", "aks-model1-deployment").urn
    assert aks.record.depends_on(gpu_model, plugin)
    # The plugin waits for the GPU pool: a CPU model waiting for it would wait for GPU nodes too.
    assert not aks.record.depends_on(cpu_model, plugin)
