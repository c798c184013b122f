"""The pool contract: how a workload lands on a named node pool, on any cloud.

Each cloud package fills one `PoolContract` per pool from its own node labels and taints;
workloads only ever consume this value, so they run unchanged on GKE, EKS, AKS or an
existing cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from stacks.clusters import PoolConfig, Taint

PoolKind = Literal["cpu", "gpu", "tpu"]

# Set on every node of every pool the platform creates, so a workload can name its pool exactly.
POOL_LABEL = "mlplatform.io/pool"

GPU_RESOURCE = "nvidia.com/gpu"
TPU_RESOURCE = "google.com/tpu"

# GKE and EKS APIs spell taint effects in upper snake case.
UPPER_SNAKE_TAINT_EFFECT = {
    "NoSchedule": "NO_SCHEDULE",
    "PreferNoSchedule": "PREFER_NO_SCHEDULE",
    "NoExecute": "NO_EXECUTE",
}


@dataclass(frozen=True)
class Toleration:
    key: str
    effect: str = "NoSchedule"
    value: str | None = None

    def to_kubernetes(self) -> dict[str, str]:
        if self.value is None:
            return {"key": self.key, "operator": "Exists", "effect": self.effect}
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class PoolContract:
    name: str
    kind: PoolKind
    # Labels a pod's nodeSelector must match to land on this pool.
    node_selector: dict[str, str]
    # Taints the pool's nodes carry, as the tolerations a pod needs.
    tolerations: tuple[Toleration, ...] = ()
    # Extended resource the nodes offer (nvidia.com/gpu, google.com/tpu) and how many per node.
    extended_resource: str | None = None
    resource_per_node: int = 0
    spot: bool = False
    # Every label the pool's nodes carry (the selector's among them), for matching a chart's own
    # node selection against the pool.
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def is_accelerated(self) -> bool:
        return self.extended_resource is not None

    def pod_scheduling(self) -> dict:
        """The nodeSelector and tolerations of a pod spec that targets this pool."""
        scheduling: dict = {"nodeSelector": dict(sorted(self.node_selector.items()))}
        if self.tolerations:
            scheduling["tolerations"] = [t.to_kubernetes() for t in self.tolerations]
        return scheduling


def node_labels(pool_name: str, labels: dict[str, str] | None = None) -> dict[str, str]:
    """The labels the platform sets on a pool's nodes: the pool label plus the user's."""
    return {POOL_LABEL: pool_name, **(labels or {})}


def tolerating(taints: Iterable[Taint]) -> tuple[Toleration, ...]:
    return tuple(Toleration(t.key, t.effect, t.value or None) for t in taints)


def pool_contract(
    name: str,
    pool: PoolConfig,
    *,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    platform_tolerations: Iterable[Toleration] = (),
) -> PoolContract:
    """A pool's contract. The cloud supplies the node labels beyond POOL_LABEL (`selector`, which
    replaces the default) and the taints it or the platform puts on the nodes; the user's taints,
    the extended resource and its count per node follow from the pool config. `labels`: what the
    nodes carry beyond the selector when the platform sets more than the pool label and the
    user's labels."""
    resource, per_node = {
        "gpu": (GPU_RESOURCE, pool.gpus_per_node),
        "tpu": (TPU_RESOURCE, pool.tpu_chips_per_node),
    }.get(pool.kind, (None, 0))
    return PoolContract(
        name=name,
        kind=pool.kind,
        node_selector=node_labels(name) if selector is None else selector,
        labels=node_labels(name, pool.labels) if labels is None else labels,
        tolerations=(*platform_tolerations, *tolerating(pool.taints)),
        extended_resource=resource,
        resource_per_node=per_node,
        spot=pool.spot,
    )
