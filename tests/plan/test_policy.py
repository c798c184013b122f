"""`plan policy`: the offline runner hands rules what CrossGuard would, every shipped stack and
example passes, and a deliberately bad stack fails with exit 1 naming each violation."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UnknownValueError

from plan import cli
from plan.cli import main
from plan.engine import PROJECT_DIR
from plan.policy import Adapted, PackConfig, evaluate, pack_config_for, render, stack_config_of
from plan.record import PlanRecord
from policies.rules import ALL_RULES, RULES_BY_ID
from stacks import load_stack_file
from tests.policies.support import messages, provider, record, resource, run

SNAPSHOTS = sorted((PROJECT_DIR / "tests" / "snapshots").glob("*.json"))
GKE_POOL = "gcp:container/nodePool:NodePool"


# --- what the rules see -------------------------------------------------------------------


def test_props_arrive_as_crossguard_sends_them():
    pool = resource(
        GKE_POOL, "gpu", {"autoscaling": {"totalMinNodeCount": 0}, "nodeLocations": ["a"], "x": "<computed>"}
    )
    args = Adapted.of(record(pool)).resource_args(pool, {})
    assert not isinstance(args.props, dict)  # unknown-checking proxies, as in CrossGuard
    assert args.props["autoscaling"]["totalMinNodeCount"] == 0.0
    assert isinstance(args.props["autoscaling"]["totalMinNodeCount"], float)
    with pytest.raises(UnknownValueError):
        args.props["x"]


def test_a_rule_reading_an_unknown_value_is_reported_as_not_evaluated():
    pool = resource(GKE_POOL, "gpu", {"nodeConfig": {"serviceAccount": "<computed>"}})
    report = run("gke-node-service-account", pool)
    assert report.violations == []
    assert [(n.rule, n.reason) for n in report.not_evaluated] == [
        (
            "gke-node-service-account",
            "string value at .nodeConfig.serviceAccount can't be known during preview",
        )
    ]


def test_provider_props_reach_the_rule():
    gcp_provider = provider(
        "gcp", "p", {"defaultLabels": json.dumps({"owner": "a", "environment": "b", "cost-center": "c"})}
    )
    bucket = resource("gcp:storage/bucket:Bucket", "b", {}, provider=gcp_provider)
    assert messages("labels-ownership", gcp_provider, bucket) == []
    assert messages("labels-ownership", bucket) == ["labels lacks owner, environment, cost-center"]


def test_inputs_holding_another_resource_id_are_property_dependencies():
    bucket = resource("aws:s3/bucket:Bucket", "data", {}, id="data-bucket")
    block = resource(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "block", {"bucket": "data-bucket"}
    )
    adapted = Adapted.of(record(bucket, block))
    resources = {r.name: r for r in adapted.stack_resources}
    assert resources["block"].property_dependencies == {"bucket": [resources["data"]]}
    assert resources["block"].dependencies == [resources["data"]]


def test_enforcement_levels_follow_the_cli_precedence():
    config = PackConfig({"all": "advisory", "k8s-probes": {"enforcementLevel": "mandatory"}}, "test")
    assert config.level(RULES_BY_ID["k8s-image-pinned"]) == EnforcementLevel.ADVISORY
    assert config.level(RULES_BY_ID["k8s-probes"]) == EnforcementLevel.MANDATORY
    assert PackConfig({}, "test").level(RULES_BY_ID["deletion-protection"]) == EnforcementLevel.ADVISORY
    assert PackConfig({}, "test").properties(RULES_BY_ID["k8s-ha-replicas"]) == {"minReplicas": 2.0}


def test_disabled_rules_do_not_run_and_remediate_counts_as_mandatory():
    pool = resource(
        GKE_POOL,
        "gpu",
        {
            "nodeConfig": {"guestAccelerators": [{"count": 1}]},
            "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 2},
        },
    )
    config = PackConfig({"all": "disabled", "cost-accelerator-scale-to-zero": "remediate"}, "test")
    report = evaluate(record(pool), config)
    assert report.rules_run == 1
    assert [(v.rule, v.level) for v in report.violations] == [("cost-accelerator-scale-to-zero", "mandatory")]


def test_stack_violations_without_a_resource_are_listed_under_the_stack():
    report = run(
        "k8s-ha-replicas", resource("kubernetes:apps/v1:Deployment", "web", {"metadata": {"name": "web"}})
    )
    text = render(report)
    assert "kubernetes:apps/v1:Deployment  web\n    MANDATORY k8s-ha-replicas: Deployment default/web" in text
    assert "fix: Raise the model's autoscale.min" in text


# --- shipped stacks -----------------------------------------------------------------------


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_every_shipped_stack_and_example_passes_all_mandatory_rules(snapshot):
    # The snapshots are the reviewed plans of every stack and example (tests/test_stacks.py
    # keeps them current), so no program run is needed here.
    plan = PlanRecord.read(snapshot)
    stack_config = stack_config_of(plan)
    assert stack_config is not None, plan.source
    report = evaluate(plan, pack_config_for(plan.stack, stack_config))
    assert report.mandatory == [], render(report)
    assert report.not_evaluated == [], render(report)
    assert report.rules_run >= 30


def test_policy_config_prints_the_stack_file_budget_merged_into_the_prod_config(capsys):
    assert main(["policy-config", "--stack", "prod"]) == 0
    document = json.loads(capsys.readouterr().out)
    prod = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    budget = load_stack_file(PROJECT_DIR / "Pulumi.prod.yaml").budget.monthly_max_usd
    assert document == {**prod, "cost-budget": {"monthlyMaxUsd": budget}}


def test_policy_config_follows_the_environment_not_the_file_name(dev_config, write_stack, capsys):
    # A new stack file named after no config file: its `mlplatform:environment` picks the file.
    dev_config["config"]["mlplatform:environment"] = "prod"
    staging = write_stack(dev_config, name="staging-eu")
    assert main(["policy-config", "--config", str(staging)]) == 0
    prod = json.loads((PROJECT_DIR / "policies" / "config" / "prod.json").read_text())
    printed = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in printed.items() if k != "cost-budget"} == {
        k: v for k, v in prod.items() if k != "cost-budget"
    }
    assert (
        pack_config_for("staging-eu", load_stack_file(staging)).source == "policies/config/prod.json + budget"
    )
    # A file named like a config (dev) does not win over the environment it declares.
    named_dev = write_stack(dev_config, name="dev")
    assert pack_config_for("dev", load_stack_file(named_dev)).source == "policies/config/prod.json + budget"


def test_an_environment_without_a_policy_config_is_an_error(dev_config, write_stack, capsys):
    # Was: silently the rules' own defaults (the strictest), whatever the environment meant.
    dev_config["config"]["mlplatform:environment"] = "qa"
    assert main(["policy-config", "--config", str(write_stack(dev_config))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'test': mlplatform:environment: 'qa' has no policy config ")
    assert "policies/config/qa.json (known: dev, onprem, prod, staging)" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_preview_and_policy_show_the_verdicts_of_the_stack(monkeypatch, capsys, tmp_path):
    # The dev stack's reviewed plan stands in for a program run: this is about the CLI wiring.
    dev = PlanRecord.read(PROJECT_DIR / "tests" / "snapshots" / "Pulumi.dev.json")
    monkeypatch.setattr(cli, "run_program", lambda stack_file, **options: dev)
    assert main(["preview", "--stack", "dev"]) == 0
    sections = capsys.readouterr().out.split("\n\n")
    verdicts = next(i for i, text in enumerate(sections) if text.startswith("Policy verdicts: "))
    assert sections[verdicts].startswith(
        f"Policy verdicts: {len(ALL_RULES) - 1} rules (policies/config/dev.json"
    )
    assert sections[verdicts + 1].startswith("Cost envelope: ")  # DESIGN §6: verdicts, then the cost
    assert main(["policy", "--stack", "dev", "--json", str(tmp_path / "verdicts.json")]) == 0
    verdicts_file = json.loads((tmp_path / "verdicts.json").read_text())
    assert verdicts_file["config"] == "policies/config/dev.json + budget"
    assert verdicts_file["violations"] == []


def test_bad_input_exits_2_without_a_traceback(tmp_path, capsys):
    assert main(["policy", "--record", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "not-a-record.json").write_text("{}")
    assert main(["policy", "--record", str(tmp_path / "not-a-record.json")]) == 2
    (tmp_path / "config.json").write_text('{"k8s-ha-replicas": {"minReplicas": 0}}')
    assert main(["policy", "--stack", "dev", "--policy-pack-config", str(tmp_path / "config.json")]) == 2
    err = capsys.readouterr().err
    assert "config.json: k8s-ha-replicas.minReplicas: 0 is less than the minimum of 1" in err
    assert "Traceback" not in err


# --- a deliberately bad stack ---------------------------------------------------------------


def declare_bad_stack() -> None:
    """What config validation would refuse (a `latest` tag), declared directly under mocks."""
    google = gcp.Provider("bad-gcp", project="acme-ml-dev", region="europe-west4")
    on_gcp = pulumi.ResourceOptions(provider=google)
    gcp.container.NodePool(
        "bad-gpu",
        cluster="projects/acme-ml-dev/locations/europe-west4-a/clusters/main",
        location="europe-west4-a",
        autoscaling={"total_min_node_count": 1, "total_max_node_count": 2},
        node_config={
            "machine_type": "n1-standard-8",
            "guest_accelerators": [{"type": "nvidia-tesla-t4", "count": 1}],
            "service_account": "nodes@acme-ml-dev.iam.gserviceaccount.com",
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "resource_labels": {"owner": "ml-platform", "environment": "dev", "cost-center": "cc-1042"},
        },
        opts=on_gcp,
    )
    gcp.storage.Bucket(
        "bad-public",
        location="EUROPE-WEST4",
        uniform_bucket_level_access=True,
        public_access_prevention="inherited",
        labels={"owner": "ml-platform", "environment": "dev", "cost-center": "cc-1042"},
        opts=on_gcp,
    )
    cluster = k8s.Provider("bad-k8s", kubeconfig="{}")
    labels = {"app": "bad"}
    k8s.apps.v1.Deployment(
        "bad-latest",
        metadata={"name": "bad", "namespace": "ml"},
        spec={
            "replicas": 1,
            "selector": {"match_labels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "security_context": {
                        "run_as_non_root": True,
                        "seccomp_profile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "server",
                            "image": "europe-west4-docker.pkg.dev/acme-ml-dev/models/sentiment:latest",
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
                            "security_context": {
                                "allow_privilege_escalation": False,
                                "read_only_root_filesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
        opts=pulumi.ResourceOptions(provider=cluster),
    )
    k8s.networking.v1.NetworkPolicy(
        "bad-deny",
        metadata={"name": "default-deny", "namespace": "ml"},
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=pulumi.ResourceOptions(provider=cluster),
    )


def test_a_deliberately_bad_stack_fails_naming_each_violation(run_components, tmp_path: Path, capsys):
    bad_record = tmp_path / "bad.json"
    run_components(declare_bad_stack).write(bad_record)
    assert main(["policy", "--record", str(bad_record)]) == 1
    out = capsys.readouterr().out
    groups = _by_resource(out)
    assert groups["gcp:container/nodePool:NodePool  bad-gpu"] == [
        "MANDATORY cost-accelerator-scale-to-zero: gpu pool bad-gpu (n1-standard-8) keeps at least 1 node(s) "
        "running (autoscaling 1..2)"
    ]
    assert groups["gcp:storage/bucket:Bucket  bad-public"] == [
        "MANDATORY bucket-private: publicAccessPrevention is inherited, not enforced",
        "ADVISORY  bucket-versioning: GCS bucket bad-public keeps no previous versions: an overwrite or "
        "delete is final",
    ]
    assert groups["kubernetes:apps/v1:Deployment  bad-latest"] == [
        "MANDATORY image-provenance: bad runs on a cluster whose admission control does not limit where "
        "images come from",
        "MANDATORY k8s-image-pinned: container server image "
        "'europe-west4-docker.pkg.dev/acme-ml-dev/models/sentiment:latest' uses the moving tag 'latest'",
        "MANDATORY k8s-resources: container server has no limits.memory",
        "ADVISORY  k8s-probes: container server has no readinessProbe, livenessProbe",
    ]
    assert out.splitlines()[0].endswith(": 5 mandatory, 2 advisory violation(s)")


def _by_resource(out: str) -> dict[str, list[str]]:
    """Rendered verdicts as {resource heading: [violation lines]} (fix lines left out)."""
    groups: dict[str, list[str]] = {}
    heading = ""
    for line in out.splitlines()[1:]:
        if line.startswith("    ") and not line.strip().startswith("fix:"):
            groups[heading].append(line.strip())
        elif line.startswith("  ") and not line.startswith("   "):
            heading = line.strip()
            groups.setdefault(heading, [])
    return groups


def test_list_prints_every_rule_with_its_default_level(capsys):
    assert main(["policy", "--list"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == [rule.id for rule in ALL_RULES]
    assert "| `deletion-protection` | posture (protection) | advisory |" in "\n".join(rows)
