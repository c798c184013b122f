"""What EKS and EC2 accept, checked at the door, from the dated catalog
`stacks/catalogs/eks.yaml` (sources and check date inside): autoscaler images per Kubernetes
minor, the regions and their AZ IDs, the AZ IDs without an EKS control plane, the instance
types (vCPUs, memory, ENIs; GPUs and their model for the NVIDIA types) and the AZ IDs that offer
each NVIDIA type.

The components read the same catalog (`gpu_instance`, `cluster_autoscaler_image`), so what is
checked is what is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from stacks import catalog, versions
from stacks.base import rule_error
from stacks.capacity import MachineShape

if TYPE_CHECKING:
    from stacks.clusters import ClusterConfig, PoolConfig

CATALOG = "eks.yaml"
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


def _catalog() -> dict[str, Any]:
    return catalog.load(CATALOG)


def catalog_checked() -> str:
    return str(_catalog()["checked"])


@cache
def instance_shapes() -> dict[str, MachineShape]:
    """Instance type -> its shape, with the pods the EKS AMI lets it run (nodeadm's standard
    max pods: ENIs x (IPv4 addresses per ENI - 1) + 2)."""
    return {
        name: MachineShape(
            name,
            spec["vcpu"],
            spec["memoryGiB"],
            spec.get("gpus", 0),
            spec.get("gpu"),
            max_pods=spec["enis"] * (spec["ipsPerEni"] - 1) + 2,
        )
        for name, spec in _catalog()["instanceTypes"].items()
    }


def instance_shape(instance_type: str) -> MachineShape | None:
    return instance_shapes().get(instance_type)


def known_family(instance_type: str) -> bool:
    """The catalog lists every size of this instance type's family (m6i of m6i.xlarge)."""
    family = instance_type.split(".")[0]
    return any(name.split(".")[0] == family for name in _catalog()["instanceTypes"])


def _size_vcpus(instance_type: str) -> int | None:
    """The vCPUs an EC2 size name stands for in the m/c/r families: large 2, xlarge 4, Nxlarge 4N."""
    match = re.fullmatch(r"[^.]+\.([0-9]*)(x?)large", instance_type)
    if not match:
        return None
    return (int(match.group(1) or 1) * 4) if match.group(2) else 2


def regions() -> list[str]:
    return list(_catalog()["regions"])


def region_problem(region: str) -> str | None:
    if region in _catalog()["regions"]:
        return None
    return (
        f"{region!r} is not an AWS region with EKS ({catalog.cited(CATALOG)}): nearest known: "
        f"{catalog.nearest(region, regions())}"
    )


def cluster_autoscaler_images() -> dict[str, str]:
    """Kubernetes minor -> cluster-autoscaler image tag."""
    return dict(_catalog()["clusterAutoscalerImages"])


def gpu_instances() -> dict[str, GpuInstance]:
    return {
        name: GpuInstance(name, shape.vcpu, shape.memory_gib, shape.gpus, shape.gpu)
        for name, shape in instance_shapes().items()
        if shape.gpu is not None
    }


def gpu_instance(instance_type: str) -> GpuInstance | None:
    return gpu_instances().get(instance_type)


def unsupported_zone_ids(region: str) -> list[str]:
    return list(_catalog()["unsupportedAvailabilityZoneIds"].get(region, []))


def region_code(region: str) -> str:
    *words, number = region.split("-")
    area, *directions = words
    return area + "".join(_REGION_WORDS.get(word, word[0]) for word in directions) + number


def _zone_ids(region: str, numbers: list[int]) -> list[str]:
    return [f"{region_code(region)}-az{n}" for n in numbers]


def zone_ids(region: str) -> list[str]:
    """The AZ IDs of a catalog region (eu-west-1: euw1-az1..az3); none for an unknown region."""
    return _zone_ids(region, _catalog()["regions"].get(region, []))


def zone_id_error(region: str, zone_id: str) -> str | None:
    """Why `zone_id` cannot hold an EKS cluster subnet in `region`, or None."""
    code = region_code(region)
    if not re.fullmatch(rf"{re.escape(code)}-az[0-9]+", zone_id):
        return (
            f"{zone_id!r} is not an AZ ID of {region} (such as {code}-az1; list them with "
            f"`aws ec2 describe-availability-zones --region {region}`, field ZoneId)"
        )
    existing = zone_ids(region)
    if existing and zone_id not in existing:
        return f"{region} has no AZ ID {zone_id} ({catalog.cited(CATALOG)}): use one of {', '.join(existing)}"
    if zone_id in unsupported_zone_ids(region):
        return (
            f"EKS runs no control plane in {zone_id} (UnsupportedAvailabilityZoneException; "
            f"stacks/catalogs/eks.yaml, checked {catalog_checked()}): choose other AZ IDs"
        )
    return None


