"""What AKS and Azure accept, checked at the door: pool names, VM sizes, zones, subnet room.

The rules live here (not in the components) so that a cluster AKS would reject fails before
any resource is declared, with the exact key named; the components reuse the same helpers
(`aks_pool_name`, `node_subnet_cidr`) so what is checked is what is built.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from typing import TYPE_CHECKING

from stacks import catalog, versions
from stacks.base import rule_error
from stacks.capacity import MachineShape

if TYPE_CHECKING:
    from stacks.clusters import ClusterConfig

# AKS agent pool names: lowercase letters and digits, starting with a letter, 1-12 long
# (Linux pools; they prefix VM scale set and node names).
AKS_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
AKS_ZONES = ("1", "2", "3")
# Azure keeps five addresses of every subnet (network, gateway, 2x DNS, broadcast).
AZURE_RESERVED_ADDRESSES = 5
ACR_MAX_RETENTION_DAYS = 365
MIN_CONTAINER_NAME = 3
# The API server admits at most 200 authorized ranges; the platform adds one, the NAT gateway's
# egress IP (learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges, checked 2026-12-01).
AKS_MAX_AUTHORIZED_RANGES = 200
# Application Gateway for Containers on a CNI overlay cluster takes a /24 association subnet.
# (Its ALB controller needs Kubernetes 1.32 or later: every AKS version of the catalog is.)
AGC_SUBNET_PREFIX = 24
# NVIDIA GPUs on Azure come with the N-series VM sizes (NC, ND, NV), except NVv4 (AMD GPUs,
# unsupported on AKS).
GPU_VM_SIZE = re.compile(r"^Standard_N(C|D|V(?!\d+as_v4$))", re.IGNORECASE)
# VM sizes, their series and the regions: the dated catalog (sources inside).
CATALOG = "aks.yaml"
# The vCPU count in a size name: Standard_D8ds_v5 -> 8 (series Standard_D#ds_v5).
_SIZE_VCPUS = re.compile(r"^(Standard_[A-Z]+)([0-9]+)")


def series(vm_size: str) -> str:
    """A VM size's series: its vCPU count replaced by '#' (Standard_D8ds_v5 -> Standard_D#ds_v5)."""
    return _SIZE_VCPUS.sub(lambda m: m.group(1) + "#", vm_size, count=1)


def _size_number(vm_size: str) -> int | None:
    match = _SIZE_VCPUS.match(vm_size)
    return int(match.group(2)) if match else None


@cache
def vm_shapes() -> dict[str, MachineShape]:
    document = catalog.load(CATALOG)
    shapes: dict[str, MachineShape] = {}
    for series, spec in document["series"].items():
        for vcpus in spec["vcpus"]:
            name = series.replace("#", str(vcpus))
            memory = spec.get("memoryGiB", {}).get(vcpus, vcpus * spec["memoryPerVcpuGiB"])
            shapes[name] = MachineShape(name, vcpus, memory)
    for name, spec in document["vmSizes"].items():
        shapes[name] = MachineShape(name, spec["vcpu"], spec["memoryGiB"], spec["gpus"], spec["gpu"])
    return shapes


def vm_shape(vm_size: str) -> MachineShape | None:
    return vm_shapes().get(vm_size)


def known_series(vm_size: str) -> bool:
    """The catalog lists every size of this VM size's series."""
    return any(series(name) == series(vm_size) for name in vm_shapes())


def regions() -> dict[str, list[str]]:
    """Location -> its availability zones."""
    return dict(catalog.load(CATALOG)["regions"])


def aks_pool_name(pool_name: str) -> str:
    """The AKS agent pool name of a config pool: its name without hyphens ('gpu-t4' -> 'gput4').

    Readable beats hashed here: node names show it. The full config name is still on every
    node as the POOL_LABEL label, which is what workloads select on.
    """
    return pool_name.replace("-", "")


