"""Node boot estimates from the dated catalog `stacks/catalogs/cold_start.yaml` (sources inside)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

CATALOG = Path(__file__).with_name("catalogs") / "cold_start.yaml"


@cache
def _seconds() -> dict[str, dict[str, int]]:
    return yaml.safe_load(CATALOG.read_text())["seconds"]


def node_boot_seconds(cloud: str, kind: str) -> int:
    """Seconds until a node the autoscaler adds to a pool of `kind` on `cloud` takes pods."""
    return _seconds().get(cloud, {}).get(kind, 0)
