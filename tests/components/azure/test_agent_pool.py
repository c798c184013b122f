"""AKS agent pools and their pool contract: names, labels, taints, spot, GPU driver, scaling."""

from __future__ import annotations

import copy

import pytest
import yaml

from components.azure.agent_pool import (
    CREATION_ONLY_PROPERTIES,
    AksPoolSpec,
    agent_pool_properties,
    aks_pool_contract,
)
from components.contract import POOL_LABEL
from plan.diff import diff_records
from stacks.clusters import PoolConfig
from tests.components.azure.conftest import EXAMPLE
from tests.helpers import one, shipped_plan

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


def test_user_pools_are_created_one_after_another_in_config_order(aks):
    # AKS refuses a second operation on a cluster's agent pools while one runs (409).
    cpu = one(aks.record, AGENT_POOL, "aks-cpu")
    gpu = one(aks.record, AGENT_POOL, "aks-gpu-t4")
    assert cpu.urn in gpu.dependencies
    assert not aks.record.depends_on(cpu.urn, gpu.urn)


def test_creation_only_pool_properties_replace_the_pool_name_first(aks):
    for pool in aks.record.of_type(AGENT_POOL):
        assert pool.options["replaceOnChanges"] == sorted(CREATION_ONLY_PROPERTIES)
        # The new pool takes the old one's name: the old one must be gone first.
        assert pool.options["deleteBeforeReplace"] is True
        assert pool.options["ignoreChanges"] == ["count"]
    # Every creation-only property is one the pool declares (a typo would never match).
    gpu = one(aks.record, AGENT_POOL, "aks-gpu-t4").inputs
    assert set(CREATION_ONLY_PROPERTIES) <= set(gpu)


@pytest.fixture(scope="module")
def aks_document():
    return yaml.safe_load(EXAMPLE.read_text())


def _gpu_pool_change(plan_of, document, mutate):
    head = copy.deepcopy(document)
    mutate(head["config"]["mlplatform:clusters"]["aks"])
    # Under the example's own stack name, so the unchanged side is its shared plan.
    diff = diff_records(shipped_plan(EXAMPLE), plan_of(head, name=EXAMPLE.stem))
    return next(c for c in diff.changes if c.type == AGENT_POOL and c.name == "aks-gpu-t4")


def test_a_spot_price_change_diffs_as_a_replacement(plan_of, aks_document):
    change = _gpu_pool_change(
        plan_of, aks_document, lambda cluster: cluster["azure"]["spotMaxPrice"].update({"gpu-t4": 0.4})
    )
    assert change.action == "replace"
    assert [(f.path, f.old, f.new, f.replaces) for f in change.fields] == [("spotMaxPrice", 0.35, 0.4, True)]


def test_a_pool_size_change_diffs_as_an_update_in_place(plan_of, aks_document):
    change = _gpu_pool_change(plan_of, aks_document, lambda cluster: cluster["pools"]["gpu-t4"].update(max=6))
    assert change.action == "update"
    assert [(f.path, f.replaces) for f in change.fields] == [("maxCount", False)]