def aks_kubernetes_version(cluster: ClusterConfig) -> str:
    """The cluster's Kubernetes minor: the configured one, else the catalog's newest in standard
    support (stacks/catalogs/kubernetes.yaml). Always explicit, so that the upgrade is a reviewed
    change of the plan rather than AKS's default moving underneath the stack."""
    return cluster.kubernetes_version or versions.default_kubernetes_version("azure")


def node_subnet_cidr(vnet_cidr: str) -> str:
    """The node subnet: the first half of the VNet.

    With Azure CNI overlay, pods take their IPs from the overlay pod CIDR, not from the VNet,
    so the subnet only holds node IPs (and internal load balancers); the second half holds the
    Application Gateway for Containers subnet and stays free otherwise (private endpoints).
    """
    network = ipaddress.ip_network(vnet_cidr)
    return str(next(network.subnets(prefixlen_diff=1)))


def agc_subnet_cidr(vnet_cidr: str) -> str:
    """The Application Gateway for Containers association subnet: the first /24 of the VNet's
    second half. With CNI overlay AGC takes exactly a /24, delegated to it alone."""
    second_half = list(ipaddress.ip_network(vnet_cidr).subnets(prefixlen_diff=1))[1]
    return str(next(second_half.subnets(new_prefix=AGC_SUBNET_PREFIX)))


# Azure enables Network Watcher in a region by itself when a VNet is created or updated there
# (learn.microsoft.com/azure/network-watcher/network-watcher-create, "Network Watcher is
# automatically enabled"), as NetworkWatcher_<location> in the resource group NetworkWatcherRG.
AUTO_NETWORK_WATCHER_GROUP = "NetworkWatcherRG"


def network_watcher(cluster: ClusterConfig) -> tuple[str, str]:
    """(resource group, name) of the Network Watcher the cluster's VNet flow logs live under:
    `azure.networkWatcher`, else the one Azure creates for the region."""
    settings = cluster.azure
    assert settings is not None  # an AKS cluster
    if settings.network_watcher is not None:
        return settings.network_watcher.resource_group, settings.network_watcher.name
    return AUTO_NETWORK_WATCHER_GROUP, f"NetworkWatcher_{settings.location}"


