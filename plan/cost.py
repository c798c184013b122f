"""`plan cost`: the monthly cost envelope of a plan record, per cluster and pool.

The arithmetic lives in the policy pack (policies.cost_model) so the budget policy and this
command can never disagree; this module feeds it the record's resources and renders the result.
"""

from __future__ import annotations

from collections import defaultdict

from plan.engine import ConfigError
from plan.policy import stack_config_of
from plan.record import PlanRecord
from policies.cost_model import (
    PRICES_DISPLAY,
    CostEnvelope,
    CostLine,
    GraphNode,
    PriceTable,
    default_prices,
    estimate,
    resources_from_graph,
)
from stacks.config import StackConfig

FORMATS = ("text", "markdown")


def price_table(stack: StackConfig | None) -> PriceTable:
    """policies/prices.yaml with the stack's own prices (`budget.prices`) over it."""
    own = stack.budget.prices if stack else None
    return default_prices().with_overrides(own.table_overrides() if own else None, own and own.citation)


def _stack_of(record: PlanRecord) -> StackConfig | None:
    """The stack file a record was made from; none when it is gone or no longer valid (a record
    read back later): the table's prices alone then."""
    try:
        return stack_config_of(record)
    except ConfigError:
        return None


def estimate_record(record: PlanRecord, prices: PriceTable | None = None) -> CostEnvelope:
    """The envelope at `prices`; by default those of the record's stack (price_table)."""
    prices = prices or price_table(_stack_of(record))
    nodes = [
        GraphNode(
            urn=r.urn, type=r.type, name=r.name, props=r.inputs, parent=r.parent, provider=r.provider, id=r.id
        )
        for r in record.resources
    ]
    return estimate(resources_from_graph(nodes), prices)


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _by_cluster(envelope: CostEnvelope) -> dict[str, list[CostLine]]:
    clusters: dict[str, list[CostLine]] = defaultdict(list)
    for line in envelope.lines:
        clusters[line.cluster].append(line)
    return dict(clusters)


def _footnote(envelope: CostEnvelope) -> str:
    sources = ", ".join(envelope.sources) or "no cloud resources priced"
    return (
        f"List prices as of {envelope.price_table_date} ({PRICES_DISPLAY}; sources: {sources}). "
        "Spot nodes at the table's documented discount; storage and traffic billed by use are "
        "not included."
    )


def _unpriced_note(envelope: CostEnvelope) -> str:
    if not envelope.unpriced:
        return ""
    return (
        f"Unpriced ({len(envelope.unpriced)}, left out of floor and ceiling, which are therefore lower "
        f"bounds): {'; '.join(envelope.unpriced)}. Add the prices, with their source, to {PRICES_DISPLAY} or "
        "to the stack's budget.prices."
    )


def _budget_note(envelope: CostEnvelope, budget: float | None) -> str:
    if budget is None:
        return ""
    if envelope.ceiling_usd <= budget and envelope.unpriced:
        return f"The budget of {usd(budget)} cannot be verified while items are unpriced."
    if envelope.ceiling_usd <= budget:
        return (
            f"Within the monthly budget of {usd(budget)} (ceiling {envelope.ceiling_usd / budget:.0%} of it)."
        )
    if envelope.floor_usd > budget:
        return f"The floor alone exceeds the monthly budget of {usd(budget)}."
    return (
        f"The ceiling exceeds the monthly budget of {usd(budget)}: scaling out all the way would overrun it."
    )


def render_cost(
    envelope: CostEnvelope, fmt: str = "text", title: str = "Cost envelope", budget: float | None = None
) -> str:
    """A per-cluster table of floor and ceiling, the totals, and the price table's date."""
    if fmt == "markdown":
        return _markdown(envelope, title, budget)
    return _text(envelope, title, budget)


def _item(line: CostLine) -> str:
    """Pool lines carry their pool's name; other lines name the resource they price."""
    if line.item.startswith("pool ") or not line.resource:
        return line.item
    return f"{line.item}: {line.resource}"


NOTHING_PRICED = "No cloud resources to price (an existing cluster's nodes are paid for elsewhere)."


def _text(envelope: CostEnvelope, title: str, budget: float | None) -> str:
    lines = [f"{title}: floor {usd(envelope.floor_usd)}, ceiling {usd(envelope.ceiling_usd)} per month"]
    if not envelope.lines:
        return "\n".join([*lines, NOTHING_PRICED])
    rows = [("cluster", "item", "detail", "$/h each", "floor", "ceiling")]
    clusters = _by_cluster(envelope)
    for cluster, items in clusters.items():
        for line in items:
            rows.append(
                (
                    cluster or "-",
                    _item(line),
                    line.detail,
                    f"{line.hourly_usd:.4f}",
                    f"{line.floor_usd:,.2f}",
                    f"{line.ceiling_usd:,.2f}",
                )
            )
        if len(clusters) > 1:
            floor = sum(line.floor_usd for line in items)
            ceiling = sum(line.ceiling_usd for line in items)
            rows.append((cluster or "-", "total", "", "", f"{floor:,.2f}", f"{ceiling:,.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  " + "  ".join(cells).rstrip())
    for note in (_unpriced_note(envelope), _budget_note(envelope, budget)):
        if note:
            lines.append(note)
    lines.append(_footnote(envelope))
    return "\n".join(lines)


def _markdown(envelope: CostEnvelope, title: str, budget: float | None) -> str:
    floor, ceiling = usd(envelope.floor_usd), usd(envelope.ceiling_usd)
    heading = f"**{title}**: floor **{floor}**/month, ceiling **{ceiling}**/month"
    if not envelope.lines:
        return f"{heading}\n\n{NOTHING_PRICED}"
    parts = [
        heading,
        "",
        "| cluster | item | detail | $/h each | floor | ceiling |",
        "|---|---|---|---:|---:|---:|",
    ]
    clusters = _by_cluster(envelope)
    for cluster, items in clusters.items():
        for line in items:
            parts.append(
                f"| {cluster or '-'} | {_item(line)} | {line.detail} | {line.hourly_usd:.4f} "
                f"| {usd(line.floor_usd)} | {usd(line.ceiling_usd)} |"
            )
        if len(clusters) > 1:
            floor = sum(line.floor_usd for line in items)
            ceiling = sum(line.ceiling_usd for line in items)
            parts.append(f"| **{cluster or '-'}** | **total** | | | **{usd(floor)}** | **{usd(ceiling)}** |")
    parts.append("")
    for note in (_unpriced_note(envelope), _budget_note(envelope, budget)):
        if note:
            parts.append(note + " ")
    parts.append(f"<sub>{_footnote(envelope)}</sub>")
    return "\n".join(parts)


def cost_section(record: PlanRecord) -> str:
    """The cost envelope at the end of `plan preview`."""
    return render_cost(estimate_record(record))


__all__ = ["FORMATS", "cost_section", "estimate_record", "price_table", "render_cost", "usd"]
