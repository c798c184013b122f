"""Cluster add-ons as Helm releases: a pinned chart, placed on the nodes it belongs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class HelmChart:
    """A chart at an exact version from its upstream repository: upgrades are reviewed changes."""

    name: str
    version: str
    repository: str


def pinned_release(
    name: str,
    chart: HelmChart,
    namespace: str,
    values: dict[str, Any],
    placement: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Install `chart` as release `chart.name` in `namespace`.

    `placement` (nodeSelector, tolerations, affinity) is merged into the top level of the
    values, where most charts take it: usually `system_pool.pod_scheduling()`, or the GPU nodes
    for a per-GPU-node DaemonSet.
    """
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=chart.name,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            values={**values, **placement},
            # A failed install or upgrade is rolled back instead of left half-applied.
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
        ),
        opts=opts,
    )
