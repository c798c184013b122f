"""GKE node pools of kind cpu, gpu or tpu, and the pool contract each one offers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.contract import (
    GPU_RESOURCE,
    TPU_RESOURCE,
    UPPER_SNAKE_TAINT_EFFECT,
    PoolContract,
    Toleration,
    node_labels,
    pool_contract,
)
from stacks.clusters import PoolConfig

GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GKE_TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
GKE_TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
GKE_SPOT_LABEL = "cloud.google.com/gke-spot"

_GPU_SHARING_STRATEGY = {"time-sharing": "TIME_SHARING", "mps": "MPS"}


def gke_pool_contract(name: str, pool: PoolConfig) -> PoolContract:
    """How workloads reach a GKE pool. GKE itself taints GPU and TPU nodes."""
    selector = node_labels(name)
    accelerator_taints: tuple[Toleration, ...] = ()
    if pool.kind == "gpu":
        selector[GKE_ACCELERATOR_LABEL] = pool.accelerator or ""
        accelerator_taints = (Toleration(GPU_RESOURCE),)
    elif pool.kind == "tpu":
        selector[GKE_TPU_ACCELERATOR_LABEL] = pool.tpu_slice.accelerator if pool.tpu_slice else ""
        selector[GKE_TPU_TOPOLOGY_LABEL] = pool.topology or ""
        accelerator_taints = (Toleration(TPU_RESOURCE),)
    if pool.spot:
        selector[GKE_SPOT_LABEL] = "true"
    return pool_contract(name, pool, selector=selector, platform_tolerations=accelerator_taints)


@dataclass(frozen=True)
class GkeNodePoolArgs:
    pool_name: str
    pool: PoolConfig
    cluster: pulumi.Input[str]
    location: str
    node_locations: list[str]
    service_account: pulumi.Input[str]
    labels: dict[str, str] = field(default_factory=dict)


class GkeNodePool(pulumi.ComponentResource):
    node_pool: gcp.container.NodePool
    contract: PoolContract

    def __init__(self, name: str, args: GkeNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:NodePool", name, None, opts)
        pool = args.pool
        self.contract = gke_pool_contract(args.pool_name, pool)

        guest_accelerators = None
        if pool.kind == "gpu":
            sharing = None
            if pool.gpu_sharing:
                sharing = gcp.container.NodePoolNodeConfigGuestAcceleratorGpuSharingConfigArgs(
                    gpu_sharing_strategy=_GPU_SHARING_STRATEGY[pool.gpu_sharing.strategy],
                    max_shared_clients_per_gpu=pool.gpu_sharing.max_shared_clients_per_gpu,
                )
            guest_accelerators = [
                gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                    type=pool.accelerator,
                    count=pool.gpus_per_node,
                    # GKE installs and upgrades the NVIDIA driver; no driver DaemonSet to run.
                    gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                        gpu_driver_version="LATEST"
                    ),
                    gpu_sharing_config=sharing,
                )
            ]

        # GKE's TPU slice rules ("Deploy TPU workloads in GKE Standard"; stacks/catalogs/gke_tpu.yaml):
        # only a multi-host slice takes a COMPACT placement policy with its topology, and it is
        # sized per zone (min/maxNodeCount = 0 or the slice's hosts in its one zone); GKE
        # refuses totalMin/MaxNodeCount there. Every other pool is sized in total across zones.
        placement_policy = None
        if pool.tpu_multi_host:
            placement_policy = gcp.container.NodePoolPlacementPolicyArgs(
                type="COMPACT", tpu_topology=pool.topology
            )
            autoscaling = gcp.container.NodePoolAutoscalingArgs(
                min_node_count=pool.min, max_node_count=pool.max
            )
        else:
            autoscaling = gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min,
                total_max_node_count=pool.max,
                # Accelerators and spot capacity are scarce: take them in whichever zone has them.
                location_policy="ANY" if pool.is_accelerated or pool.spot else "BALANCED",
            )

        self.node_pool = gcp.container.NodePool(
            name,
            cluster=args.cluster,
            location=args.location,
            node_locations=pool.zones or args.node_locations or None,
            # Only the size at creation: initial_node_count is ForceNew in the provider, and the
            # autoscaler owns the size afterwards, so it is ignored (as the Terraform GKE module's
            # node pools do: lifecycle ignore_changes = [initial_node_count]); min/max edits are
            # in-place autoscaling updates.
            initial_node_count=pool.min,
            autoscaling=autoscaling,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            # Surge capacity for accelerators is often unobtainable: replace in place instead.
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(
                strategy="SURGE",
                max_surge=0 if pool.is_accelerated else 1,
                max_unavailable=1 if pool.is_accelerated else 0,
            ),
            placement_policy=placement_policy,
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.machine_type,
                spot=pool.spot,
                disk_size_gb=pool.disk_size_gb,
                disk_type="pd-balanced",
                image_type="COS_CONTAINERD",
                service_account=args.service_account,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                labels=self.contract.labels,
                resource_labels=args.labels,
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(
                        key=t.key, value=t.value, effect=UPPER_SNAKE_TAINT_EFFECT[t.effect]
                    )
                    for t in pool.taints
                ],
                guest_accelerators=guest_accelerators,
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                metadata={"disable-legacy-endpoints": "true"},
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )
        self.register_outputs({"name": self.node_pool.name})
