"""The deploy's critical path: the longest chain of waits in a first `pulumi up`.

Resources are created as soon as everything they wait for exists (the engine runs the rest in
parallel), so a first deploy takes as long as its longest dependency chain, weighted by each
resource's create time (plan/deploy_times.yaml). Providers and components cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from plan.record import PlanRecord, ResourceRecord

TIMES_FILE = Path(__file__).with_name("deploy_times.yaml")


@cache
def _times() -> list[tuple[str, int]]:
    return list(yaml.safe_load(TIMES_FILE.read_text())["times"].items())


def create_seconds(resource: ResourceRecord) -> int:
    if not resource.custom:
        return 0
    for pattern, seconds in _times():
        if resource.type == pattern or (pattern.endswith("*") and resource.type.startswith(pattern[:-1])):
            return seconds
    raise LookupError(f"{TIMES_FILE.name} has no time for {resource.type}")  # its '*' matches all


@dataclass(frozen=True)
class CriticalPath:
    seconds: int
    # The chain, first created first: (resource, its own create seconds).
    steps: tuple[tuple[ResourceRecord, int], ...]


def critical_path(record: PlanRecord) -> CriticalPath:
    by_urn = record.by_urn()
    graph = record.waits_for()
    finish: dict[str, int] = {}
    previous: dict[str, str | None] = {}

    def finish_of(urn: str) -> int:
        # Iterative depth-first walk: stacks with thousands of models chain deeply.
        stack = [urn]
        while stack:
            current = stack[-1]
            if current in finish:
                stack.pop()
                continue
            pending = [d for d in graph.get(current, ()) if d in by_urn and d not in finish]
            if pending:
                stack.extend(pending)
                continue
            waits = [d for d in graph.get(current, ()) if d in by_urn]
            slowest = max(waits, key=lambda d: (finish[d], d), default=None)
            previous[current] = slowest
            finish[current] = create_seconds(by_urn[current]) + (finish[slowest] if slowest else 0)
            stack.pop()
        return finish[urn]

    if not by_urn:
        return CriticalPath(0, ())
    last = max(by_urn, key=lambda urn: (finish_of(urn), urn))
    chain: list[tuple[ResourceRecord, int]] = []
    urn: str | None = last
    while urn is not None:
        resource = by_urn[urn]
        seconds = create_seconds(resource)
        if seconds:
            chain.append((resource, seconds))
        urn = previous.get(urn)
    return CriticalPath(finish[last], tuple(reversed(chain)))


def render_critical_path(record: PlanRecord) -> str:
    path = critical_path(record)
    lines = [
        f"Critical path: about {_minutes(path.seconds)} for a first deploy "
        f"({len(path.steps)} resources one after another; times from plan/{TIMES_FILE.name})"
    ]
    for resource, seconds in path.steps:
        lines.append(f"  {_minutes(seconds):>7}  {resource.type}  {resource.name}")
    return "\n".join(lines)


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds} s"
