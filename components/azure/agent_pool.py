"""AKS agent pools (the system pool inside the cluster, user pools as their own resources) and
the pool contract each one offers workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import containerservice

from components.contract import PoolContract, node_labels, pool_contract, tolerating
from stacks.aks import aks_pool_name
from stacks.clusters import PoolConfig, Taint

# AKS taints and labels spot nodes itself; the taint is also declared on the pool, or every
# refresh would show AKS's own taint as drift.
AKS_SPOT_KEY = "kubernetes.azure.com/scalesetpriority"
SPOT_TAINT = Taint(key=AKS_SPOT_KEY, value="spot", effect="NoSchedule")
# AKS's documented convention for GPU pools: nothing CPU-only lands on (and keeps awake) a GPU node.
GPU_TAINT = Taint(key="sku", value="gpu", effect="NoSchedule")
# Keeps application pods off the system pool, which runs CoreDNS, metrics-server, konnectivity
# and the platform's add-ons.
SYSTEM_TAINT = Taint(key="CriticalAddonsOnly", value="true", effect="NoSchedule")


def platform_taints(pool: PoolConfig, system: bool) -> list[Taint]:
    """The taints the platform puts on a pool, before the user's own."""
    taints = []
    if system:
        taints.append(SYSTEM_TAINT)
    if pool.kind == "gpu":
        taints.append(GPU_TAINT)
    if pool.spot:
        taints.append(SPOT_TAINT)
    return taints


def aks_pool_contract(name: str, pool: PoolConfig, system: bool = False) -> PoolContract:
    """How workloads reach an AKS pool.

    Pods select the pool by POOL_LABEL alone: it is a label the platform sets on the pool, so
    the cluster autoscaler knows it when it scales a pool up from zero, which it may not for
    the labels AKS adds to nodes at boot (kubernetes.azure.com/accelerator). Every taint is
    tolerated, including the system pool's CriticalAddonsOnly: the platform's add-ons run
    there, and so may a workload that names the system pool.
    """
    return pool_contract(name, pool, platform_tolerations=tolerating(platform_taints(pool, system)))


@dataclass(frozen=True)
class AksPoolSpec:
    """Everything an agent pool is built from, whether inline (system) or its own resource."""

    pool_name: str
    pool: PoolConfig
    node_subnet_id: pulumi.Input[str]
    system: bool = False
    kubernetes_version: str | None = None
    # Cluster-wide zones; the pool's own `zones` win.
    zones: list[str] = field(default_factory=list)
    # USD per node-hour for spot pools; -1: up to the on-demand price.
    spot_max_price: float = -1
    # Encrypts temp disks and disk caches on the host (docs: "Host-based encryption on AKS").
    encryption_at_host: bool = True
    tags: dict[str, str] = field(default_factory=dict)


def agent_pool_properties(spec: AksPoolSpec) -> dict[str, Any]:
    """Keyword arguments shared by ManagedClusterAgentPoolProfileArgs and AgentPool."""
    pool = spec.pool
    properties: dict[str, Any] = {
        "mode": "System" if spec.system else "User",
        "type": "VirtualMachineScaleSets",
        "vm_size": pool.machine_type,
        "os_type": "Linux",
        # Ubuntu: the image AKS supports with every GPU VM size (Azure Linux lacks A100/H100).
        "os_sku": "Ubuntu",
        "os_disk_size_gb": pool.disk_size_gb,
        "orchestrator_version": spec.kubernetes_version,
        "vnet_subnet_id": spec.node_subnet_id,
        "availability_zones": (pool.zones or spec.zones) or None,
        "enable_node_public_ip": False,
        "enable_encryption_at_host": spec.encryption_at_host,
        # The count is only the size at creation: the cluster autoscaler owns it afterwards.
        "count": pool.min,
        "enable_auto_scaling": True,
        "min_count": pool.min,
        "max_count": pool.max,
        "scale_down_mode": "Delete",
        "node_labels": node_labels(spec.pool_name, pool.labels),
        "node_taints": [_aks_taint(t) for t in [*platform_taints(pool, spec.system), *pool.taints]],
        # Surge nodes for accelerators are often unobtainable: replace one node at a time instead.
        "upgrade_settings": containerservice.AgentPoolUpgradeSettingsArgs(
            max_surge="0" if pool.is_accelerated else "1",
            max_unavailable="1" if pool.is_accelerated else "0",
        ),
        "tags": spec.tags,
    }
    if pool.kind == "gpu":
        # AKS installs and patches the NVIDIA driver with the node image; the device plugin
        # that advertises nvidia.com/gpu is the platform's (components.azure.addons).
        properties["gpu_profile"] = containerservice.GPUProfileArgs(driver="Install")
    if pool.spot:
        properties["scale_set_priority"] = "Spot"
        # Delete, not Deallocate: evicted VMs would otherwise keep their disks (and quota)
        # and the autoscaler could not scale the pool back to zero.
        properties["scale_set_eviction_policy"] = "Delete"
        properties["spot_max_price"] = spec.spot_max_price
    return properties


