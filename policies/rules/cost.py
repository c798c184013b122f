"""Cost: every pool autoscaled and bounded, accelerators able to reach zero, spot only where
the stack allows it, and the stack's monthly ceiling within its budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import Severity
from pulumi_policy.proxy import UnknownValueError

from .. import cost_model
from .base import is_mapping, is_sequence, resource_rule, show, stack_rule
from .pools import POOL_TYPES, PoolView, pools_of

POOL_KINDS = ["cpu", "gpu", "tpu"]


def _pools(args) -> Iterator[PoolView]:
    yield from pools_of(args.resource_type, args.props)


@resource_rule(
    "cost-pool-autoscaled",
    family="cost",
    types=POOL_TYPES,
    description="Every node pool is autoscaled between a minimum and a larger maximum.",
    remediation="Give the pool min < max (GKE autoscaling, EKS scalingConfig, AKS enableAutoScaling with "
    "minCount/maxCount) instead of a fixed size.",
)
def pool_autoscaled(args, report, config):
    for pool in _pools(args):
        if not pool.autoscaled:
            report(f"{pool.label(args.name)} is not autoscaled ({pool.sizing})")


@resource_rule(
    "cost-accelerator-scale-to-zero",
    family="cost",
    types=POOL_TYPES,
    description="GPU and TPU pools can scale down to zero nodes.",
    remediation="Set the accelerator pool's min to 0; the autoscaler adds nodes when a pod asks for the "
    "accelerator.",
)
def accelerator_scale_to_zero(args, report, config):
    for pool in _pools(args):
        if pool.is_accelerated and pool.minimum:
            report(
                f"{pool.kind} pool {pool.label(args.name)} ({pool.machine}) keeps at least "
                f"{show(pool.minimum)} node(s) running ({pool.sizing})"
            )


@resource_rule(
    "cost-spot-allowed",
    family="cost",
    types=POOL_TYPES,
    description="Spot (preemptible) capacity is used only for the pool kinds the stack allows.",
    remediation="Set spot: false on the pool, or allow its kind in this stack's "
    "cost-spot-allowed.spotAllowedKinds.",
    config={
        "spotAllowedKinds": {
            "type": "array",
            "items": {"type": "string", "enum": POOL_KINDS},
            "default": POOL_KINDS,
        }
    },
)
def spot_allowed(args, report, config):
    allowed = config["spotAllowedKinds"]
    for pool in _pools(args):
        if pool.spot and pool.kind not in allowed:
            kinds = ", ".join(allowed) or "none"
            report(
                f"{pool.kind} pool {pool.label(args.name)} runs on spot; this stack allows spot for: {kinds}"
            )


@resource_rule(
    "cost-pool-max-nodes",
    family="cost",
    types=POOL_TYPES,
    description="Node pool maximums stay within the stack's ceilings (a typo must not buy 400 GPUs).",
    remediation="Lower the pool's max, or raise this stack's cost-pool-max-nodes ceilings deliberately.",
    config={
        "maxNodes": {"type": "integer", "minimum": 1, "default": 20},
        "maxAcceleratorNodes": {"type": "integer", "minimum": 1, "default": 8},
    },
)
def pool_max_nodes(args, report, config):
    for pool in _pools(args):
        ceiling = config["maxAcceleratorNodes"] if pool.is_accelerated else config["maxNodes"]
        if pool.maximum is not None and pool.maximum > ceiling:
            report(
                f"{pool.kind} pool {pool.label(args.name)} may grow to {show(pool.maximum)} nodes; at "
                f"most {show(ceiling)}"
            )


def plain(value: Any) -> Any:
    """A deep copy of wire-form props as dicts and lists; values unknown during preview
    become None (a price never depends on them: ids, endpoints, names)."""
    if is_mapping(value):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = None
        return result
    if is_sequence(value):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(None)
        return items
    return value


def priced_resources(args) -> list[cost_model.Resource]:
    """The stack's resources for the cost model, with plain props: `graph_nodes_from_policy`
    would hand it the proxies, and one incidental unknown would then skip the budget check."""
    nodes = [
        cost_model.GraphNode(
            urn=resource.urn,
            type=resource.resource_type,
            name=resource.name,
            props=plain(resource.props),
            parent=resource.parent.urn if resource.parent is not None else None,
            provider=resource.provider.urn if resource.provider is not None else None,
            provider_props=plain(resource.provider.props) if resource.provider is not None else None,
        )
        for resource in args.resources
    ]
    return cost_model.resources_from_graph(nodes)


@stack_rule(
    "cost-budget",
    family="cost",
    description="The stack's monthly cost ceiling (every pool at its max) fits the stack's "
    "budget.monthlyMaxUsd.",
    remediation="Lower pool maximums or machine sizes, or raise mlplatform:budget.monthlyMaxUsd in the "
    "stack file (CI passes it here through `python -m plan policy-config`).",
    severity=Severity.HIGH,
    config={
        "monthlyMaxUsd": {"type": ["number", "null"], "minimum": 0, "default": None},
        # The stack's own prices (budget.prices): cloud -> region -> machines/accelerators/disks.
        "prices": {"type": ["object", "null"], "default": None},
        "pricesSource": {"type": ["string", "null"], "default": None},
    },
)
def budget(args, report, config):
    limit = config["monthlyMaxUsd"]
    if limit is None:
        args.not_applicable(
            "no monthly budget configured; pass --policy-pack-config from `python -m plan "
            "policy-config --stack <stack>`"
        )
    prices = cost_model.default_prices().with_overrides(config.get("prices"), config.get("pricesSource"))
    envelope = cost_model.estimate(priced_resources(args), prices)
    if envelope.ceiling_usd <= limit and envelope.unpriced:
        args.not_applicable(
            f"cannot verify the budget: {len(envelope.unpriced)} item(s) have no price in the price table "
            f"(first: {envelope.unpriced[0]}); the priced part's ceiling is ${envelope.ceiling_usd:,.0f}"
        )
    if envelope.ceiling_usd > limit:
        largest = sorted(envelope.lines, key=lambda line: -line.ceiling_usd)[:3]
        drivers = "; ".join(f"{line.item} {line.detail} ${line.ceiling_usd:,.0f}" for line in largest)
        report(
            f"monthly ceiling ${envelope.ceiling_usd:,.0f} exceeds the budget ${limit:,.0f} "
            f"(floor ${envelope.floor_usd:,.0f}; prices of {envelope.price_table_date}); largest: {drivers}"
        )