def check_aks_cluster(cluster: ClusterConfig) -> None:
    """Raise a rule error (with the key path below the cluster) for what AKS would reject."""
    settings = cluster.azure
    assert settings is not None and cluster.network is not None  # checked before this runs
    try:
        aks_kubernetes_version(cluster)
    except LookupError as exc:  # a stale catalog: no default to fall back on
        raise rule_error(("kubernetesVersion",), f"{exc}, or set kubernetesVersion") from None
    zones = _check_location(settings)
    seen: dict[str, str] = {}
    for name, pool in cluster.pools.items():
        aks_name = aks_pool_name(name)
        if not AKS_POOL_NAME.match(aks_name):
            raise rule_error(
                ("pools", name),
                f"AKS names node pools with 1-12 lowercase letters and digits; {name!r} would "
                f"become {aks_name!r} ({len(aks_name)} characters): choose a shorter pool name",
            )
        if aks_name in seen:
            raise rule_error(
                ("pools", name),
                f"pools {seen[aks_name]!r} and {name!r} both become AKS pool {aks_name!r} "
                "(hyphens are dropped): rename one",
            )
        seen[aks_name] = name
        if pool.kind == "gpu":
            if not GPU_VM_SIZE.match(pool.machine_type or ""):
                raise rule_error(
                    ("pools", name, "machineType"),
                    f"{pool.machine_type!r} is not an NVIDIA GPU VM size; a gpu pool on AKS needs an "
                    "N-series size (e.g. Standard_NC4as_T4_v3, Standard_NC24ads_A100_v4)",
                )
            if not (pool.accelerator or "").startswith("nvidia-"):
                raise rule_error(
                    ("pools", name, "accelerator"),
                    f"AKS supports NVIDIA GPUs only; name the GPU as nvidia-<model> (e.g. nvidia-tesla-t4), "
                    f"not {pool.accelerator!r}",
                )
            if pool.gpu_sharing is not None:
                raise rule_error(
                    ("pools", name, "gpuSharing"),
                    "GPU time-sharing/MPS is configured by GKE only; on AKS remove gpuSharing "
                    "(use one pod per GPU, or a MIG-capable VM size)",
                )
        _check_vm_size(name, pool)
        for zone in pool.zones:
            if zone not in AKS_ZONES:
                raise rule_error(
                    ("pools", name, "zones"),
                    f"Azure availability zones are '1', '2' and '3', not {zone!r}",
                )
            if zone not in zones:
                raise rule_error(("pools", name, "zones"), _no_zones(settings.location))
    for name, price in settings.spot_max_price.items():
        if name not in cluster.pools or not cluster.pools[name].spot:
            raise rule_error(
                ("azure", "spotMaxPrice", name),
                f"{name!r} is not a spot pool of this cluster; list only pools with spot: true",
            )
        if price != -1 and price <= 0:
            raise rule_error(
                ("azure", "spotMaxPrice", name),
                f"{price} is not a price: give USD per node-hour, or -1 for up to the on-demand price",
            )
    if not cluster.private_endpoint and not cluster.api_networks:
        raise rule_error(
            ("authorizedNetworks",),
            "a public AKS API server must be restricted: list the CIDRs allowed to reach it, "
            "or set privateEndpoint: true",
        )
    if not cluster.private_endpoint and len(cluster.api_networks) >= AKS_MAX_AUTHORIZED_RANGES:
        raise rule_error(
            ("authorizedNetworks",),
            f"AKS admits at most {AKS_MAX_AUTHORIZED_RANGES} authorized ranges, one of which the "
            f"platform takes for the NAT gateway's egress IP: list at most "
            f"{AKS_MAX_AUTHORIZED_RANGES - 1} (merge adjacent ones)",
        )
    if cluster.registry is not None and "keep_recent" in cluster.registry.model_fields_set:
        raise rule_error(
            ("registry", "keepRecent"),
            "ACR never deletes tagged images, only untagged manifests after untaggedRetentionDays; "
            "remove keepRecent",
        )
    if cluster.registry is not None and cluster.registry.untagged_retention_days > ACR_MAX_RETENTION_DAYS:
        raise rule_error(
            ("registry", "untaggedRetentionDays"),
            f"ACR keeps untagged manifests at most {ACR_MAX_RETENTION_DAYS} days, "
            f"not {cluster.registry.untagged_retention_days}",
        )
    for bucket in cluster.buckets:
        if len(bucket) < MIN_CONTAINER_NAME or "--" in bucket:
            raise rule_error(
                ("buckets", bucket),
                f"bucket {bucket!r} becomes a blob container, whose name needs at least "
                f"{MIN_CONTAINER_NAME} characters and no '--'",
            )
    _check_support_plan(cluster)
    _check_node_subnet_room(cluster)
    if cluster.routing_mode == "gateway":
        _check_gateway(cluster)


def _check_location(settings) -> list[str]:
    """The location exists and has the zones asked for; returns its zones."""
    known = regions()
    if settings.location not in known:
        raise rule_error(
            ("azure", "location"),
            f"{settings.location!r} is not an Azure region with AKS ({catalog.cited(CATALOG)}): nearest "
            f"known: {catalog.nearest(settings.location, known)}",
        )
    zones = known[settings.location]
    if any(zone not in zones for zone in settings.zones):
        raise rule_error(("azure", "zones"), _no_zones(settings.location))
    return zones


def _no_zones(location: str) -> str:
    return (
        f"{location} has no availability zones ({catalog.cited(CATALOG)}): remove zones "
        "(regional placement) or choose a region with zones"
    )


