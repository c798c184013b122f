"""Kubernetes versions each managed service offers, and how long: the dated catalog
`stacks/catalogs/kubernetes.yaml` (sources and check date inside).

The config refuses a version the cloud no longer creates and warns when its support ends
within `WARN_DAYS`, so an expiring version shows in review, not in a failed `pulumi up`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

CATALOG = Path(__file__).with_name("catalogs") / "kubernetes.yaml"
# The catalog's name for each cloud of the config.
SERVICE = {"gcp": "gke", "aws": "eks", "azure": "aks"}
WARN_DAYS = 60
# Set to YYYY-MM-DD to check a stack as of another day (tests, planning an upgrade).
TODAY_VARIABLE = "MLPLATFORM_TODAY"

SupportPhase = Literal["standard", "extended", "ended"]


@dataclass(frozen=True)
class KubernetesRelease:
    service: str
    version: str
    released: date
    standard_end: date
    # EKS extended support, AKS long-term support, GKE's Extended channel; None: no such window.
    extended_end: date | None

    @property
    def lts(self) -> bool:
        """AKS offers long-term support for this version (Premium tier)."""
        return self.service == "aks" and self.extended_end is not None

    def phase_end(self, phase: SupportPhase) -> date | None:
        return {"standard": self.standard_end, "extended": self.extended_end}.get(phase)


def _document() -> dict:
    return _read(CATALOG)


@cache
def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@cache
def _catalog() -> dict[str, dict[str, KubernetesRelease]]:
    document = _document()
    return {
        service: {
            version: KubernetesRelease(
                service=service,
                version=version,
                released=dates["released"],
                standard_end=dates["standardEnd"],
                extended_end=dates.get("extendedEnd"),
            )
            for version, dates in document[service].items()
        }
        for service in SERVICE.values()
    }


def catalog_checked() -> date:
    return _document()["checked"]


def kubernetes_releases(cloud: str) -> dict[str, KubernetesRelease]:
    """Every minor the catalog lists for `cloud` (gcp, aws, azure), oldest first."""
    return dict(sorted(_catalog()[SERVICE[cloud]].items(), key=lambda item: _minor(item[0])))


def kubernetes_release(cloud: str, version: str) -> KubernetesRelease | None:
    return _catalog()[SERVICE[cloud]].get(version)


def support_phase(release: KubernetesRelease, on: date) -> SupportPhase:
    if on <= release.standard_end:
        return "standard"
    if release.extended_end is not None and on <= release.extended_end:
        return "extended"
    return "ended"


def newest_in_standard_support(cloud: str, on: date) -> str | None:
    current = [
        release.version
        for release in kubernetes_releases(cloud).values()
        if release.released <= on and support_phase(release, on) == "standard"
    ]
    return current[-1] if current else None


def default_kubernetes_version(cloud: str, on: date | None = None) -> str:
    """The newest released minor in standard support on `on` (the run date by default)."""
    on = on or run_date()
    newest = newest_in_standard_support(cloud, on)
    if newest is None:
        raise LookupError(
            f"stacks/catalogs/kubernetes.yaml (checked {catalog_checked()}) lists no {SERVICE[cloud]} "
            f"version in standard support on {on}: refresh it from its sources"
        )
    return newest


def run_date() -> date:
    """Today, or the day MLPLATFORM_TODAY names."""
    value = os.environ.get(TODAY_VARIABLE)
    return date.fromisoformat(value) if value else date.today()


def expiry_warning(cloud: str, version: str, phase: SupportPhase, on: date) -> str | None:
    """A warning when `version`'s current support phase ends within WARN_DAYS of `on`."""
    release = kubernetes_release(cloud, version)
    end = release.phase_end(phase) if release else None
    if end is None or end - on > timedelta(days=WARN_DAYS):
        return None
    what = "standard support" if phase == "standard" else "extended support"
    return f"Kubernetes {version} on {SERVICE[cloud].upper()} leaves {what} on {end} ({(end - on).days} days)"


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
