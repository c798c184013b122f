"""What Compute Engine and GKE accept, checked at the door, from the dated catalog
`stacks/catalogs/gke.yaml` (sources and check date inside): regions and zones, machine types
and their shapes, the GPUs each family carries or takes and the zones that offer each GPU; the
zones that offer each TPU come from `stacks/catalogs/gke_tpu.yaml`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from stacks import catalog, tpu
from stacks.base import rule_error
from stacks.capacity import MachineShape

if TYPE_CHECKING:
    from stacks.clusters import ClusterConfig, PoolConfig

CATALOG = "gke.yaml"
# <family>-<shape>-<vCPUs>, the predefined machine type names, or <GPUs>g / <chips>t for the
# accelerator-optimized and TPU types (custom types add -<memory MB> and match no series).
_PREDEFINED = re.compile(r"^(?P<family>[a-z][a-z0-9]*)-(?P<shape>[a-z]+)-(?P<size>[0-9]+[gt]?)$")


def _catalog() -> dict:
    return catalog.load(CATALOG)


def regions() -> dict[str, list[str]]:
    """Region -> its zones (full names)."""
    return {region: [f"{region}-{z}" for z in zones] for region, zones in _catalog()["regions"].items()}


@cache
def machine_shapes() -> dict[str, MachineShape]:
    shapes: dict[str, MachineShape] = {}
    for family, kinds in _catalog()["families"].items():
        for kind, spec in kinds.items():
            for vcpus in spec["vcpus"]:
                name = f"{family}-{kind}-{vcpus}"
                shapes[name] = MachineShape(name, vcpus, vcpus * spec["memoryPerVcpuGiB"])
    for name, spec in _catalog()["machineTypes"].items():
        shapes[name] = MachineShape(
            name, spec["vcpu"], spec["memoryGiB"], spec.get("gpus", 0), spec.get("gpu")
        )
    return shapes


def machine_shape(machine_type: str) -> MachineShape | None:
    return machine_shapes().get(machine_type)


def _series(machine_type: str) -> str:
    """`n2-standard` of n2-standard-8; the name itself when it is not a predefined type."""
    match = _PREDEFINED.match(machine_type)
    return f"{match['family']}-{match['shape']}" if match else machine_type


def known_series(machine_type: str) -> bool:
    """The catalog lists every size of this machine type's family and shape."""
    series = _series(machine_type)
    return any(_series(name) == series for name in machine_shapes())


def _n1_attachable() -> dict[str, list[dict]]:
    return _catalog()["n1Attachable"]


def accelerators() -> list[str]:
    """Every GPU the catalog knows: attachable to N1, or built into a machine type."""
    built_in = {shape.gpu for shape in machine_shapes().values() if shape.gpu}
    return sorted(set(_n1_attachable()) | built_in)


def gpu_zones(accelerator: str) -> list[str] | None:
    """The zones that offer this GPU; None for a GPU the catalog does not know."""
    return _catalog()["gpuZones"].get(accelerator)


def region_problem(region: str) -> str | None:
    if region in regions():
        return None
    return (
        f"{region!r} is not a Compute Engine region ({catalog.cited(CATALOG)}): nearest known: "
        f"{catalog.nearest(region, regions())}"
    )


def zone_problem(zone: str, region: str) -> str | None:
    """Why `zone` is not a zone of `region` (a catalog region), or None."""
    zones = regions()[region]
    if zone in zones:
        return None
    where = "" if zone.startswith(region + "-") else f" but of {_region_of(zone)}"
    return (
        f"{zone!r} is not a zone of {region}{where} ({catalog.cited(CATALOG)}): use one of {', '.join(zones)}"
    )


def check_gke_cluster(cluster: ClusterConfig) -> None:
    """Raise a rule error (key path below the cluster) for a pool GKE would refuse: its zones,
    machine type, GPUs, and zones that lack its GPU or TPU (the cluster's region and zones are
    checked by GcpSettings)."""
    settings = cluster.gcp
    assert settings is not None
    for name, pool in cluster.pools.items():
        for index, zone in enumerate(pool.zones):
            problem = zone_problem(zone, settings.region)
            if problem:
                raise rule_error(("pools", name, "zones", index), problem)
        _check_machine(name, pool)
        offered = _zones_offering(pool)
        if offered is not None:
            _check_offered_in(name, pool, settings.region, settings.zones, offered)


