"""The pack as CrossGuard loads it: valid metadata, importable without a server, a `__main__`
that builds exactly one PolicyPack from every rule, per-stack configs the CLI accepts."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from plan.engine import PROJECT_DIR, ConfigError
from plan.policy import CONFIG_DIR, PackConfig, check_pack_config, read_pack_config
from policies.rules import ALL_RULES, RULES_BY_ID
from policies.rules.base import FAMILIES
from tests.policies import test_budget, test_cost, test_kubernetes, test_labels, test_posture

PACK_DIR = PROJECT_DIR / "policies"
STRICTNESS = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}
# Settings where prod is deliberately looser than dev: prod keeps warm accelerator capacity
# and is bigger.
PROD_LOOSER_BY_DESIGN = {"cost-accelerator-scale-to-zero", "cost-pool-max-nodes"}


def test_the_pack_has_at_least_30_documented_rules_in_all_four_families():
    assert len(ALL_RULES) >= 30
    assert {rule.family for rule in ALL_RULES} == set(FAMILIES)
    for rule in ALL_RULES:
        assert rule.id == rule.id.lower() and " " not in rule.id, rule.id
        for text in (rule.description, rule.remediation):
            assert text and "\n" not in text and text.endswith((".", ")")), (rule.id, text)
        assert rule.enforcement in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY), rule.id
        policy = rule.policy()
        expected = ResourceValidationPolicy if rule.scope == "resource" else StackValidationPolicy
        assert isinstance(policy, expected), rule.id
        assert policy.remediation_steps == rule.remediation


def test_every_config_default_satisfies_its_own_schema():
    for rule in ALL_RULES:
        schema = {"type": "object", "properties": dict(rule.config)}
        jsonschema.validate(rule.config_defaults, schema)
        assert set(rule.config_defaults) == set(rule.config), rule.id


def test_every_rule_has_a_compliant_and_a_violating_case():
    cases = [
        *test_kubernetes.CASES,
        *test_posture.CASES,
        *test_cost.CASES,
        *test_budget.CASES,
        *test_labels.CASES,
    ]
    compliant = {case.rule for case in cases if case.violation is None}
    violating = {case.rule for case in cases if case.violation is not None}
    assert set(RULES_BY_ID) - compliant == set()
    assert set(RULES_BY_ID) - violating == set()
    assert {case.rule for case in cases} <= set(RULES_BY_ID)


def test_importing_the_rules_starts_no_server():
    # A fresh interpreter in which starting a gRPC server or building a PolicyPack fails loudly.
    probe = """
import grpc, pulumi_policy.policy as p
def refuse(*args, **kwargs):
    raise SystemExit("started a policy server")
grpc.server = refuse
p.PolicyPack.__init__ = refuse
import importlib, pkgutil, policies, policies.rules as rules
for module in pkgutil.iter_modules(rules.__path__):
    importlib.import_module("policies.rules." + module.name)
print(len(rules.ALL_RULES))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(ALL_RULES))


def test_main_only_builds_one_policy_pack_from_every_rule():
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "PolicyPack"
    ]
    assert len(calls) == 1
    keywords = {k.arg: k.value for k in calls[0].keywords}
    assert isinstance(keywords["name"], ast.Constant)
    policies = keywords["policies"]
    assert isinstance(policies, ast.ListComp)
    assert ast.unparse(policies) == "[rule.policy() for rule in rules.ALL_RULES]"
    # Nothing but imports, the rules loader and the pack at the top level.
    for node in tree.body:
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Assign, ast.Expr)), (
            ast.dump(node)
        )


def test_the_pack_serves_every_rule_when_the_cli_runs_it(tmp_path):
    # As `pulumi preview --policy-pack policies` runs it: `python -m pulumi.policy` hands the
    # pack directory to runpy, from elsewhere, with only that directory on sys.path. The gRPC
    # server is replaced by one that reports what it would serve and stops.
    probe = f"""
import json, runpy, sys
import pulumi_policy.policy as p
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2_grpc

class Server:
    def add_insecure_port(self, address):
        return 0
    def start(self):
        info = served["servicer"].GetAnalyzerInfo(None, None)
        policies = [
            {{"name": x.name, "level": x.enforcementLevel, "steps": x.remediation_steps,
              "config": json_format.MessageToDict(x.configSchema).get("properties", {{}})}}
            for x in info.policies
        ]
        print(json.dumps({{"name": info.name, "policies": policies}}))
        sys.exit(0)

served = {{}}
p.grpc.server = lambda *args, **kwargs: Server()
analyzer_pb2_grpc.add_AnalyzerServicer_to_server = lambda servicer, server: served.update(servicer=servicer)
assert "policies" not in sys.modules
runpy.run_path({str(PACK_DIR)!r}, run_name="__main__")
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout)
    assert served["name"] == "mlplatform"
    assert [p["name"] for p in served["policies"]] == [rule.id for rule in ALL_RULES]
    by_name = {p["name"]: p for p in served["policies"]}
    assert by_name["k8s-ha-replicas"]["config"]["minReplicas"]["default"] == 2
    assert by_name["cost-budget"]["steps"].startswith("Lower pool maximums")


def test_policy_project_file_names_the_python_runtime_and_its_requirements_are_pinned():
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert project["version"]
    root_pins = _pins(PROJECT_DIR / "requirements.txt")
    pack_pins = _pins(PACK_DIR / "requirements.txt")
    assert {"pulumi", "pulumi-policy"} <= set(pack_pins)
    for package, version in pack_pins.items():
        assert root_pins.get(package) == version, f"{package} pinned differently from requirements.txt"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.json")), ids=lambda p: p.name)
def test_shipped_policy_configs_are_valid(path):
    read_pack_config(path)


def test_prod_is_stricter_than_dev():
    dev = PackConfig(read_pack_config(CONFIG_DIR / "dev.json"), "dev")
    prod = PackConfig(read_pack_config(CONFIG_DIR / "prod.json"), "prod")
    for rule in ALL_RULES:
        if rule.id not in PROD_LOOSER_BY_DESIGN:
            assert STRICTNESS[prod.level(rule).value] >= STRICTNESS[dev.level(rule).value], rule.id
    assert prod.properties(RULES_BY_ID["k8s-ha-replicas"])["minReplicas"] >= 2
    assert set(prod.properties(RULES_BY_ID["cost-spot-allowed"])["spotAllowedKinds"]) < set(
        dev.properties(RULES_BY_ID["cost-spot-allowed"])["spotAllowedKinds"]
    )
    stricter = [r.id for r in ALL_RULES if STRICTNESS[prod.level(r).value] > STRICTNESS[dev.level(r).value]]
    assert "deletion-protection" in stricter and "k8s-probes" in stricter


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({"k8s-image-pined": "mandatory"}, "k8s-image-pined: no such policy"),
        ({"k8s-probes": "blocking"}, "'blocking' is not an enforcement level"),
        (
            {"k8s-ha-replicas": {"minReplicas": "two"}},
            "k8s-ha-replicas.minReplicas: 'two' is not of type 'integer'",
        ),
        ({"k8s-ha-replicas": {"minimum": 2}}, "k8s-ha-replicas: Additional properties are not allowed"),
        ({"all": {"minReplicas": 2}}, "all: takes only an enforcement level"),
        ([], "a policy config is a JSON object"),
    ],
)
def test_bad_policy_configs_name_the_key(document, error):
    with pytest.raises(ConfigError) as raised:
        check_pack_config(json.loads(json.dumps(document)), "prod.json")
    assert str(raised.value).startswith("prod.json: ")
    assert error in str(raised.value)
