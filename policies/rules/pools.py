"""Node pools of every cloud, read from their provider props into one comparable view.

GKE `NodePool`, EKS `NodeGroup`, AKS `AgentPool` and the agent pools inlined in an AKS
`ManagedCluster` all say the same few things (machine, accelerator, min/max, spot) in their
own vocabulary; the cost and autoscaling rules only need this view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .base import dig, is_mapping, items_of, number

GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
POOL_TYPES = (GKE_NODE_POOL, EKS_NODE_GROUP, AKS_AGENT_POOL, AKS_CLUSTER)

PoolKind = Literal["cpu", "gpu", "tpu"]

# Machine families that come with GPUs attached (GCE accelerator-optimised, EC2 GPU, Azure N).
_GCE_GPU_FAMILIES = ("a2", "a3", "a4", "g2", "g4")
_GCE_TPU_FAMILIES = ("ct", "tpu")
_EC2_GPU_FAMILY = re.compile(r"^(g\d|p\d|gr\d)")
_AZURE_GPU_SIZE = re.compile(r"^Standard_N", re.IGNORECASE)


@dataclass(frozen=True)
class PoolView:
    where: str  # "" for a pool resource, "agentPoolProfiles[<name>]" for an inlined pool
    kind: PoolKind
    machine: str
    minimum: float | None
    maximum: float | None
    # The pool has an autoscaler range (min < max), not a fixed size.
    autoscaled: bool
    spot: bool
    # What the autoscaling settings say, for messages ("autoscaling 0..4", "nodeCount 3").
    sizing: str

    @property
    def is_accelerated(self) -> bool:
        return self.kind != "cpu"

    def label(self, resource_name: str) -> str:
        return f"{resource_name} {self.where}".strip()


def pools_of(resource_type: str, props: Mapping[str, Any]) -> Iterator[PoolView]:
    if resource_type == GKE_NODE_POOL:
        yield _gke(props)
    elif resource_type == EKS_NODE_GROUP:
        yield _eks(props)
    elif resource_type == AKS_AGENT_POOL:
        yield _aks(props, "")
    elif resource_type == AKS_CLUSTER:
        for profile in items_of(props.get("agentPoolProfiles")):
            yield _aks(profile, f"agentPoolProfiles[{profile.get('name')}]")


def _range(low: float | None, high: float | None, label: str) -> tuple[bool, str]:
    autoscaled = low is not None and high is not None and high > low
    return autoscaled, f"{label} {_n(low)}..{_n(high)}"


def _n(value: float | None) -> str:
    return "?" if value is None else str(int(value)) if value.is_integer() else str(value)


def _gke(props: Mapping[str, Any]) -> PoolView:
    node = props.get("nodeConfig") or {}
    machine = node.get("machineType") or "e2-medium"
    family = machine.split("-", 1)[0]
    if dig(props, "placementPolicy.tpuTopology") or family.startswith(_GCE_TPU_FAMILIES):
        kind: PoolKind = "tpu"
    elif items_of(node.get("guestAccelerators")) or family in _GCE_GPU_FAMILIES:
        kind = "gpu"
    else:
        kind = "cpu"
    scaling = props.get("autoscaling")
    if is_mapping(scaling):
        # total* count across the pool's zones, *NodeCount per zone; either may be used.
        low = _first(scaling, "totalMinNodeCount", "minNodeCount")
        high = _first(scaling, "totalMaxNodeCount", "maxNodeCount")
        autoscaled, sizing = _range(low, high, "autoscaling")
    else:
        count = number(props.get("nodeCount"))
        low = high = count if count is not None else number(props.get("initialNodeCount"))
        autoscaled, sizing = False, f"fixed nodeCount {_n(low)}"
    spot = node.get("spot") is True or node.get("preemptible") is True
    return PoolView("", kind, machine, low, high, autoscaled, spot, sizing)


def _first(mapping: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = number(mapping.get(key))
        if value is not None:
            return value
    return None


def _eks(props: Mapping[str, Any]) -> PoolView:
    instance_types = [str(t) for t in items_of(props.get("instanceTypes"))]
    machine = ",".join(instance_types) or "t3.medium"
    ami = str(props.get("amiType") or "")
    gpu = "NVIDIA" in ami.upper() or any(_EC2_GPU_FAMILY.match(t) for t in instance_types)
    scaling = props.get("scalingConfig") or {}
    low, high = number(scaling.get("minSize")), number(scaling.get("maxSize"))
    autoscaled, sizing = _range(low, high, "scalingConfig")
    spot = props.get("capacityType") == "SPOT"
    return PoolView("", "gpu" if gpu else "cpu", machine, low, high, autoscaled, spot, sizing)


def _aks(props: Mapping[str, Any], where: str) -> PoolView:
    machine = str(props.get("vmSize") or "")
    kind: PoolKind = "gpu" if _AZURE_GPU_SIZE.match(machine) else "cpu"
    if props.get("enableAutoScaling") is True:
        low, high = number(props.get("minCount")), number(props.get("maxCount"))
        autoscaled, sizing = _range(low, high, "minCount/maxCount")
    else:
        low = high = number(props.get("count"))
        autoscaled, sizing = False, f"fixed count {_n(low)} (enableAutoScaling is not true)"
    spot = props.get("scaleSetPriority") == "Spot"
    return PoolView(where, kind, machine, low, high, autoscaled, spot, sizing)
