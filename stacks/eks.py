"""What EKS and EC2 accept, checked at the door, from the dated catalog
`stacks/catalogs/eks.yaml` (sources and check date inside): autoscaler images per Kubernetes
minor, the AZ IDs without an EKS control plane, and the NVIDIA GPU instance types.

The components read the same catalog (`gpu_instance`, `cluster_autoscaler_image`), so what is
checked is what is built.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from stacks import versions
from stacks.base import rule_error

if TYPE_CHECKING:
    from stacks.clusters import ClusterConfig

CATALOG = Path(__file__).with_name("catalogs") / "eks.yaml"
# EKS API Taint: key 1-63 characters, value 0-63
# (https://docs.aws.amazon.com/eks/latest/APIReference/API_Taint.html).
TAINT_KEY_MAX = 63
# AZ IDs are `<region code>-az<n>`, the region code shortening each part of the region name
# (eu-west-1 -> euw1, ap-southeast-2 -> apse2, us-gov-west-1 -> usgw1).
_REGION_WORDS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "gov": "g",
}


@dataclass(frozen=True)
class GpuInstance:
    instance_type: str
    vcpu: int
    memory_gib: float
    gpus: int
    # The GPU model, as the k8s.amazonaws.com/accelerator label value (nvidia-l4, ...).
    gpu: str


@cache
def _catalog() -> dict[str, Any]:
    return yaml.safe_load(CATALOG.read_text())


def catalog_checked() -> str:
    return str(_catalog()["checked"])


def cluster_autoscaler_images() -> dict[str, str]:
    """Kubernetes minor -> cluster-autoscaler image tag."""
    return dict(_catalog()["clusterAutoscalerImages"])


def gpu_instances() -> dict[str, GpuInstance]:
    return {
        name: GpuInstance(name, spec["vcpu"], spec["memoryGiB"], spec["gpus"], spec["gpu"])
        for name, spec in _catalog()["gpuInstanceTypes"].items()
    }


def gpu_instance(instance_type: str) -> GpuInstance | None:
    return gpu_instances().get(instance_type)


def unsupported_zone_ids(region: str) -> list[str]:
    return list(_catalog()["unsupportedAvailabilityZoneIds"].get(region, []))


def region_code(region: str) -> str:
    *words, number = region.split("-")
    area, *directions = words
    return area + "".join(_REGION_WORDS.get(word, word[0]) for word in directions) + number


def zone_id_error(region: str, zone_id: str) -> str | None:
    """Why `zone_id` cannot hold an EKS cluster subnet in `region`, or None."""
    code = region_code(region)
    if not re.fullmatch(rf"{re.escape(code)}-az[0-9]+", zone_id):
        return (
            f"{zone_id!r} is not an AZ ID of {region} (such as {code}-az1; list them with "
            f"`aws ec2 describe-availability-zones --region {region}`, field ZoneId)"
        )
    if zone_id in unsupported_zone_ids(region):
        return (
            f"EKS runs no control plane in {zone_id} (UnsupportedAvailabilityZoneException; "
            f"stacks/catalogs/eks.yaml, checked {catalog_checked()}): choose other AZ IDs"
        )
    return None


def check_eks_cluster(cluster: ClusterConfig) -> None:
    """EKS's own limits on the cluster's version, pools and taints (raises a rule error)."""
    version = cluster.kubernetes_version
    # A version EKS does not offer at all gets the version catalog's own error.
    offered = version is not None and versions.kubernetes_release("aws", version) is not None
    if offered and version not in cluster_autoscaler_images():
        raise rule_error(
            ("kubernetesVersion",),
            f"no cluster-autoscaler image is pinned for Kubernetes {version}: add the newest "
            "cluster-autoscaler-" + version + ".x release to stacks/catalogs/eks.yaml "
            "(clusterAutoscalerImages)",
        )
    for name, pool in cluster.pools.items():
        for index, taint in enumerate(pool.taints):
            if len(taint.key) > TAINT_KEY_MAX:
                raise rule_error(
                    ("pools", name, "taints", index, "key"),
                    f"EKS taint keys are 1-{TAINT_KEY_MAX} characters, this one has {len(taint.key)}: "
                    "shorten it",
                )
        if pool.kind == "gpu":
            _check_gpu_pool(name, pool)


def _check_gpu_pool(name: str, pool) -> None:
    instance = gpu_instance(pool.machine_type or "")
    if instance is None:
        known = difflib.get_close_matches(pool.machine_type or "", list(gpu_instances()), n=3, cutoff=0)
        raise rule_error(
            ("pools", name, "machineType"),
            f"{pool.machine_type} is not a known NVIDIA GPU instance type (stacks/catalogs/eks.yaml, "
            f"checked {catalog_checked()}); nearest known: {', '.join(known)}",
        )
    if pool.accelerator != instance.gpu:
        raise rule_error(
            ("pools", name, "accelerator"),
            f"{instance.instance_type} carries {instance.gpu} GPUs, not {pool.accelerator}: "
            f"set accelerator: {instance.gpu}",
        )
    # The pool contract counts `acceleratorCount or 1` GPUs per node: it must be the real count.
    if (pool.accelerator_count or 1) != instance.gpus:
        raise rule_error(
            ("pools", name, "acceleratorCount"),
            f"{instance.instance_type} has {instance.gpus} GPU(s), not {pool.accelerator_count or 1}: "
            f"set acceleratorCount: {instance.gpus} or choose another instance type",
        )
