"""`plan render`: the Kubernetes objects of a plan as one YAML manifest per object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plan.record import PlanRecord, ResourceRecord

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RELEASES_FILE = "helm-releases.yaml"


def is_manifest(resource: ResourceRecord) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and not resource.is_provider
        and resource.type != HELM_RELEASE
        and "apiVersion" in resource.inputs
    )


def cluster_of(resource: ResourceRecord, record: PlanRecord) -> str:
    """Kubernetes providers are named `<cluster>-k8s`; objects belong to their provider's cluster."""
    provider = record.by_urn().get(resource.provider or "")
    name = provider.name if provider else "unknown"
    return name.removesuffix("-k8s")


def manifests(record: PlanRecord) -> dict[str, dict[str, Any]]:
    """Relative path -> manifest, for every Kubernetes object in the record."""
    rendered: dict[str, dict[str, Any]] = {}
    for resource in record.resources:
        if not is_manifest(resource):
            continue
        manifest = dict(resource.inputs)
        metadata = manifest.get("metadata", {})
        cluster = cluster_of(resource, record)
        scope = metadata.get("namespace", "_cluster")
        path = f"{cluster}/{scope}/{manifest['kind'].lower()}-{metadata.get('name', resource.name)}.yaml"
        rendered[path] = {"apiVersion": manifest.pop("apiVersion"), "kind": manifest.pop("kind"), **manifest}
    return dict(sorted(rendered.items()))


def helm_releases(record: PlanRecord) -> list[dict[str, Any]]:
    releases = []
    for resource in record.of_type(HELM_RELEASE):
        inputs = resource.inputs
        releases.append(
            {
                "cluster": cluster_of(resource, record),
                "release": inputs.get("name", resource.name),
                "namespace": inputs.get("namespace"),
                "chart": inputs.get("chart"),
                "version": inputs.get("version"),
                "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
                "values": inputs.get("values", {}),
            }
        )
    return sorted(releases, key=lambda r: (r["cluster"], r["namespace"] or "", r["release"]))


def write_manifests(record: PlanRecord, out: str | Path) -> list[Path]:
    out = Path(out)
    written = []
    for relative, manifest in manifests(record).items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=True))
        written.append(path)
    releases = helm_releases(record)
    if releases:
        out.mkdir(parents=True, exist_ok=True)
        (out / RELEASES_FILE).write_text(yaml.safe_dump({"releases": releases}, sort_keys=False))
    return written
