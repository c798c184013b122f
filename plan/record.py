"""The plan record: every resource the program declared, as plain, comparable data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COMPUTED = "<computed>"
SECRET = "<secret>"


@dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    id: str | None
    inputs: dict[str, Any]
    # URNs this resource waits for (explicit dependsOn and the resources its inputs came from;
    # the SDK expands a component in dependsOn to its custom children).
    dependencies: list[str] = field(default_factory=list)
    # Resource options not at their default (protect, ignoreChanges, deleteBeforeReplace, ...).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")


@dataclass
class PlanRecord:
    project: str
    stack: str
    source: str
    resources: list[ResourceRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {r.urn: r for r in self.resources}

    def waits_for(self) -> dict[str, set[str]]:
        """URN -> the URNs it waits for directly: its dependencies and its provider."""
        graph: dict[str, set[str]] = {}
        for resource in self.resources:
            edges = set(resource.dependencies)
            if resource.provider:
                edges.add(resource.provider)
            graph[resource.urn] = edges
        return graph

    def depends_on(self, dependent: str, dependency: str) -> bool:
        """Whether `dependent` is created only after `dependency` (transitively)."""
        graph = self.waits_for()
        seen: set[str] = set()
        stack = [dependent]
        while stack:
            for urn in graph.get(stack.pop(), ()):
                if urn == dependency:
                    return True
                if urn not in seen:
                    seen.add(urn)
                    stack.append(urn)
        return False

    def of_type(self, type_token: str) -> list[ResourceRecord]:
        return [r for r in self.resources if r.type == type_token]

    def children(self) -> dict[str | None, list[ResourceRecord]]:
        tree: dict[str | None, list[ResourceRecord]] = {}
        for resource in self.resources:
            tree.setdefault(resource.parent, []).append(resource)
        return tree

    def to_json(self) -> str:
        """Stable serialisation: the same program and config give the same bytes."""
        document = {
            "project": self.project,
            "stack": self.stack,
            "source": self.source,
            "resources": [asdict(r) for r in sorted(self.resources, key=lambda r: r.urn)],
            "outputs": self.outputs,
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_json(cls, text: str) -> PlanRecord:
        document = json.loads(text)
        return cls(
            project=document["project"],
            stack=document["stack"],
            source=document["source"],
            resources=[ResourceRecord(**r) for r in document["resources"]],
            outputs=document.get("outputs", {}),
        )

    @classmethod
    def read(cls, path: str | Path) -> PlanRecord:
        return cls.from_json(Path(path).read_text())


def plain(value: Any) -> Any:
    """Wire-form values back to plain JSON values: integral floats to ints, unknowns and secrets marked."""
    from pulumi.runtime.rpc import UNKNOWN, is_rpc_secret

    if is_rpc_secret(value):
        return SECRET
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value == UNKNOWN:
        return COMPUTED
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Resource references and other runtime objects: keep what they are, not their address.
    return f"<{type(value).__name__}>"
