"""Building synthetic plan records and running single rules on them through the offline runner.

Every rule test goes through `plan.policy.evaluate`, so the props a rule sees are exactly what
CrossGuard would hand it (floats, unknown-checking proxies, provider props).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from plan.policy import PackConfig, PolicyReport, evaluate
from plan.record import PlanRecord, ResourceRecord
from policies.rules import RULES_BY_ID

STACK = "test"
DELETE = object()


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::mlplatform::{type_token}::{name}"


def resource(
    type_token: str,
    name: str,
    inputs: dict[str, Any],
    *,
    provider: ResourceRecord | None = None,
    parent: str | None = None,
    id: str | None = None,
) -> ResourceRecord:
    custom = not type_token.startswith("mlplatform:")
    return ResourceRecord(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        parent=parent,
        provider=provider.urn if provider else None,
        custom=custom,
        id=id or (f"{name}-id" if custom else None),
        inputs=copy.deepcopy(inputs),
    )


def provider(package: str, name: str, inputs: dict[str, Any]) -> ResourceRecord:
    return resource(f"pulumi:providers:{package}", name, inputs)


def record(*resources: ResourceRecord) -> PlanRecord:
    return PlanRecord(project="mlplatform", stack=STACK, source="synthetic", resources=list(resources))


def run(rule_id: str, *resources: ResourceRecord, config: dict[str, Any] | None = None) -> PolicyReport:
    rule = RULES_BY_ID[rule_id]
    document = {rule_id: config} if config else {}
    return evaluate(record(*resources), PackConfig(document, "test"), rules=[rule])


def messages(rule_id: str, *resources: ResourceRecord, config: dict[str, Any] | None = None) -> list[str]:
    report = run(rule_id, *resources, config=config)
    assert not report.not_evaluated, report.not_evaluated
    return [v.message for v in report.violations]


def patched(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `document` with dotted paths set (or removed with DELETE)."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = result
        for part in parents:
            key: Any = int(part) if isinstance(node, list) else part
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
        key = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)
    return result


@dataclass(frozen=True)
class Case:
    """One rule on some resources: compliant when `violation` is None, else a part of the
    message one of the reported violations must carry."""

    rule: str
    label: str
    resources: tuple[ResourceRecord, ...]
    violation: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.label}"

    def check(self) -> None:
        found = messages(self.rule, *self.resources, config=self.config or None)
        if self.violation is None:
            assert found == [], f"{self.id}: expected no violation, got {found}"
        else:
            assert found, f"{self.id}: expected a violation mentioning {self.violation!r}"
            assert any(self.violation in message for message in found), f"{self.id}: {found}"


def ok(rule: str, label: str, *resources: ResourceRecord, config: dict[str, Any] | None = None) -> Case:
    return Case(rule, label, resources, None, config or {})


def bad(
    rule: str, label: str, violation: str, *resources: ResourceRecord, config: dict[str, Any] | None = None
) -> Case:
    return Case(rule, label, resources, violation, config or {})
