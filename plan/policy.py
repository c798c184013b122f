"""`plan policy`: the policy pack's own rule functions, run on an offline plan record.

For every recorded resource this builds what CrossGuard hands a policy during `pulumi
preview --policy-pack policies`, so the rules cannot tell the difference:

- `ResourceValidationArgs` per resource and one `StackValidationArgs` with every resource;
- props in wire form: camelCase keys, numbers as floats, values unknown during preview as
  the engine's unknown sentinels, wrapped in pulumi-policy's unknown-checking proxies (a rule
  reading one is reported as not evaluated, as CrossGuard does);
- the resource's provider (a recorded resource too) with its props, so GCP `defaultLabels`
  and AWS `defaultTags` count as the resource's labels, as they do in the cloud;
- each policy's configuration reconciled like the CLI's `--policy-pack-config`: schema
  defaults, then the environment's file `policies/config/<environment>.json` (the stack's
  `mlplatform:environment`; an environment without one is an error), then the budget from the
  stack file (`budget.monthlyMaxUsd` is the single source of truth for `cost-budget`).

The record keeps no dependency graph: a property holding another resource's id is taken as
depending on it (that is how the mocks produced the value), which is what rules correlating
resources (a bucket and its public access block) read from `property_dependencies`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError  # what `args.not_applicable()` raises
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from plan.engine import PROJECT_DIR, ConfigError, ProgramError
from plan.record import COMPUTED, PlanRecord, ResourceRecord
from policies.rules import ALL_RULES, RULES_BY_ID, Rule
from stacks import StackConfig, load_stack_file

CONFIG_DIR = PROJECT_DIR / "policies" / "config"
BUDGET_RULE = "cost-budget"
LEVELS = {level.value for level in EnforcementLevel}


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class PackConfig:
    """A `--policy-pack-config` document and where it came from."""

    document: dict[str, Any]
    source: str

    def level(self, rule: Rule) -> EnforcementLevel:
        """The CLI's precedence: the rule's own level, then `all`, then the rule's entry."""
        level = rule.enforcement.value
        for key in ("all", rule.id):
            entry = self.document.get(key)
            given = entry if isinstance(entry, str) else (entry or {}).get("enforcementLevel")
            if given:
                level = given
        return EnforcementLevel(level)

    def properties(self, rule: Rule) -> dict[str, Any]:
        entry = self.document.get(rule.id)
        given = {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}
        # Settings reach the analyzer through protobuf, as floats like every number.
        return wire({**rule.config_defaults, **given})


def policy_config_file(stack: str, environment: str) -> Path:
    """`policies/config/<environment>.json`: settings follow the stack's `mlplatform:environment`,
    not its file name, so a new stack of a known environment needs no file of its own."""
    path = CONFIG_DIR / f"{environment}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json"))) or "none"
        raise ConfigError(
            f"stack {stack!r}: mlplatform:environment: {environment!r} has no policy config {_display(path)} "
            f"(known: {known}); add that file or use one of those environments"
        )
    return path


