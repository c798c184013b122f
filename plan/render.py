"""`plan render`: the Kubernetes objects of a plan as one YAML manifest per object.

The output directory holds manifests only, so `kubectl apply -R -f DIR` applies it as is: the
Helm releases (not Kubernetes objects) go to the sibling file `DIR.helm-releases.yaml`. The
files a render wrote are listed in `DIR/.mlplatform-rendered` (no .yaml/.yml/.json extension,
which kubectl would read); the next render removes the listed files it no longer writes (a
deleted workload's), and never a file it did not write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plan.record import PlanRecord, ResourceRecord

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RELEASES_SUFFIX = ".helm-releases.yaml"
WRITTEN_LIST = ".mlplatform-rendered"


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


def releases_file(out: str | Path) -> Path:
    out = Path(out).resolve()
    return out.with_name(out.name + RELEASES_SUFFIX)


def write_manifests(record: PlanRecord, out: str | Path) -> list[Path]:
    """Write the manifests under `out` (and the releases beside it); returns the files written."""
    out = Path(out)
    listed = out / WRITTEN_LIST
    previous = set(listed.read_text().split("\n")) - {""} if listed.exists() else set()
    rendered = manifests(record)
    written = []
    for relative, manifest in rendered.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=True))
        written.append(path)
    for relative in sorted(previous - set(rendered)):
        _remove_stale(out, relative)
    out.mkdir(parents=True, exist_ok=True)
    listed.write_text("".join(f"{relative}\n" for relative in rendered))
    releases = helm_releases(record)
    if releases:
        releases_file(out).write_text(yaml.safe_dump({"releases": releases}, sort_keys=False))
    else:
        releases_file(out).unlink(missing_ok=True)
    return written


def _remove_stale(out: Path, relative: str) -> None:
    """Remove a file an earlier render wrote, and the directories it leaves empty."""
    path = (out / relative).resolve()
    root = out.resolve()
    if root not in path.parents:  # a hand-edited list must not reach outside the directory
        return
    path.unlink(missing_ok=True)
    for directory in path.parents:
        if directory == root or any(directory.iterdir()):
            break
        directory.rmdir()
