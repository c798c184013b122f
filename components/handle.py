"""What a cluster offers the workloads built on it, whatever cloud made it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract


@dataclass(frozen=True)
class ClusterHandle:
    name: str
    cloud: str
    kubernetes_provider: k8s.Provider
    pools: dict[str, PoolContract]
    # Where model images live (`<registry_url>/<repository>:<tag>`); None when images are
    # referenced by full name (existing clusters).
    registry_url: pulumi.Output[str] | None = None
    # Config bucket name -> physical bucket (or container) name.
    buckets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    # The resources Kubernetes objects must wait for (node pools, add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)
