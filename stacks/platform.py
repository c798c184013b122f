"""The wiring of one stack: validated config in, one platform component per cluster out."""

from __future__ import annotations

import importlib

import pulumi

from components.handle import ClusterHandle
from stacks.config import StackConfig

# cloud -> module whose `build_cluster(name, cluster, stack) -> ClusterHandle` declares that
# cloud's platform component. Imported only when a stack uses the cloud: each SDK costs
# import time.
CLOUD_MODULES = {
    "gcp": "components.gcp.platform",
    "aws": "components.aws.platform",
    "azure": "components.azure.platform",
    "existing": "components.k8s.existing",
}


def build_platform(stack: StackConfig) -> dict[str, ClusterHandle]:
    """Declare every cluster of the stack; returns the handle of each, by cluster name."""
    handles: dict[str, ClusterHandle] = {}
    for name, cluster in stack.clusters.items():
        module = importlib.import_module(CLOUD_MODULES[cluster.cloud])
        handles[name] = module.build_cluster(name, cluster, stack)
    return handles


def export_outputs(handles: dict[str, ClusterHandle]) -> None:
    for name, handle in handles.items():
        pulumi.export(f"{name}.cloud", handle.cloud)
        if handle.registry_url is not None:
            pulumi.export(f"{name}.registry", handle.registry_url)
        for bucket, physical in handle.buckets.items():
            pulumi.export(f"{name}.buckets.{bucket}", physical)
