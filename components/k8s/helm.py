"""Pinned Helm charts installed as add-ons, scheduled on the cluster's system pool."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract


@dataclass(frozen=True)
class Chart:
    name: str
    # A Helm repository URL, or an OCI registry path (oci://...).
    repository: str
    # Exact version: an add-on upgrade is a reviewed change, never a surprise at `pulumi up`.
    version: str

    @property
    def is_oci(self) -> bool:
        return self.repository.startswith("oci://")


def scheduling_values(pool: PoolContract) -> dict:
    """nodeSelector/tolerations in the layout most charts use at the top level of values."""
    scheduling = pool.pod_scheduling()
    return {"nodeSelector": scheduling["nodeSelector"], "tolerations": scheduling.get("tolerations", [])}


def on_pools_values(pools: list[PoolContract] | tuple[PoolContract, ...]) -> dict:
    """tolerations/affinity that put a chart's DaemonSet on the given pools' nodes only and past
    their taints: for node agents such as GPU device plugins and exporters, whose charts' default
    affinity uses labels the clouds' nodes do not carry. One node-selector term per pool (terms
    are ORed), each the pool's own selector: the pool label where the platform made the pool, the
    labels the nodes already carry on an existing cluster."""
    tolerations = {t for pool in pools for t in pool.tolerations}
    terms = [
        {
            "matchExpressions": [
                {"key": k, "operator": "In", "values": [v]} for k, v in sorted(p.node_selector.items())
            ]
        }
        for p in sorted(pools, key=lambda p: p.name)
    ]
    return {
        "tolerations": [
            t.to_kubernetes() for t in sorted(tolerations, key=lambda t: (t.key, t.effect, t.value or ""))
        ],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
        },
    }


def chart_release(
    name: str,
    chart: Chart,
    namespace: str,
    values: dict,
    opts: pulumi.ResourceOptions,
    create_namespace: bool = True,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        name=chart.name,
        # OCI charts are addressed by their full reference; Helm repositories by name + repo.
        chart=f"{chart.repository}/{chart.name}" if chart.is_oci else chart.name,
        version=chart.version,
        repository_opts=None if chart.is_oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        # Wait for the add-on to be ready so that workloads depending on it start cleanly.
        atomic=True,
        cleanup_on_fail=True,
        timeout=600,
        opts=opts,
    )