def _check_machine(name: str, pool: PoolConfig) -> None:
    machine_type = pool.machine_type or ""
    shape = machine_shape(machine_type)
    if shape is None:
        if known_series(machine_type):
            series = {m: s.vcpu for m, s in machine_shapes().items() if _series(m) == _series(machine_type)}
            raise rule_error(
                ("pools", name, "machineType"),
                f"Compute Engine has no {machine_type} ({catalog.cited(CATALOG)}): nearest sizes: "
                f"{catalog.nearest_sizes(machine_type, series, catalog.trailing_number)}",
            )
        return  # a family the catalog does not list: StackConfig.warnings says it is unchecked
    if pool.kind == "cpu" and shape.gpu is not None:
        raise rule_error(("pools", name, "kind"), catalog.gpu_machine_in_cpu_pool(shape))
    if pool.kind == "gpu":
        _check_gpus(name, pool, shape)


def _check_gpus(name: str, pool: PoolConfig, shape: MachineShape) -> None:
    """GPUs either come with the machine type (G2, A2, A3: model and count fixed) or attach to
    N1 in the counts each N1 size allows ("GPU machine types"); no other family takes GPUs."""
    accelerator = pool.accelerator or ""
    where = catalog.cited(CATALOG)
    if accelerator not in accelerators():
        raise rule_error(
            ("pools", name, "accelerator"),
            f"{accelerator!r} is not a GKE GPU type ({where}): nearest known: "
            f"{catalog.nearest(accelerator, accelerators())}",
        )
    count = pool.gpus_per_node
    if shape.gpu is not None:
        if accelerator != shape.gpu:
            raise rule_error(
                ("pools", name, "accelerator"),
                f"{shape.name} comes with {shape.gpu} GPUs, not {accelerator}: set accelerator: {shape.gpu} "
                f"or choose a machine type that carries {accelerator}",
            )
        if count != shape.gpus:
            raise rule_error(
                ("pools", name, "acceleratorCount"),
                f"{shape.name} has {shape.gpus} {shape.gpu} GPU(s), not {count}: set acceleratorCount: "
                f"{shape.gpus} or choose another {shape.name.rsplit('-', 1)[0]} size",
            )
        return
    family = shape.name.split("-")[0]
    attachable = _n1_attachable().get(accelerator)
    if family != "n1" or attachable is None:
        carriers = sorted({s.name.split("-")[0] for s in machine_shapes().values() if s.gpu == accelerator})
        fix = (
            f"use a {'/'.join(carriers)} machine type, which comes with it"
            if carriers
            else f"use an n1 machine type ({accelerator} attaches to N1 only)"
        )
        raise rule_error(
            ("pools", name, "accelerator"),
            f"{shape.name} cannot carry {accelerator} ({where}): {fix}",
        )
    fits = [
        option["count"]
        for option in attachable
        if shape.vcpu <= option["maxVcpu"] and shape.memory_gib <= option["maxMemoryGiB"]
    ]
    if count not in fits:
        options = ", ".join(str(c) for c in fits) or "none"
        raise rule_error(
            ("pools", name, "acceleratorCount"),
            f"{shape.name} takes {options} {accelerator} GPU(s), not {count} ({where}): set one of those "
            "counts or choose another n1 size",
        )


class _Offered(NamedTuple):
    """Where a pool's accelerator exists: as messages name it, every catalog zone that offers it
    and the catalog it comes from."""

    what: str
    zones: list[str]
    source: str


def _zones_offering(pool: PoolConfig) -> _Offered | None:
    """None for a CPU pool or an accelerator the catalogs do not list (refused or warned about)."""
    if pool.kind == "tpu":
        accelerator = tpu.tpu_accelerator(pool.machine_type or "")
        offered = tpu.zones_offering(pool.machine_type or "")
        if accelerator is None or offered is None:
            return None
        return _Offered(f"{accelerator} TPUs", offered, "gke_tpu.yaml")
    zones = gpu_zones(pool.accelerator or "") if pool.kind == "gpu" else None
    return None if zones is None else _Offered(f"{pool.accelerator} GPUs", zones, CATALOG)


def _region_of(zone: str) -> str:
    return zone.rsplit("-", 1)[0]  # us-central1-a: region us-central1


def _check_offered_in(
    name: str, pool: PoolConfig, region: str, cluster_zones: list[str], offered: _Offered
) -> None:
    """GKE creates a pool's nodes in each of its zones (its own, else the cluster's): every one
    must offer the pool's accelerator."""
    for zone in pool.zones or cluster_zones:
        if zone not in offered.zones:
            here = [z for z in offered.zones if _region_of(z) == region]
            fix = (
                catalog.offered_in(here)
                if here
                else catalog.offered_elsewhere(region, (_region_of(z) for z in offered.zones))
            )
            raise rule_error(
                ("pools", name, "zones"),
                catalog.not_offered(offered.what, zone, not pool.zones, catalog.cited(offered.source), fix),
            )