def system_pool_profile(spec: AksPoolSpec) -> containerservice.ManagedClusterAgentPoolProfileArgs:
    """The system pool, declared with the cluster (AKS cannot create a cluster without one)."""
    return containerservice.ManagedClusterAgentPoolProfileArgs(
        name=aks_pool_name(spec.pool_name), **agent_pool_properties(spec)
    )


def _aks_taint(taint: Taint) -> str:
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


# Agent pool properties AKS sets only when it creates the pool: a change is a new pool. Sources
# (checked 2026-12-01): "Manage node pools" (learn.microsoft.com/azure/aks/manage-node-pools:
# "You can't change the VM size of a node pool after you create it"); "Add an Azure Spot node
# pool" (learn.microsoft.com/azure/aks/spot-node-pool: "ScaleSetPriority or SpotMaxPrice can't be
# updated after creation"); the rest are parameters of New-AzAksNodePool that Update-AzAksNodePool
# lacks (learn.microsoft.com/powershell/module/az.aks). Only properties the platform sets. Not
# here, as AKS changes them in place: osSKU (in-place OS SKU migration, aka.ms/aks/upgrade-os-version)
# and gpuProfile.driver (the gpu-driver API field updates existing pools), both per the Azure/AKS
# CHANGELOG; in-place VM resize exists only as a preview (learn.microsoft.com/azure/aks/resize-node-pool).
CREATION_ONLY_PROPERTIES = (
    "vmSize",
    "osType",
    "osDiskSizeGB",
    "type",
    "vnetSubnetID",
    "availabilityZones",
    "enableNodePublicIP",
    "scaleSetPriority",
    "scaleSetEvictionPolicy",
    "spotMaxPrice",
)


@dataclass(frozen=True)
class AksAgentPoolArgs:
    spec: AksPoolSpec
    resource_group_name: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    # The pool declared before this one: AKS runs one agent pool operation per cluster at a time
    # (409 OperationNotAllowed, "Another operation is in progress"), so pools wait in a chain.
    after: AksAgentPool | None = None


class AksAgentPool(pulumi.ComponentResource):
    """A user pool: its own resource, so adding or changing it never touches the cluster."""

    agent_pool: containerservice.AgentPool
    contract: PoolContract

    def __init__(self, name: str, args: AksAgentPoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:AgentPool", name, None, opts)
        spec = args.spec
        self.contract = aks_pool_contract(spec.pool_name, spec.pool)
        self.agent_pool = containerservice.AgentPool(
            name,
            resource_group_name=args.resource_group_name,
            resource_name_=args.cluster_name,
            agent_pool_name=aks_pool_name(spec.pool_name),
            **agent_pool_properties(spec),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.after.agent_pool] if args.after else [],
                ignore_changes=["count"],
                replace_on_changes=list(CREATION_ONLY_PROPERTIES),
                # The replacement keeps the pool's name, which AKS cannot hold twice in a cluster.
                delete_before_replace=True,
            ),
        )
        self.register_outputs({"name": self.agent_pool.name})