def _check_vm_size(name: str, pool) -> None:
    """A size of a listed series must exist; a GPU size's accelerator and count are its own."""
    vm_size = pool.machine_type or ""
    shape = vm_shape(vm_size)
    if shape is None:
        if known_series(vm_size):
            siblings = {n: s.vcpu for n, s in vm_shapes().items() if series(n) == series(vm_size)}
            raise rule_error(
                ("pools", name, "machineType"),
                f"Azure has no VM size {vm_size} ({catalog.cited(CATALOG)}): nearest sizes: "
                f"{catalog.nearest_sizes(vm_size, siblings, _size_number)}",
            )
        return  # an unlisted series: StackConfig.warnings says it is unchecked
    if pool.kind == "cpu" and shape.gpu is not None:
        raise rule_error(("pools", name, "kind"), catalog.gpu_machine_in_cpu_pool(shape))
    if pool.kind != "gpu" or shape.gpu is None:
        return
    if pool.accelerator != shape.gpu:
        raise rule_error(
            ("pools", name, "accelerator"),
            f"{vm_size} carries {shape.gpu} GPUs, not {pool.accelerator}: set accelerator: {shape.gpu}",
        )
    if pool.gpus_per_node != shape.gpus:
        raise rule_error(
            ("pools", name, "acceleratorCount"),
            f"{vm_size} has {shape.gpus} GPU(s), not {pool.gpus_per_node}: set acceleratorCount: "
            f"{shape.gpus} or choose another size",
        )


def _check_support_plan(cluster: ClusterConfig) -> None:
    """Long-term support needs the Premium tier and a version AKS offers it for
    (learn.microsoft.com/azure/aks/long-term-support: "Enabling LTS requires moving your cluster
    to the Premium tier and explicitly selecting the LTS support plan")."""
    settings = cluster.azure
    assert settings is not None
    if settings.support_plan != "AKSLongTermSupport":
        return
    if settings.sku_tier != "Premium":
        raise rule_error(
            ("azure", "supportPlan"),
            f"AKS long-term support is part of the Premium tier, not {settings.sku_tier}: "
            "set azure.skuTier: Premium, or supportPlan: KubernetesOfficial",
        )
    version = aks_kubernetes_version(cluster)
    release = versions.kubernetes_release("azure", version)
    # An unknown version is the catalog check's to report (ClusterConfig._kubernetes_version_offered).
    if release is not None and not release.lts:
        today = versions.run_date()
        offered = [
            r.version
            for r in versions.kubernetes_releases("azure").values()
            if r.lts and versions.support_phase(r, today) != "ended"
        ]
        raise rule_error(
            ("azure", "supportPlan"),
            f"AKS offers no long-term support for Kubernetes {version} (stacks/catalogs/kubernetes.yaml, "
            f"checked {versions.catalog_checked()}): use an LTS version "
            f"({', '.join(offered) or 'none listed'}) or supportPlan: KubernetesOfficial",
        )


def _check_node_subnet_room(cluster: ClusterConfig) -> None:
    assert cluster.network is not None
    subnet = ipaddress.ip_network(node_subnet_cidr(cluster.network.cidr))
    # Every node at max, plus one surge node per pool during upgrades.
    needed = sum(pool.max + 1 for pool in cluster.pools.values()) + AZURE_RESERVED_ADDRESSES
    if needed > subnet.num_addresses:
        raise rule_error(
            ("network", "cidr"),
            f"the node subnet {subnet} (first half of {cluster.network.cidr}) has "
            f"{subnet.num_addresses} addresses but the pools need {needed} at max scale; "
            "use a larger cidr or lower pool max",
        )


def _check_gateway(cluster: ClusterConfig) -> None:
    """What Application Gateway for Containers (the AKS gateway) needs from the cluster."""
    assert cluster.network is not None
    vnet = ipaddress.ip_network(cluster.network.cidr)
    if vnet.prefixlen > AGC_SUBNET_PREFIX - 1:
        raise rule_error(
            ("network", "cidr"),
            f"{cluster.network.cidr} leaves no room for the /{AGC_SUBNET_PREFIX} subnet of Application "
            f"Gateway for Containers in its second half: use a /{AGC_SUBNET_PREFIX - 1} or larger cidr, "
            "or routing.mode: ingress",
        )
