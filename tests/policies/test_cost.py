"""Cost rules on the node pools of every cloud, and the budget against the cost model."""

from __future__ import annotations

import pytest

from tests.policies.support import DELETE, bad, ok, patched, resource

GKE_POOL = "gcp:container/nodePool:NodePool"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AKS_POOL = "azure-native:containerservice:AgentPool"
AKS = "azure-native:containerservice:ManagedCluster"

GKE_CPU = {
    "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 3},
    "nodeConfig": {"machineType": "e2-standard-4"},
}
GKE_GPU = {
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 4},
    "nodeConfig": {
        "machineType": "n1-standard-8",
        "spot": True,
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}],
    },
}
GKE_TPU = {
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
    "placementPolicy": {"type": "COMPACT", "tpuTopology": "2x2"},
    "nodeConfig": {"machineType": "ct5lp-hightpu-4t"},
}
EKS_GPU = {
    "instanceTypes": ["g5.xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
    "capacityType": "SPOT",
    "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 0},
}
AKS_GPU = {"vmSize": "Standard_NC4as_T4_v3", "enableAutoScaling": True, "minCount": 0, "maxCount": 2}
AKS_PROFILES = {
    "agentPoolProfiles": [
        {
            "name": "system",
            "mode": "System",
            "vmSize": "Standard_D4s_v5",
            "enableAutoScaling": True,
            "minCount": 1,
            "maxCount": 3,
        }
    ]
}


def pool(type_token: str, props: dict, name: str = "pool", **changes):
    return resource(type_token, name, patched(props, changes))


CASES = [
    ok("cost-pool-autoscaled", "gke", pool(GKE_POOL, GKE_CPU)),
    ok("cost-pool-autoscaled", "eks", pool(EKS_NODE_GROUP, EKS_GPU)),
    ok("cost-pool-autoscaled", "aks pool", pool(AKS_POOL, AKS_GPU)),
    ok("cost-pool-autoscaled", "aks inline", pool(AKS, AKS_PROFILES)),
    bad(
        "cost-pool-autoscaled",
        "gke fixed",
        "is not autoscaled (fixed nodeCount 3)",
        pool(GKE_POOL, GKE_CPU, autoscaling=DELETE, nodeCount=3),
    ),
    bad(
        "cost-pool-autoscaled",
        "gke min = max",
        "autoscaling 2..2",
        pool(GKE_POOL, GKE_CPU, autoscaling={"totalMinNodeCount": 2, "totalMaxNodeCount": 2}),
    ),
    bad(
        "cost-pool-autoscaled",
        "eks fixed",
        "scalingConfig 3..3",
        pool(EKS_NODE_GROUP, EKS_GPU, scalingConfig={"minSize": 3, "maxSize": 3, "desiredSize": 3}),
    ),
    bad(
        "cost-pool-autoscaled",
        "aks inline without autoscaler",
        "aks agentPoolProfiles[system] is not autoscaled (fixed count 3",
        pool(
            AKS, {"agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3}]}, "aks"
        ),
    ),
    ok("cost-accelerator-scale-to-zero", "gpu from zero", pool(GKE_POOL, GKE_GPU)),
    ok("cost-accelerator-scale-to-zero", "cpu keeps a node", pool(GKE_POOL, GKE_CPU)),
    bad(
        "cost-accelerator-scale-to-zero",
        "gke gpu min 1",
        "gpu pool pool (n1-standard-8) keeps at least 1 node(s) running",
        pool(GKE_POOL, GKE_GPU, **{"autoscaling.totalMinNodeCount": 1}),
    ),
    bad(
        "cost-accelerator-scale-to-zero",
        "tpu slice always on",
        "tpu pool",
        pool(GKE_POOL, GKE_TPU, **{"autoscaling.totalMinNodeCount": 2}),
    ),
    bad(
        "cost-accelerator-scale-to-zero",
        "eks gpu",
        "gpu pool",
        pool(EKS_NODE_GROUP, EKS_GPU, **{"scalingConfig.minSize": 2}),
    ),
    bad(
        "cost-accelerator-scale-to-zero",
        "aks gpu",
        "Standard_NC4as_T4_v3",
        pool(AKS_POOL, AKS_GPU, minCount=1),
    ),
    ok("cost-spot-allowed", "dev allows all", pool(GKE_POOL, GKE_GPU)),
    ok("cost-spot-allowed", "on-demand anywhere", pool(GKE_POOL, GKE_CPU), config={"spotAllowedKinds": []}),
    bad(
        "cost-spot-allowed",
        "prod cpu on spot",
        "cpu pool pool runs on spot; this stack allows spot for: gpu, tpu",
        pool(GKE_POOL, GKE_CPU, **{"nodeConfig.spot": True}),
        config={"spotAllowedKinds": ["gpu", "tpu"]},
    ),
    bad(
        "cost-spot-allowed",
        "aks spot priority",
        "allows spot for: none",
        pool(AKS_POOL, AKS_GPU, scaleSetPriority="Spot"),
        config={"spotAllowedKinds": []},
    ),
    bad(
        "cost-spot-allowed",
        "eks spot capacity",
        "gpu pool pool runs on spot",
        pool(EKS_NODE_GROUP, EKS_GPU),
        config={"spotAllowedKinds": ["cpu"]},
    ),
    ok("cost-pool-max-nodes", "within", pool(GKE_POOL, GKE_GPU), pool(GKE_POOL, GKE_CPU, "cpu")),
    bad(
        "cost-pool-max-nodes",
        "typo",
        "may grow to 400 nodes; at most 8",
        pool(GKE_POOL, GKE_GPU, **{"autoscaling.totalMaxNodeCount": 400}),
    ),
    bad(
        "cost-pool-max-nodes",
        "cpu ceiling from config",
        "may grow to 3 nodes; at most 2",
        pool(GKE_POOL, GKE_CPU),
        config={"maxNodes": 2},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(case):
    case.check()