def _gpu_zone_ids() -> dict[str, Any]:
    return _catalog()["gpuZoneIds"]


def gpu_offerings(instance_type: str) -> dict[str, list[str]] | None:
    """Region -> the AZ IDs that offer this GPU instance type (a covered region offering none is
    absent); None for a type the source does not list."""
    offerings = _gpu_zone_ids()["offerings"]
    by_region = offerings.get(instance_type) or offerings.get(instance_type.split(".")[0])
    if by_region is None:
        return None
    return {region: _zone_ids(region, numbers) for region, numbers in by_region.items()}


def zone_ids_offering(instance_type: str, region: str) -> list[str] | None:
    """The AZ IDs of `region` that offer `instance_type`; None where the catalog does not say
    (a region or type its source does not cover), and then nothing is checked."""
    offerings = gpu_offerings(instance_type)
    if offerings is None or region not in _gpu_zone_ids()["regions"]:
        return None
    return offerings.get(region, [])


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
        machine_type = pool.machine_type or ""
        if instance_shape(machine_type) is None and known_family(machine_type):
            family = {
                n: s.vcpu
                for n, s in instance_shapes().items()
                if n.split(".")[0] == machine_type.split(".")[0]
            }
            raise rule_error(
                ("pools", name, "machineType"),
                f"EC2 has no {machine_type} ({catalog.cited(CATALOG)}): nearest sizes: "
                f"{catalog.nearest_sizes(machine_type, family, _size_vcpus)}",
            )
        shape = instance_shape(machine_type)
        if pool.kind == "cpu" and shape is not None and shape.gpu is not None:
            raise rule_error(("pools", name, "kind"), catalog.gpu_machine_in_cpu_pool(shape))
        if pool.kind == "gpu":
            _check_gpu_pool(name, pool)
            _check_offered_in(name, pool, cluster)


def _check_gpu_pool(name: str, pool) -> None:
    instance = gpu_instance(pool.machine_type or "")
    if instance is None:
        # Unlike a CPU type, a GPU type must be in the catalog: the node group's accelerator
        # label and the autoscaler's scale-from-zero GPU tag are read from it.
        raise rule_error(
            ("pools", name, "machineType"),
            f"{pool.machine_type} is not a known NVIDIA GPU instance type ({catalog.cited(CATALOG)}); "
            f"nearest known: {catalog.nearest(pool.machine_type or '', gpu_instances())}",
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


def _check_offered_in(name: str, pool: PoolConfig, cluster: ClusterConfig) -> None:
    """A managed node group gets a subnet in each of the pool's zones (its own, else the
    cluster's), and CreateNodegroup fails with "Your requested instance type ... is not supported
    in your requested Availability Zone" when one lacks the type (eksctl-io/eksctl#6461): every
    zone must offer it. Unchecked where the catalog does not say (zone_ids_offering is None)."""
    settings = cluster.aws
    assert settings is not None
    instance_type = pool.machine_type or ""
    offered = zone_ids_offering(instance_type, settings.region)
    if offered is None:
        return
    cluster_zones = settings.availability_zone_ids
    for zone in pool.zones or cluster_zones:
        if zone not in offered:
            raise rule_error(
                ("pools", name, "zones"),
                catalog.not_offered(
                    f"{instance_type} instances",
                    zone,
                    not pool.zones,
                    _offerings_cited(),
                    _offering_fix(instance_type, settings.region, offered, cluster_zones),
                ),
            )


def _offerings_cited() -> str:
    return f"stacks/catalogs/{CATALOG} gpuZoneIds, checked {_gpu_zone_ids()['checked']}"


def _offering_fix(instance_type: str, region: str, offered: list[str], cluster_zones: list[str]) -> str:
    """The pool's zones must be cluster zones (their subnets): those that offer the type, else the
    region's AZ IDs that offer it and can hold cluster subnets, else the regions that offer it."""
    usable = [z for z in cluster_zones if z in offered]
    if usable:
        return catalog.offered_in(usable)
    addable = [z for z in offered if z not in unsupported_zone_ids(region)]
    if addable:
        return (
            f"no cluster zone offers them: add {' or '.join(addable)} to availabilityZoneIds and "
            "set the pool's zones to it"
        )
    return catalog.offered_elsewhere(region, set(gpu_offerings(instance_type) or {}) - {region})
