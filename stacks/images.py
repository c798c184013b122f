"""Image provenance: the stack's allow-list, and the images of the charts the platform installs
(the dated catalog `stacks/catalogs/chart_images.yaml`, sources inside)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import Field, field_validator

from components.k8s.artifacts import DOWNLOADERS
from components.k8s.image_policy import registry_prefix
from stacks.base import StrictModel

CATALOG = Path(__file__).with_name("catalogs") / "chart_images.yaml"

# A registry host (with a dot or a port, or localhost, as container runtimes tell a registry
# from a Docker Hub user) and an optional path; no tag, digest or wildcard.
_PREFIX = re.compile(
    r"^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+(\.[a-z0-9-]+)*:[0-9]+)(:[0-9]+)?(/[a-z0-9._-]+)*/?$"
)


class ImagePolicyConfig(StrictModel):
    """Where workload images may come from, besides the cluster's own registry."""

    allowed_registries: list[str] = Field(
        default_factory=list,
        description="registry prefixes workloads may pull from besides the cluster's registry "
        "(e.g. nvcr.io/nvidia); enforced at admission (Binary Authorization on GKE, a "
        "ValidatingAdmissionPolicy elsewhere)",
    )

    @field_validator("allowed_registries")
    @classmethod
    def _prefixes(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            if not _PREFIX.fullmatch(entry):
                raise ValueError(
                    f"{entry!r} is not a registry prefix: a registry host (with a dot or port) and an "
                    "optional path, without tag, digest or wildcard (e.g. nvcr.io/nvidia)"
                )
        return entries

    @property
    def prefixes(self) -> list[str]:
        """The allow-list as the prefixes images must start with (each ending in '/')."""
        return [registry_prefix(entry) for entry in self.allowed_registries]


@cache
def chart_image_repositories() -> tuple[str, ...]:
    """Every image repository of the charts in the catalog, each once."""
    charts = yaml.safe_load(CATALOG.read_text())["charts"]
    return tuple(sorted({repository for repositories in charts.values() for repository in repositories}))


@cache
def catalogued_charts() -> frozenset[str]:
    """`name@version` of every chart whose images the catalog lists."""
    return frozenset(yaml.safe_load(CATALOG.read_text())["charts"])


def helper_image_repositories() -> tuple[str, ...]:
    """Images the platform itself adds to team pods: the artifact downloaders' init containers."""
    return tuple(sorted({image.rsplit(":", 1)[0] for image, _, _ in DOWNLOADERS.values()}))
