"""Plans of the EKS example and of a variant that exercises the other branches (NAT per
zone, private endpoint, Graviton, user labels and taints, pool zones), with lookups by
(type, logical name) on the plan record."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord, ResourceRecord

EXAMPLE = PROJECT_DIR / "examples" / "aws-eks.yaml"


@dataclass
class EksPlan:
    record: PlanRecord

    def custom(self, type_token: str) -> dict[str, dict[str, Any]]:
        """Inputs of every resource of a type, by logical name."""
        return {r.name: r.inputs for r in self.record.of_type(type_token)}

    def resource(self, key: tuple[str, str]) -> ResourceRecord:
        """The resource of (type, logical name)."""
        (found,) = (r for r in self.record.of_type(key[0]) if r.name == key[1])
        return found

    def options(self, key: tuple[str, str]) -> dict[str, Any]:
        return self.resource(key).options

    def waits_for(self, resource: tuple[str, str], other: tuple[str, str]) -> bool:
        """Whether `resource` (type, name) is created only after `other`, directly or not."""
        return self.record.depends_on(self.resource(resource).urn, self.resource(other).urn)


def plan_eks(stack_file: Path) -> EksPlan:
    return EksPlan(run_program(stack_file))


def example_document() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def eks_variant_document() -> dict[str, Any]:
    document = copy.deepcopy(example_document())
    config = document["config"]
    cluster = config["mlplatform:clusters"]["main"]
    cluster["aws"]["natGateways"] = "perAz"
    cluster["privateEndpoint"] = True
    del cluster["authorizedNetworks"]
    # A private endpoint: CI deploys from a runner inside the VPC.
    cluster["ciAccess"] = {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "linux", "vpc-dev"]}
    cluster["pools"]["system"]["machineType"] = "m7g.xlarge"
    cluster["pools"]["gpu-a10g"].update(
        labels={"team": "research"},
        taints=[{"key": "dedicated", "value": "training", "effect": "NoSchedule"}],
        zones=["euw1-az1"],
        acceleratorCount=4,
        machineType="g5.12xlarge",
    )
    config["mlplatform:models"]["embeddings"]["buckets"] = {}
    # Versioning is on by default; a bucket may opt out, and flow logs may be switched off.
    cluster["buckets"]["datasets"] = {"versioning": False}
    cluster["aws"]["flowLogRetentionDays"] = None
    del config["mlplatform:models"]["embeddings"]["artifacts"]
    del config["mlplatform:models"]["embeddings"]["secrets"]
    return document
