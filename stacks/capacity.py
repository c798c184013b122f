"""What one node of a pool offers pods: its machine shape (from the dated catalogs) and its
allocatable CPU and memory after the cloud's system reservations, computed here from each cloud's
documented formula (sources beside each function and in the catalogs' `sources.allocatable`).

Allocatable is computed from the machine type's nominal memory; the kernel keeps a little more,
and DaemonSets (device plugin, CSI drivers, log agents) take their requests from the same room,
so a pod that fits here can still wait for a larger node. One that does not fit here never runs.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB_PER_GIB = 1024
# kubelet evictionHard memory.available on all three clouds (GKE and AKS docs; the EKS AMI's
# kubelet config): allocatable leaves it free.
EVICTION_MIB = 100
# (share of the range, range end in cores); the last range is open.
_CPU_TIERS = ((0.06, 1), (0.01, 2), (0.005, 4), (0.0025, None))
# GKE memory: (share, range end in GiB).
_GKE_MEMORY_TIERS = ((0.25, 4), (0.20, 8), (0.10, 16), (0.06, 128), (0.02, None))
# AKS kube-reserved CPU by cores (node-resource-reservations, the table for 1-64 cores).
_AKS_CPU_MILLICORES = {1: 60, 2: 100, 4: 140, 8: 180, 16: 260, 32: 420, 64: 740}
# AKS with Azure CNI overlay (the network the AKS component builds) runs 250 pods per node by
# default (learn.microsoft.com/azure/aks/azure-cni-overlay); the pools leave maxPods unset.
AKS_MAX_PODS = 250


@dataclass(frozen=True)
class MachineShape:
    """A machine type as its catalog states it."""

    name: str
    vcpu: int
    memory_gib: float
    gpus: int = 0
    # The GPU model the machine type comes with (g2: nvidia-l4), named like GKE's accelerators.
    gpu: str | None = None
    # EKS: the pods the AMI lets a node run (ENIs x (IPs per ENI - 1) + 2).
    max_pods: int | None = None


@dataclass(frozen=True)
class Allocatable:
    cpu: float  # cores
    memory_gib: float


def _tiered(total: float, tiers: tuple[tuple[float, float | None], ...]) -> float:
    reserved, start = 0.0, 0.0
    for share, end in tiers:
        top = total if end is None else min(total, end)
        if top > start:
            reserved += (top - start) * share
        if end is None or total <= end:
            break
        start = end
    return reserved


def gke_allocatable(shape: MachineShape) -> Allocatable:
    """GKE Standard nodes ("Plan node sizes", memory and CPU reservations)."""
    if shape.memory_gib < 1:
        memory_reserved_mib = 255.0
    else:
        memory_reserved_mib = _tiered(shape.memory_gib, _GKE_MEMORY_TIERS) * MIB_PER_GIB
    return _allocatable(shape, _tiered(shape.vcpu, _CPU_TIERS), memory_reserved_mib)


def eks_allocatable(shape: MachineShape) -> Allocatable:
    """EKS AL2023 nodes: nodeadm's kube-reserved (11 MiB per pod + 255 MiB; the same CPU tiers as
    GKE), awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go."""
    max_pods = shape.max_pods if shape.max_pods is not None else 110  # nodeadm's defaultMaxPods
    return _allocatable(shape, _tiered(shape.vcpu, _CPU_TIERS), 11.0 * max_pods + 255)


def aks_allocatable(shape: MachineShape, max_pods: int = AKS_MAX_PODS) -> Allocatable:
    """AKS 1.29+ Linux nodes ("Node resource reservations"): memory min(20 MB per pod + 50 MB,
    25% of the VM's memory); CPU from the documented table. The table lists 1 to 64 cores; every
    point from 4 cores lies on 100m + 10m per core, which gives the sizes between and above."""
    cpu_millicores = _AKS_CPU_MILLICORES.get(shape.vcpu, 100 + 10 * shape.vcpu)
    memory_mib = shape.memory_gib * MIB_PER_GIB
    reserved_mib = min(20.0 * max_pods + 50, 0.25 * memory_mib)
    return _allocatable(shape, cpu_millicores / 1000, reserved_mib)


def _allocatable(shape: MachineShape, cpu_reserved: float, memory_reserved_mib: float) -> Allocatable:
    memory_mib = shape.memory_gib * MIB_PER_GIB - memory_reserved_mib - EVICTION_MIB
    return Allocatable(cpu=shape.vcpu - cpu_reserved, memory_gib=memory_mib / MIB_PER_GIB)


ALLOCATABLE = {"gcp": gke_allocatable, "aws": eks_allocatable, "azure": aks_allocatable}
