"""AKS agent pools and their pool contract: names, labels, taints, spot, GPU driver, scaling."""

from __future__ import annotations

from components.azure.agent_pool import AksPoolSpec, agent_pool_properties, aks_pool_contract
from components.contract import POOL_LABEL
from stacks.clusters import PoolConfig
from tests.helpers import one

AGENT_POOL = "azure-native:containerservice:AgentPool"
SPOT = "kubernetes.azure.com/scalesetpriority"


def test_user_pools_are_their_own_resources_on_the_cluster(aks):
    cluster = one(aks.record, "azure-native:containerservice:ManagedCluster", "aks")
    pools = {p.inputs["agentPoolName"]: p.inputs for p in aks.record.of_type(AGENT_POOL)}
    # 'gpu-t4' becomes 'gput4': AKS pool names are 1-12 lowercase letters and digits.
    assert set(pools) == {"cpu", "gput4"}
    for pool in pools.values():
        assert pool["resourceName"] == cluster.id.rsplit("/", 1)[-1]
        assert pool["mode"] == "User"
        assert pool["enableAutoScaling"] is True
        assert pool["enableNodePublicIP"] is False
        assert pool["availabilityZones"] == ["1", "2", "3"]


def test_gpu_spot_pool_scales_from_zero_tainted_with_a_price_cap(aks):
    gpu = one(aks.record, AGENT_POOL, "aks-gpu-t4").inputs
    assert (gpu["minCount"], gpu["maxCount"], gpu["count"]) == (0, 4, 0)
    assert gpu["vmSize"] == "Standard_NC4as_T4_v3"
    assert gpu["nodeLabels"] == {POOL_LABEL: "gpu-t4"}
    assert gpu["nodeTaints"] == ["sku=gpu:NoSchedule", f"{SPOT}=spot:NoSchedule"]
    assert gpu["scaleSetPriority"] == "Spot"
    assert gpu["scaleSetEvictionPolicy"] == "Delete"
    assert gpu["spotMaxPrice"] == 0.35
    assert gpu["gpuProfile"] == {"driver": "Install"}
    # Accelerators are replaced in place: surge capacity is often unobtainable.
    assert gpu["upgradeSettings"] == {"maxSurge": "0", "maxUnavailable": "1"}


def test_cpu_user_pool_is_on_demand_untainted(aks):
    cpu = one(aks.record, AGENT_POOL, "aks-cpu").inputs
    assert cpu["nodeTaints"] == []
    assert "scaleSetPriority" not in cpu and "gpuProfile" not in cpu
    assert cpu["upgradeSettings"] == {"maxSurge": "1", "maxUnavailable": "0"}


def test_contracts_select_by_pool_label_and_tolerate_every_taint(aks):
    pools = aks.handle.pools
    assert pools["system"].pod_scheduling() == {
        "nodeSelector": {POOL_LABEL: "system"},
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
        ],
    }
    assert pools["cpu"].pod_scheduling() == {"nodeSelector": {POOL_LABEL: "cpu"}}
    gpu = pools["gpu-t4"]
    assert (gpu.kind, gpu.extended_resource, gpu.resource_per_node, gpu.spot) == (
        "gpu",
        "nvidia.com/gpu",
        1,
        True,
    )
    assert gpu.pod_scheduling()["tolerations"] == [
        {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        {"key": SPOT, "operator": "Equal", "value": "spot", "effect": "NoSchedule"},
    ]


def test_user_taints_are_declared_on_the_pool_and_tolerated_by_the_contract():
    pool = PoolConfig.model_validate(
        {
            "kind": "cpu",
            "machineType": "Standard_D4ds_v5",
            "min": 0,
            "max": 2,
            "taints": [{"key": "team", "value": "research", "effect": "NoExecute"}, {"key": "dedicated"}],
        }
    )
    properties = agent_pool_properties(AksPoolSpec(pool_name="research", pool=pool, node_subnet_id="subnet"))
    assert properties["node_taints"] == ["team=research:NoExecute", "dedicated:NoSchedule"]
    assert properties["node_labels"] == {POOL_LABEL: "research"}
    contract = aks_pool_contract("research", pool)
    assert [t.to_kubernetes() for t in contract.tolerations] == [
        {"key": "team", "operator": "Equal", "value": "research", "effect": "NoExecute"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
    ]
