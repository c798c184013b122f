"""Plans of the EKS example and of a variant that exercises the other branches (NAT per
zone, private endpoint, Graviton, user labels and taints, pool zones), keeping the resource
options (dependencies, ignoreChanges) that the plan record does not carry."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from plan import engine
from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord

EXAMPLE = PROJECT_DIR / "examples" / "aws-eks.yaml"


@dataclass
class EksPlan:
    record: PlanRecord
    # (type, name) -> what the program registered the resource with, beyond its inputs.
    ignore_changes: dict[tuple[str, str], list[str]]
    dependencies: dict[tuple[str, str], set[str]]

    def custom(self, type_token: str) -> dict[str, dict[str, Any]]:
        """Inputs of every resource of a type, by logical name."""
        return {r.name: r.inputs for r in self.record.of_type(type_token)}

    def waits_for(self, resource: tuple[str, str], other: tuple[str, str]) -> bool:
        """Whether `resource` (type, name) is registered with a dependency on `other`."""
        return any(urn.endswith(f"{other[0]}::{other[1]}") for urn in self.dependencies[resource])


def plan_eks(stack_file: Path) -> EksPlan:
    """Run the program, also keeping the resource options the plan record does not carry."""
    ignore_changes: dict[tuple[str, str], list[str]] = {}
    dependencies: dict[tuple[str, str], set[str]] = {}
    register = engine.RecordingMonitor.RegisterResource

    def spy(monitor, request):
        ignore_changes[(request.type, request.name)] = list(request.ignoreChanges)
        dependencies[(request.type, request.name)] = set(request.dependencies)
        return register(monitor, request)

    engine.RecordingMonitor.RegisterResource = spy
    try:
        return EksPlan(run_program(stack_file), ignore_changes, dependencies)
    finally:
        engine.RecordingMonitor.RegisterResource = register


def example_document() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def eks_variant_document() -> dict[str, Any]:
    document = copy.deepcopy(example_document())
    config = document["config"]
    cluster = config["mlplatform:clusters"]["main"]
    cluster["aws"]["natGateways"] = "perAz"
    cluster["privateEndpoint"] = True
    del cluster["authorizedNetworks"]
    cluster["pools"]["system"]["machineType"] = "m7g.xlarge"
    cluster["pools"]["gpu-l4"].update(
        labels={"team": "research"},
        taints=[{"key": "dedicated", "value": "training", "effect": "NoSchedule"}],
        zones=["eu-west-1a"],
        acceleratorCount=4,
        machineType="g6.12xlarge",
    )
    config["mlplatform:models"]["embeddings"]["buckets"] = {}
    return document
