"""Reading the dated catalogs of `stacks/catalogs/` (each with `checked:` and `sources:`), and
naming the nearest valid values when a config value is not in one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from stacks.capacity import MachineShape

CATALOGS = Path(__file__).with_name("catalogs")


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed catalog `stacks/catalogs/<name>` (read once per process)."""
    return yaml.safe_load((CATALOGS / name).read_text())


def cited(name: str) -> str:
    """How a message names the catalog: its path and check date."""
    return f"stacks/catalogs/{name}, checked {load(name)['checked']}"


def nearest(value: str, options: Iterable[str], n: int = 3) -> str:
    """The `n` options closest to `value`, comma-separated (always some, however far)."""
    choices = sorted(set(options))
    close = difflib.get_close_matches(value, choices, n=n, cutoff=0.6)
    for option in difflib.get_close_matches(value, choices, n=len(choices), cutoff=0):
        if len(close) >= n:
            break
        if option not in close:
            close.append(option)
    return ", ".join(close)


def gpu_machine_in_cpu_pool(shape: MachineShape) -> str:
    """A machine type that comes with GPUs makes an untainted GPU node in a cpu pool: CPU pods
    would keep it (and its GPUs' bill) awake."""
    return (
        f"{shape.name} comes with {shape.gpus} {shape.gpu} GPU(s): make the pool kind: gpu with "
        f"accelerator: {shape.gpu} and acceleratorCount: {shape.gpus}, or choose a CPU machine type"
    )


def nearest_sizes(
    requested: str, sizes: dict[str, int], vcpus_of: Callable[[str], int | None], n: int = 3
) -> str:
    """The `n` sizes of a family (name -> vCPUs) closest in vCPUs to the size `requested` names
    (n2-standard-6 -> n2-standard-4, n2-standard-8, ...); by spelling when its name has no count."""
    wanted = vcpus_of(requested)
    if wanted is None:
        return nearest(requested, sizes, n)
    ranked = sorted(sizes, key=lambda name: (abs(sizes[name] - wanted), sizes[name], name))
    return ", ".join(ranked[:n])


def not_offered(what: str, zone: str, inherited: bool, where: str, fix: str) -> str:
    """Why a pool's zone cannot hold its nodes: `what` (an accelerator, an instance type) is not
    offered there, per `where` (the catalog and its check date)."""
    how = ", the cluster zone this pool inherits" if inherited else ""
    return f"{what} are not offered in {zone}{how} ({where}): {fix}"


def offered_in(zones: Iterable[str]) -> str:
    """The fix when some zones the pool may use offer its accelerator or instance type."""
    return f"set the pool's zones to {', '.join(zones)} or a subset"


def offered_elsewhere(region: str, regions: Iterable[str]) -> str:
    """The fix when no zone of `region` offers a pool's accelerator or instance type."""
    return f"no zone of {region} offers them: use a region that does ({', '.join(sorted(set(regions)))})"


def trailing_number(name: str) -> int | None:
    """The last number in a name (n2-standard-6 -> 6)."""
    numbers = re.findall(r"[0-9]+", name)
    return int(numbers[-1]) if numbers else None
