"""`plan preview`: a readable tree of what would be created, and counts by type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from plan.record import PlanRecord, ResourceRecord

# type token -> one-line summary of the inputs that matter most when reviewing.
DESCRIBERS: dict[str, Callable[[dict[str, Any]], str]] = {}


def describes(*type_tokens: str):
    def register(function: Callable[[dict[str, Any]], str]):
        for token in type_tokens:
            DESCRIBERS[token] = function
        return function

    return register


@describes("gcp:container/nodePool:NodePool")
def _gke_node_pool(inputs: dict[str, Any]) -> str:
    node = inputs.get("nodeConfig", {})
    scaling = inputs.get("autoscaling", {})
    parts = [
        node.get("machineType", "?"),
        f"{scaling.get('totalMinNodeCount')}..{scaling.get('totalMaxNodeCount')} nodes",
    ]
    for accelerator in node.get("guestAccelerators", []):
        parts.append(f"{accelerator.get('count')}x {accelerator.get('type')}")
    if (inputs.get("placementPolicy") or {}).get("tpuTopology"):
        parts.append(f"tpu {inputs['placementPolicy']['tpuTopology']}")
    if node.get("spot"):
        parts.append("spot")
    return ", ".join(parts)


@describes("gcp:container/cluster:Cluster")
def _gke_cluster(inputs: dict[str, Any]) -> str:
    channel = (inputs.get("releaseChannel") or {}).get("channel", "")
    return f"{inputs.get('location')}, channel {channel}, private nodes"


def render_tree(record: PlanRecord) -> str:
    children = record.children()
    lines = [f"{record.project}/{record.stack} ({record.source})"]

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(resource)}")
            walk(resource.urn, prefix + ("   " if last else "│  "))

    roots = [r for r in record.resources if r.type == "pulumi:pulumi:Stack"]
    for root in roots:
        walk(root.urn, "")
    return "\n".join(lines)


def _label(resource: ResourceRecord) -> str:
    label = f"{resource.type}  {resource.name}"
    describe = DESCRIBERS.get(resource.type)
    if describe:
        label += f"  [{describe(resource.inputs)}]"
    return label


def render_counts(record: PlanRecord) -> str:
    declared = [r for r in record.resources if r.type != "pulumi:pulumi:Stack"]
    counts = Counter(r.type for r in declared)
    width = max((len(t) for t in counts), default=0)
    lines = [f"Resources: {len(declared)} to create"]
    for type_token, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {type_token:<{width}}  {count}")
    return "\n".join(lines)


def render_preview(record: PlanRecord, sections: list[Callable[[PlanRecord], str]] | None = None) -> str:
    parts = [render_tree(record), render_counts(record)]
    for section in sections or []:
        text = section(record)
        if text:
            parts.append(text)
    return "\n\n".join(parts) + "\n"


# Cloud-specific describers register themselves with `describes` above.
from plan import describe_aws, describe_azure  # noqa: E402, F401
