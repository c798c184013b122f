"""The budget rule: the cost model's ceiling against the stack file's budget.monthlyMaxUsd."""

from __future__ import annotations

import pytest

from plan.cost import estimate_record
from plan.engine import PROJECT_DIR
from plan.policy import evaluate, pack_config_for, stack_config_of
from plan.record import PlanRecord
from policies.rules import RULES_BY_ID
from tests.policies.support import bad, ok, provider, resource, run

GCP = provider("gcp", "main-gcp", {"project": "acme-ml-dev", "region": "europe-west4"})
T4_POOL = {
    "location": "europe-west4-a",
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 4},
    "nodeConfig": {
        "machineType": "n1-standard-8",
        "spot": True,
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}],
    },
}


def t4_pool(**node_config):
    props = {**T4_POOL, "nodeConfig": {**T4_POOL["nodeConfig"], **node_config}}
    return resource("gcp:container/nodePool:NodePool", "main-gpu", props, provider=GCP)


CASES = [
    ok("cost-budget", "four spot T4 nodes in 3000", GCP, t4_pool(), config={"monthlyMaxUsd": 3000}),
    bad(
        "cost-budget",
        "four T4 nodes in 100",
        "exceeds the budget $100",
        GCP,
        t4_pool(),
        config={"monthlyMaxUsd": 100},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(case):
    case.check()


def test_without_a_budget_the_rule_says_it_did_not_run():
    report = run("cost-budget", GCP, t4_pool())
    assert report.violations == []
    assert [n.reason for n in report.not_evaluated] == [
        "no monthly budget configured; pass --policy-pack-config from "
        "`python -m plan policy-config --stack <stack>`"
    ]


def test_an_unpriced_item_means_the_budget_cannot_be_verified_not_a_failure():
    report = run("cost-budget", GCP, t4_pool(machineType="n9-imaginary-8"), config={"monthlyMaxUsd": 3000})
    assert report.violations == []
    assert [n.reason.split(" (first:")[0] for n in report.not_evaluated] == [
        "cannot verify the budget: 1 item(s) have no price in the price table"
    ]


def test_what_is_priced_can_still_exceed_the_budget_beside_an_unpriced_item():
    report = run(
        "cost-budget", GCP, t4_pool(), t4_pool(machineType="n9-imaginary-8"), config={"monthlyMaxUsd": 1}
    )
    assert [v.message.split(" (floor")[0] for v in report.violations] == [
        f"monthly ceiling ${report_ceiling(t4_pool()):,.0f} exceeds the budget $1"
    ]


def report_ceiling(pool) -> float:
    from policies.cost_model import estimate

    return estimate([("gcp:container/nodePool:NodePool", pool.inputs)]).ceiling_usd


def test_the_rule_and_plan_cost_agree_on_the_ceiling_of_a_shipped_stack():
    plan = PlanRecord.read(PROJECT_DIR / "tests" / "snapshots" / "Pulumi.prod.json")
    ceiling = estimate_record(plan).ceiling_usd
    config = pack_config_for(plan.stack, stack_config_of(plan))
    config.document["cost-budget"]["monthlyMaxUsd"] = ceiling - 1
    report = evaluate(plan, config, rules=[RULES_BY_ID["cost-budget"]])
    assert [v.message.split(" (floor")[0] for v in report.violations] == [
        f"monthly ceiling ${ceiling:,.0f} exceeds the budget ${ceiling - 1:,.0f}"
    ]
    config.document["cost-budget"]["monthlyMaxUsd"] = ceiling
    assert evaluate(plan, config, rules=[RULES_BY_ID["cost-budget"]]).violations == []
