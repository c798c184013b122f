"""What a rule is, and the small helpers every rule body uses.

A rule body is written once and runs in two places: inside CrossGuard (`pulumi preview
--policy-pack policies`) and in the offline runner (`python -m plan policy`), which builds
the same `ResourceValidationArgs`/`StackValidationArgs` from a plan record. Bodies therefore
only rely on what CrossGuard hands them:

- props in wire form: camelCase keys, numbers as floats, wrapped in the SDK's
  unknown-checking proxies (so they are `Mapping`/`Sequence`, never `dict`/`list`; reading
  a value unknown during preview raises, and CrossGuard reports the rule as not evaluated);
- provider props as the SDK sends them: non-string values JSON-encoded (see `provider_value`);
- the policy's configuration: the schema defaults, overridden by `--policy-pack-config`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# The four families; the module a rule lives in (gcp, aws, buckets...) narrows it down.
Family = Literal["kubernetes", "posture", "cost", "labels"]
FAMILIES: tuple[Family, ...] = ("kubernetes", "posture", "cost", "labels")

ResourceBody = Callable[[ResourceValidationArgs, ReportViolation, Mapping[str, Any]], None]
StackBody = Callable[[StackValidationArgs, ReportViolation, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Rule:
    """One policy: its identity, its documentation and the function that checks it."""

    id: str
    family: Family
    description: str
    remediation: str
    enforcement: EnforcementLevel
    severity: Severity
    scope: Literal["resource", "stack"]
    # The resource types a resource rule looks at (documentation and a fast filter).
    types: tuple[str, ...]
    body: ResourceBody | StackBody
    # JSON-schema properties of the rule's configuration; each has a default.
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def area(self) -> str:
        """The module the rule lives in: kubernetes, gcp, aws, azure, registries, buckets, cost..."""
        return self.body.__module__.rsplit(".", 1)[-1]

    @property
    def config_defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}

    def validate(self, args: ResourceValidationArgs | StackValidationArgs, report: ReportViolation) -> None:
        """The callback CrossGuard (and the offline runner) calls."""
        if self.scope == "resource" and args.resource_type not in self.types:  # type: ignore[union-attr]
            return
        config = {**self.config_defaults, **(args.get_config() or {})}
        self.body(args, report, config)  # type: ignore[arg-type]

    def policy(self) -> Policy:
        """The pulumi-policy object for the pack; building it starts nothing."""
        schema = (
            PolicyConfigSchema(properties={k: dict(v) for k, v in self.config.items()})
            if self.config
            else None
        )
        common = {
            "name": self.id,
            "description": self.description,
            "validate": self.validate,
            "enforcement_level": self.enforcement,
            "config_schema": schema,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "tags": [self.family, self.area],
        }
        if self.scope == "resource":
            return ResourceValidationPolicy(**common)
        return StackValidationPolicy(**common)


# Every rule, in definition order; `policies.rules.ALL_RULES` orders them by family.
REGISTRY: dict[str, Rule] = {}


def _register(rule: Rule) -> Rule:
    if rule.id in REGISTRY:
        raise ValueError(f"duplicate policy id {rule.id!r}")
    if rule.family not in FAMILIES:
        raise ValueError(f"{rule.id}: unknown family {rule.family!r}")
    for key, schema in rule.config.items():
        if "default" not in schema:
            raise ValueError(f"{rule.id}: config property {key!r} needs a default")
    REGISTRY[rule.id] = rule
    return rule


def resource_rule(
    id: str,
    *,
    family: Family,
    types: Sequence[str],
    description: str,
    remediation: str,
    enforcement: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.MEDIUM,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[ResourceBody], Rule]:
    """Declare a rule that checks one resource of `types` at a time."""

    def declare(body: ResourceBody) -> Rule:
        return _register(
            Rule(
                id=id,
                family=family,
                description=description,
                remediation=remediation,
                enforcement=enforcement,
                severity=severity,
                scope="resource",
                types=tuple(types),
                body=body,
                config=config or {},
            )
        )

    return declare


def stack_rule(
    id: str,
    *,
    family: Family,
    description: str,
    remediation: str,
    enforcement: EnforcementLevel = MANDATORY,
    severity: Severity = Severity.MEDIUM,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[StackBody], Rule]:
    """Declare a rule that sees every resource of the stack at once."""

    def declare(body: StackBody) -> Rule:
        return _register(
            Rule(
                id=id,
                family=family,
                description=description,
                remediation=remediation,
                enforcement=enforcement,
                severity=severity,
                scope="stack",
                types=(),
                body=body,
                config=config or {},
            )
        )

    return declare


# --- reading wire-form props -------------------------------------------------------------


def dig(value: Any, path: str, default: Any = None) -> Any:
    """`dig(props, "spec.template.spec")`; numeric parts index sequences; missing -> default."""
    for part in path.split("."):
        if is_mapping(value):
            if part not in value:
                return default
            value = value[part]
        elif is_sequence(value) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return default
            value = value[index]
        else:
            return default
        if value is None:
            return default
    return value


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def items_of(value: Any) -> list[Any]:
    """A list from a wire-form sequence (None or a non-sequence gives [])."""
    return list(value) if is_sequence(value) else []


def mapping_of(value: Any) -> dict[str, Any]:
    """A plain dict from a wire-form mapping (None or a non-mapping gives {})."""
    return {str(k): value[k] for k in value} if is_mapping(value) else {}


def number(value: Any) -> float | None:
    """Wire numbers arrive as floats (CrossGuard) or ints (tests); bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def show(value: Any) -> str:
    """A number as people write it (2, not 2.0)."""
    n = number(value)
    if n is not None and n.is_integer():
        return str(int(n))
    return str(value)


def provider_value(value: Any) -> Any:
    """Provider inputs travel JSON-encoded when they are not strings (e.g. defaultLabels)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def provider_props(args: Any) -> Mapping[str, Any]:
    provider = getattr(args, "provider", None)
    return provider.props if provider is not None and provider.props is not None else {}


def depends_on(resource: Any, key: str, target: Any) -> bool:
    """Whether `resource`'s property `key` is computed from `target` (e.g. a flow log's `vpcId`):
    the engine's property dependencies, known even during preview."""
    dependencies = (getattr(resource, "property_dependencies", None) or {}).get(key) or []
    return any(dependency.urn == target.urn for dependency in dependencies)


def resources_of(args: StackValidationArgs, *types: str) -> Iterator[Any]:
    for resource in args.resources:
        if resource.resource_type in types:
            yield resource
