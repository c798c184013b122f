"""GKE TPU slice facts from the dated catalog `stacks/catalogs/gke_tpu.yaml` (sources inside)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CATALOG = Path(__file__).with_name("catalogs") / "gke_tpu.yaml"


@dataclass(frozen=True)
class TpuSlice:
    """One TPU slice shape a GKE node pool can be: machine type and topology."""

    machine_type: str
    topology: str
    accelerator: str  # value of the node label cloud.google.com/gke-tpu-accelerator
    chips_per_host: int

    @property
    def chips(self) -> int:
        return math.prod(int(d) for d in self.topology.split("x"))

    @property
    def hosts(self) -> int:
        return self.chips // self.chips_per_host

    @property
    def multi_host(self) -> bool:
        return self.hosts > 1


@cache
def _families() -> dict[str, dict]:
    return yaml.safe_load(CATALOG.read_text())["families"]


def catalog_checked() -> str:
    return str(yaml.safe_load(CATALOG.read_text())["checked"])


def _family(machine_type: str) -> dict | None:
    family = _families().get(machine_type.split("-")[0])
    return family if family and machine_type in family["machineTypes"] else None


def tpu_machine_types() -> list[str]:
    return sorted(m for family in _families().values() for m in family["machineTypes"])


def tpu_accelerator(machine_type: str) -> str | None:
    family = _family(machine_type)
    return family["accelerator"] if family else None


def zones_offering(machine_type: str) -> list[str] | None:
    """Every catalog zone that offers this machine type's TPU (a zone not listed lacks it)."""
    family = _family(machine_type)
    return family["zones"] if family else None


def chips_per_host(machine_type: str) -> int | None:
    family = _family(machine_type)
    return family["machineTypes"][machine_type] if family else None


def valid_topologies(machine_type: str) -> list[str]:
    """The topologies GKE offers on this machine type: its single-host one, then the slices."""
    family = _family(machine_type)
    if family is None:
        return []
    single = family["singleHost"].get(machine_type)
    multi = family["multiHost"]
    return ([single] if single else []) + (
        multi["topologies"] if multi["machineType"] == machine_type else []
    )


def tpu_slice(machine_type: str, topology: str) -> TpuSlice | None:
    """The slice of this machine type and topology, or None when GKE does not offer it."""
    if topology not in valid_topologies(machine_type):
        return None
    family = _family(machine_type)
    assert family is not None
    return TpuSlice(machine_type, topology, family["accelerator"], family["machineTypes"][machine_type])
