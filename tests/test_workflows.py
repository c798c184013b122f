"""The GitHub workflows: valid against GitHub's workflow schema (offline, check-jsonschema's
vendored copy), least privilege, no secrets where none are needed, pinned actions, and the
gates the design relies on (policy pack on every Pulumi run, approval before prod)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from plan.engine import PROJECT_DIR
from stacks import load_stack_file

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true


def steps_using(job: dict, action: str) -> list[dict]:
    return [step for step in job.get("steps", []) if step.get("uses", "").startswith(action + "@")]


def test_workflows_pass_the_github_workflow_schema():
    assert {path.name for path in WORKFLOW_FILES} == {"pr.yml", "pulumi.yml", "deploy.yml"}
    result = check_jsonschema("vendor.github-workflows", *WORKFLOW_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    dependabot = check_jsonschema("vendor.dependabot", PROJECT_DIR / ".github" / "dependabot.yml")
    assert dependabot.returncode == 0, dependabot.stdout + dependabot.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = load("deploy.yml")
    broken["jobs"]["test"]["runs-on"] = {"labels": 42}
    broken["jobs"]["test"]["timeout-minutes"] = "soon"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema("vendor.github-workflows", path).returncode != 0


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_actions_are_pinned_to_exact_versions(path):
    jobs = yaml.safe_load(path.read_text())["jobs"].values()
    uses = [step["uses"] for job in jobs for step in job.get("steps", []) if "uses" in step]
    external = [u for u in uses if not u.startswith("./")]
    assert external
    for action in external:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+\.\d+(\.\d+)?|[0-9a-f]{40})", action), action


def test_pull_request_offline_job_needs_no_secrets_and_reads_only():
    workflow = load("pr.yml")
    assert "pull_request" in triggers(workflow)
    assert workflow["permissions"] == {}
    offline = workflow["jobs"]["offline"]
    assert offline["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(offline)
    runs = [step.get("run", "") for step in offline["steps"]]
    test_step = next(i for i, run in enumerate(runs) if run.strip() == "make test")
    report_step = next(i for i, run in enumerate(runs) if "python -m plan diff" in run)
    assert test_step < report_step
    report = runs[report_step]
    assert '--base "$BASE" --head HEAD' in report and "--format markdown" in report
    assert "python -m plan policy" in report and "python -m plan cost" in report
    # Every stack file (a new one needs no edit here) and each example.
    assert "for stack_file in Pulumi.*.yaml" in report and "examples/*.yaml" in report
    assert next(s for s in offline["steps"] if s.get("id") == "report")["env"]["BASE"] == (
        "origin/${{ github.base_ref }}"
    )


def test_one_sticky_comment_posted_by_a_job_that_may_only_write_pull_requests():
    workflow = load("pr.yml")
    comment = workflow["jobs"]["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    [script] = [step["with"]["script"] for step in steps_using(comment, "actions/github-script")]
    marker = "<!-- mlplatform-offline-plan -->"
    assert marker in script and "updateComment" in script and "createComment" in script
    report = next(s for s in workflow["jobs"]["offline"]["steps"] if s.get("id") == "report")["run"]
    assert f"echo '{marker}'" in report


def test_real_preview_runs_only_with_credentials_through_the_pulumi_action():
    caller = load("pr.yml")["jobs"]["preview"]
    assert caller["uses"] == "./.github/workflows/pulumi.yml"
    assert caller["with"]["command"] == "preview"
    assert caller["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}

    workflow = load("pulumi.yml")
    assert "workflow_call" in triggers(workflow)
    check = workflow["jobs"]["credentials"]
    assert check["steps"][0]["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    job = workflow["jobs"]["pulumi"]
    assert job["needs"] == "credentials"
    assert job["if"] == "needs.credentials.outputs.configured == 'true'"
    assert "permissions" not in job  # exactly what the caller grants
    [pulumi] = steps_using(job, "pulumi/actions")
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == "policy-config.json"
    assert pulumi["with"]["comment-on-pr"] == "${{ inputs.command == 'preview' }}"
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "python -m plan policy-config --stack" in runs

    # OIDC for each cloud, no long-lived keys.
    [gcp] = steps_using(job, "google-github-actions/auth")
    assert set(gcp["with"]) == {"workload_identity_provider", "service_account"}
    [aws] = steps_using(job, "aws-actions/configure-aws-credentials")
    assert "role-to-assume" in aws["with"] and "aws-secret-access-key" not in aws["with"]
    [azure] = steps_using(job, "azure/login")
    assert set(azure["with"]) == {"client-id", "tenant-id", "subscription-id"}


def list_stacks(root: Path) -> dict[str, list]:
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / ".github" / "scripts" / "list_stacks.py"), str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {key: json.loads(value) for key, value in (line.split("=", 1) for line in result.stdout.split())}


def test_ci_lists_every_stack_file_with_its_environment(tmp_path):
    hosted = '"ubuntu-24.04"'
    assert list_stacks(PROJECT_DIR) == {
        "stacks": [{"stack": "dev", "runner": hosted}, {"stack": "prod", "runner": hosted}],
        "staged": [{"stack": "dev", "environment": "dev", "runner": hosted}],
        "production": [{"stack": "prod", "environment": "production", "runner": hosted}],
    }
    # A new stack file is picked up, and where it deploys follows its environment, not its name.
    for name, environment in {"staging": "staging", "prod-eu": "prod", "dev": "dev"}.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(
            yaml.safe_dump({"config": {"mlplatform:environment": environment}})
        )
    (tmp_path / "Pulumi.yaml").write_text("name: mlplatform\n")
    assert list_stacks(tmp_path) == {
        "stacks": [{"stack": name, "runner": hosted} for name in ("dev", "prod-eu", "staging")],
        "staged": [
            {"stack": "dev", "environment": "dev", "runner": hosted},
            {"stack": "staging", "environment": "staging", "runner": hosted},
        ],
        "production": [{"stack": "prod-eu", "environment": "production", "runner": hosted}],
    }


def test_a_self_hosted_runner_in_config_is_where_the_pulumi_job_runs(tmp_path):
    """The labels of a cluster's ciAccess selfHostedRunner become the Pulumi job's runs-on, for
    the preview and the deploy, exactly as the validated config reads them."""
    example = PROJECT_DIR / "examples" / "azure-aks.yaml"
    (tmp_path / "Pulumi.staging.yaml").write_text(example.read_text())
    labels = load_stack_file(example).runner_labels
    assert labels == ["self-hosted", "linux", "aks-staging"]
    listed = list_stacks(tmp_path)
    assert [json.loads(entry["runner"]) for entry in listed["stacks"] + listed["staged"]] == [labels, labels]

    workflow = load("pulumi.yml")
    assert workflow["jobs"]["pulumi"]["runs-on"] == "${{ fromJSON(inputs.runner) }}"
    assert json.loads(triggers(workflow)["workflow_call"]["inputs"]["runner"]["default"]) == "ubuntu-24.04"
    # The check for credentials needs no network path: it stays on a GitHub-hosted runner.
    assert workflow["jobs"]["credentials"]["runs-on"] == "ubuntu-24.04"
    callers = [
        load("pr.yml")["jobs"]["preview"],
        *(load("deploy.yml")["jobs"][j] for j in ("staged", "production")),
    ]
    for job in callers:
        assert job["with"]["runner"] == "${{ matrix.runner }}"


def test_two_runners_for_one_stack_fail_the_listing(tmp_path):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "azure-aks.yaml").read_text())
    clusters = document["config"]["mlplatform:clusters"]
    clusters["other"] = {"ciAccess": {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "other"]}}
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / ".github" / "scripts" / "list_stacks.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Pulumi.staging.yaml: clusters name different runnerLabels" in result.stderr


def test_previews_and_deploys_take_their_stacks_from_the_listing():
    pr = load("pr.yml")["jobs"]
    assert pr["stacks"]["permissions"] == {"contents": "read"}
    assert "list_stacks.py" in pr["stacks"]["steps"][-1]["run"]
    assert pr["preview"]["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert "stacks" in pr["preview"]["needs"]

    jobs = load("deploy.yml")["jobs"]
    assert "list_stacks.py" in jobs["stacks"]["steps"][-1]["run"]
    staged, production = jobs["staged"], jobs["production"]
    assert staged["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.staged) }}"
    assert production["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.stacks.outputs.production) }}"
    assert set(staged["needs"]) == {"test", "stacks"} and "staged" in production["needs"]
    # Prod never starts when a staged deploy failed; an empty matrix is skipped, not an error.
    assert "needs.staged.result == 'success'" in production["if"]
    assert "needs.stacks.outputs.production != '[]'" in production["if"]
    assert "needs.stacks.outputs.staged != '[]'" in staged["if"]


def test_deploy_runs_staged_stacks_then_prod_behind_an_approval_and_never_overlaps():
    workflow = load("deploy.yml")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    for name in ("staged", "production"):
        assert jobs[name]["with"] == {
            "stack": "${{ matrix.stack }}",
            "command": "up",
            "environment": "${{ matrix.environment }}",
            "runner": "${{ matrix.runner }}",
        }
        assert jobs[name]["permissions"] == {"contents": "read", "id-token": "write"}

    job = load("pulumi.yml")["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"
    group = job["concurrency"]["group"]
    assert "format('pulumi-up-{0}', inputs.stack)" in group
    assert job["concurrency"]["cancel-in-progress"] == "${{ inputs.command != 'up' }}"


def test_the_deploy_creates_the_policy_pack_venv_before_pulumi_runs():
    steps = load("pulumi.yml")["jobs"]["pulumi"]["steps"]
    runs = [step.get("run", "") for step in steps]
    venv = next(i for i, run in enumerate(runs) if "python -m venv policies/venv" in run)
    assert "policies/venv/bin/python -m pip install -r policies/requirements.txt" in runs[venv]
    pulumi = next(i for i, step in enumerate(steps) if step.get("uses", "").startswith("pulumi/actions@"))
    assert venv < pulumi
    runtime = yaml.safe_load((PROJECT_DIR / "policies" / "PulumiPolicy.yaml").read_text())["runtime"]
    assert runtime["options"]["virtualenv"] == "venv"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_make_targets_the_workflows_call_exist(path):
    targets = set(re.findall(r"^([\w./-]+):", (PROJECT_DIR / "Makefile").read_text(), re.MULTILINE))
    called = re.findall(r"\bmake ([\w./-]+)", path.read_text())
    assert called and set(called) <= targets, set(called) - targets


def test_dependabot_keeps_actions_and_python_pins_current():
    updates = yaml.safe_load((PROJECT_DIR / ".github" / "dependabot.yml").read_text())["updates"]
    by_ecosystem = {update["package-ecosystem"]: update for update in updates}
    assert set(by_ecosystem) == {"github-actions", "pip"}
    assert set(by_ecosystem["pip"]["directories"]) == {"/", "/policies"}
    assert (PROJECT_DIR / "policies" / "requirements.txt").exists()