def read_pack_config(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such policy config file") from None
    except ValueError as exc:
        raise ConfigError(f"{path.name}: not valid JSON: {exc}") from None
    check_pack_config(document, path.name)
    return document


def check_pack_config(document: Any, source: str) -> None:
    """Reject what `pulumi preview --policy-pack-config` would reject, and typos it would not."""
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: a policy config is a JSON object of policy name -> level or settings")
    for key, entry in document.items():
        rule = RULES_BY_ID.get(key)
        if key != "all" and rule is None:
            raise ConfigError(f"{source}: {key}: no such policy (see `python -m plan policy --list`)")
        if isinstance(entry, str):
            level, properties = entry, {}
        elif isinstance(entry, dict):
            level = entry.get("enforcementLevel")
            properties = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        else:
            raise ConfigError(f"{source}: {key}: must be an enforcement level or an object")
        if level is not None and level not in LEVELS:
            raise ConfigError(
                f"{source}: {key}: {level!r} is not an enforcement level ({', '.join(sorted(LEVELS))})"
            )
        if key == "all":
            if properties:
                raise ConfigError(f"{source}: all: takes only an enforcement level")
            continue
        schema = {"type": "object", "properties": dict(rule.config), "additionalProperties": False}
        try:
            jsonschema.validate(properties, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            raise ConfigError(f"{source}: {key}{'.' + where if where else ''}: {exc.message}") from None


def pack_config_for(stack: str, stack_config: StackConfig | None, override: Path | None = None) -> PackConfig:
    """The per-stack policy config with the stack's budget merged in."""
    if override is None and stack_config is None:
        raise ConfigError(
            f"stack {stack!r}: its stack file is not here, so its environment (and policy config) "
            "is unknown: pass --policy-pack-config FILE"
        )
    path = override or policy_config_file(stack, stack_config.environment)
    document, source = read_pack_config(path), _display(path)
    if stack_config is not None:
        entry = document.get(BUDGET_RULE)
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry or {})
        entry["monthlyMaxUsd"] = stack_config.budget.monthly_max_usd
        if stack_config.budget.prices is not None:
            entry["prices"] = stack_config.budget.prices.table_overrides()
            entry["pricesSource"] = stack_config.budget.prices.citation
        document = {**document, BUDGET_RULE: entry}
        source += " + budget"
    return PackConfig(document=document, source=source)


def read_record(path: Path) -> PlanRecord:
    try:
        return PlanRecord.read(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a plan record written by `plan preview --json` ({exc})") from None


def stack_config_of(record: PlanRecord) -> StackConfig | None:
    """The stack file a record was made from, when it is still there (for the budget)."""
    path = Path(record.source)
    path = path if path.is_absolute() else PROJECT_DIR / path
    return load_stack_file(path) if path.exists() else None


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


# --- adapting the record to what CrossGuard passes -------------------------------------------


def wire(value: Any) -> Any:
    """Plan-record values back to what CrossGuard deserialises: numbers are floats (protobuf
    Struct), unknowns are the engine's sentinels."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if value == COMPUTED:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def wire_props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(wire(dict(inputs)))


def _options(resource: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent,
    )


@dataclass
class Adapted:
    """The record's resources as CrossGuard sees them."""

    record: PlanRecord
    providers: dict[str, PolicyProviderResource] = field(default_factory=dict)
    stack_resources: list[PolicyResource] = field(default_factory=list)
    # urn -> the resource as stack rules see it; resource rules read the same (read-only)
    # props rather than converting a resource's inputs again for every rule.
    by_urn: dict[str, PolicyResource] = field(default_factory=dict)

    @classmethod
    def of(cls, record: PlanRecord) -> Adapted:
        adapted = cls(record)
        for resource in record.resources:
            if resource.is_provider:
                adapted.providers[resource.urn] = PolicyProviderResource(
                    resource.type, wire_props(resource.inputs), resource.urn, resource.name
                )
        by_urn = adapted.by_urn
        for resource in record.resources:
            policy_resource = PolicyResource(
                resource.type,
                wire_props(resource.inputs),
                resource.urn,
                resource.name,
                _options(resource),
                adapted.provider_of(resource),
                None,
                [],
                {},
            )
            by_urn[resource.urn] = policy_resource
            adapted.stack_resources.append(policy_resource)
        # Ids are not unique across types (an S3 bucket's companions all carry its name).
        by_id: dict[str, list[PolicyResource]] = {}
        for resource in record.resources:
            if resource.custom and resource.id:
                by_id.setdefault(resource.id, []).append(by_urn[resource.urn])
        for resource in record.resources:
            policy_resource = by_urn[resource.urn]
            policy_resource.parent = by_urn.get(resource.parent or "")
            for key, value in resource.inputs.items():
                referenced = [
                    other
                    for text in _strings(value)
                    for other in by_id.get(text, [])
                    if other is not policy_resource
                ]
                if referenced:
                    policy_resource.property_dependencies[key] = referenced
                    policy_resource.dependencies.extend(
                        r for r in referenced if r not in policy_resource.dependencies
                    )
        return adapted

    def provider_of(self, resource: ResourceRecord) -> PolicyProviderResource | None:
        return self.providers.get(resource.provider or "")

    def resource_args(self, resource: ResourceRecord, config: dict[str, Any]) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            resource.type,
            self.by_urn[resource.urn].props,
            resource.urn,
            resource.name,
            _options(resource),
            self.provider_of(resource),
            config,
            {},
        )


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str
    message: str
    remediation: str
    urn: str | None
    resource_type: str | None
    resource_name: str | None


@dataclass(frozen=True)
class NotEvaluated:
    rule: str
    reason: str
    urn: str | None


@dataclass
class PolicyReport:
    config_source: str
    rules_run: int
    violations: list[Violation] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == EnforcementLevel.ADVISORY.value]

    def to_json(self) -> str:
        document = {
            "config": self.config_source,
            "rules": self.rules_run,
            "violations": [asdict(v) for v in self.violations],
            "not_evaluated": [asdict(n) for n in self.not_evaluated],
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def evaluate(record: PlanRecord, config: PackConfig, rules: Iterable[Rule] = ALL_RULES) -> PolicyReport:
    """Run every enabled rule on the record, as CrossGuard would on a preview of it."""
    adapted = Adapted.of(record)
    by_urn = {r.urn: r for r in record.resources}
    active = [(rule, config.level(rule)) for rule in rules]
    active = [(rule, level) for rule, level in active if level != EnforcementLevel.DISABLED]
    report = PolicyReport(config_source=config.source, rules_run=len(active))
    for rule, level in active:
        # CrossGuard reports a violation of a remediation policy as mandatory.
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY
        run = _Run(rule, level, report, by_urn)
        properties = config.properties(rule)
        if rule.scope == "resource":
            for resource in record.resources:
                if resource.type in rule.types:
                    run(adapted.resource_args(resource, properties), resource)
        else:
            run(StackValidationArgs(adapted.stack_resources, properties, {}), None)
    return report


@dataclass
class _Run:
    """One rule's validate callback, its report_violation and the bookkeeping around them."""

    rule: Rule
    level: EnforcementLevel
    report: PolicyReport
    by_urn: dict[str, ResourceRecord]
    policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.rule.policy()

    def __call__(self, args: Any, resource: ResourceRecord | None) -> None:
        def report_violation(message: str, urn: str | None = None) -> None:
            # As in CrossGuard: a resource policy's violation is always about its resource.
            target = self.by_urn.get(resource.urn if resource is not None else urn or "")
            self.report.violations.append(
                Violation(
                    rule=self.rule.id,
                    level=self.level.value,
                    message=message or self.rule.description,
                    remediation=self.rule.remediation,
                    urn=target.urn if target else None,
                    resource_type=target.type if target else None,
                    resource_name=target.name if target else None,
                )
            )

        urn = resource.urn if resource is not None else None
        try:
            result = self.policy.validate(args, report_violation)
            if isawaitable(result):
                asyncio.run(result)
        except UnknownValueError as exc:
            self.report.not_evaluated.append(NotEvaluated(self.rule.id, exc.message, urn))
        except _NotApplicableError as exc:
            self.report.not_evaluated.append(NotEvaluated(self.rule.id, exc.reason or "not applicable", urn))
        except Exception as exc:
            where = f" on {resource.type} {resource.name}" if resource is not None else ""
            raise ProgramError(f"policy {self.rule.id} failed{where}: {type(exc).__name__}: {exc}") from exc


# --- output --------------------------------------------------------------------------------------


def render(report: PolicyReport) -> str:
    """Violations grouped by resource, each with its fix; stack-wide ones last."""
    counts = f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory violation(s)"
    lines = [f"Policy verdicts: {report.rules_run} rules ({report.config_source}): {counts}"]
    groups: dict[tuple[str, str], list[Violation]] = {}
    for violation in report.violations:
        key = (violation.resource_type or "~stack", violation.resource_name or "")
        groups.setdefault(key, []).append(violation)
    for (kind, name), violations in sorted(groups.items()):
        lines.append(f"  {kind}  {name}" if kind != "~stack" else "  (stack)")
        for violation in sorted(violations, key=lambda v: (v.level != "mandatory", v.rule, v.message)):
            lines.append(f"    {violation.level.upper():<9} {violation.rule}: {violation.message}")
            lines.append(f"              fix: {violation.remediation}")
    skipped: dict[tuple[str, str], int] = {}
    for item in report.not_evaluated:
        skipped[(item.rule, item.reason)] = skipped.get((item.rule, item.reason), 0) + 1
    for (rule, reason), count in sorted(skipped.items()):
        times = f" ({count} resources)" if count > 1 else ""
        lines.append(f"  not evaluated: {rule}{times}: {reason}")
    return "\n".join(lines)


def preview_section(config: PackConfig) -> Callable[[PlanRecord], str]:
    """The "Policy verdicts" section of `plan preview`."""
    return lambda record: render(evaluate(record, config))


def rules_table() -> str:
    """Every rule with its default level and settings, as a Markdown table."""
    lines = ["| rule | family | default | checks | settings (default) |", "|---|---|---|---|---|"]
    for rule in ALL_RULES:
        settings = ", ".join(f"`{key}` ({json.dumps(value)})" for key, value in rule.config_defaults.items())
        family = f"{rule.family} ({rule.area})"
        lines.append(
            f"| `{rule.id}` | {family} | {rule.enforcement.value} | {rule.description} | {settings} |"
        )
    return "\n".join(lines)
