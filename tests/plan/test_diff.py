"""`plan diff`: added, removed and changed resources with their field paths, replace-worthy
changes, rendering, and the git-ref side run in a temporary worktree."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest

from plan.cli import main
from plan.diff import (
    MISSING,
    DiffInputError,
    StackArgs,
    diff_records,
    field_changes,
    forces_replacement,
    record_at_ref,
    render_markdown,
    render_text,
)
from plan.engine import PROJECT_DIR, run_program
from plan.record import SECRET, PlanRecord, ResourceRecord
from tests.helpers import shipped_plan

STACK_URN = "urn:pulumi:dev::mlplatform::pulumi:pulumi:Stack::mlplatform-dev"
POOL_COMPONENT = "urn:pulumi:dev::mlplatform::mlplatform:gcp:NodePool::main-gpu"


def resource(type_token: str, name: str, inputs: dict, parent: str = POOL_COMPONENT) -> ResourceRecord:
    chain = "mlplatform:gcp:NodePool$" if parent == POOL_COMPONENT else ""
    return ResourceRecord(
        urn=f"urn:pulumi:dev::mlplatform::{chain}{type_token}::{name}",
        type=type_token,
        name=name,
        parent=parent,
        provider=None,
        custom=True,
        id=None,
        inputs=inputs,
    )


def record(*resources: ResourceRecord) -> PlanRecord:
    base = [
        ResourceRecord(STACK_URN, "pulumi:pulumi:Stack", "mlplatform-dev", None, None, False, None, {}),
        ResourceRecord(
            POOL_COMPONENT, "mlplatform:gcp:NodePool", "main-gpu", STACK_URN, None, False, None, {}
        ),
    ]
    return PlanRecord(
        project="mlplatform", stack="dev", source="Pulumi.dev.yaml", resources=base + list(resources)
    )


NODE_POOL = "gcp:container/nodePool:NodePool"
POOL_INPUTS = {
    "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
    "nodeConfig": {
        "machineType": "n1-standard-8",
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}],
        "labels": {"mlplatform.io/pool": "gpu"},
        "spot": True,
    },
    "location": "europe-west4-a",
}


def changed_pool(**edits) -> dict:
    inputs = copy.deepcopy(POOL_INPUTS)
    for path, value in edits.items():
        node = inputs
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[leaf] = value
    return inputs


def test_field_changes_walk_nested_dicts_and_lists():
    old = {"a": {"b": 1, "gone": True}, "list": [{"x": 1}, {"x": 2}], "same": [1, 2]}
    new = {"a": {"b": 2, "new": "v"}, "list": [{"x": 1}, {"x": 3}, {"x": 4}], "same": [1, 2]}
    assert list(field_changes(old, new)) == [
        ("a.b", 1, 2),
        ("a.gone", True, MISSING),
        ("a.new", MISSING, "v"),
        ("list.1.x", 2, 3),
        ("list.2", MISSING, {"x": 4}),
    ]


def test_identical_records_have_no_changes():
    pool = resource(NODE_POOL, "main-gpu", POOL_INPUTS)
    diff = diff_records(record(pool), record(copy.deepcopy(pool)))
    assert diff.changes == ()
    assert diff.unchanged == 2  # the component and the pool
    assert "No changes: 2 resources unchanged." in render_text(diff)
    assert "**No changes**: 2 resources unchanged." in render_markdown(diff)


def test_changed_stack_outputs_are_listed():
    before, after = record(), record()
    before.outputs = {"main.cloud": "gcp", "main.registry": "europe-west4-docker.pkg.dev/p/dev-models"}
    after.outputs = {"main.cloud": "gcp", "main.registry": "europe-west4-docker.pkg.dev/p/dev-images"}
    diff = diff_records(before, after)
    assert [(o.path, o.new) for o in diff.outputs] == [
        ("main.registry", "europe-west4-docker.pkg.dev/p/dev-images")
    ]
    text = render_text(diff)
    assert "No resource changes: 1 resources unchanged." in text
    assert (
        "main.registry: europe-west4-docker.pkg.dev/p/dev-models → europe-west4-docker.pkg.dev/p/dev-images"
        in text
    )


def test_added_removed_and_changed_resources_with_field_paths():
    kept = resource("gcp:storage/bucket:Bucket", "data", {"location": "EU", "labels": {"a": "1"}})
    gone = resource("gcp:storage/bucket:Bucket", "old", {"location": "EU"})
    added = resource("gcp:storage/bucket:Bucket", "new", {"location": "EU"})
    relabelled = resource("gcp:storage/bucket:Bucket", "data", {"location": "EU", "labels": {"a": "2"}})
    diff = diff_records(record(kept, gone), record(relabelled, added))
    actions = {(c.action, c.name) for c in diff.changes}
    assert actions == {("update", "data"), ("delete", "old"), ("create", "new")}
    [update] = [c for c in diff.changes if c.action == "update"]
    assert [(f.path, f.old, f.new, f.replaces) for f in update.fields] == [("labels.a", "1", "2", False)]
    assert update.group == "mlplatform:gcp:NodePool main-gpu"
    text = render_text(diff)
    assert "1 to create, 1 to update, 0 to replace, 1 to delete; 1 unchanged" in text
    assert "labels.a: 1 → 2" in text


def test_machine_type_change_is_flagged_as_a_replacement():
    before = resource(NODE_POOL, "main-gpu", POOL_INPUTS)
    after = resource(NODE_POOL, "main-gpu", changed_pool(nodeConfig__machineType="n1-standard-16"))
    diff = diff_records(record(before), record(after))
    [change] = diff.changes
    assert change.action == "replace"
    assert [(f.path, f.old, f.new, f.replaces) for f in change.fields] == [
        ("nodeConfig.machineType", "n1-standard-8", "n1-standard-16", True)
    ]
    markdown = render_markdown(diff)
    assert "`nodeConfig.machineType`: `n1-standard-8` → `n1-standard-16` — **forces replacement**" in markdown
    assert (
        "<details open><summary><code>mlplatform:gcp:NodePool main-gpu</code>: 1 to replace</summary>"
        in markdown
    )


def test_scaling_change_is_an_update_in_place():
    before = resource(NODE_POOL, "main-gpu", POOL_INPUTS)
    after = resource(NODE_POOL, "main-gpu", changed_pool(autoscaling__totalMaxNodeCount=4))
    [change] = diff_records(record(before), record(after)).changes
    assert change.action == "update"
    assert [(f.path, f.replaces) for f in change.fields] == [("autoscaling.totalMaxNodeCount", False)]


@pytest.mark.parametrize(
    ("type_token", "path", "replaces"),
    [
        (NODE_POOL, "nodeConfig.guestAccelerators.0.type", True),
        (NODE_POOL, "nodeConfig.labels.team", False),
        ("gcp:container/cluster:Cluster", "location", True),
        ("gcp:container/cluster:Cluster", "releaseChannel.channel", False),
        ("aws:eks/nodeGroup:NodeGroup", "instanceTypes.0", True),
        ("aws:eks/nodeGroup:NodeGroup", "scalingConfig.maxSize", False),
        ("azure-native:containerservice:AgentPool", "agentPoolName", True),
        ("azure-native:containerservice:ManagedCluster", "agentPoolProfiles.0.vmSize", True),
        ("azure-native:containerservice:ManagedCluster", "agentPoolProfiles.0.maxCount", False),
        ("kubernetes:apps/v1:Deployment", "metadata.name", True),
        ("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app", True),
        ("kubernetes:apps/v1:Deployment", "spec.template.spec.containers.0.image", False),
        ("kubernetes:core/v1:ConfigMap", "metadata.namespace", True),
    ],
)
def test_replace_worthy_fields(type_token, path, replaces):
    assert forces_replacement(type_token, path) is replaces


def test_secret_and_computed_markers_compare_as_opaque_values():
    before = resource("pulumi:providers:kubernetes", "k8s", {"kubeconfig": SECRET}, parent=STACK_URN)
    same = resource("pulumi:providers:kubernetes", "k8s", {"kubeconfig": SECRET}, parent=STACK_URN)
    assert diff_records(record(before), record(same)).changes == ()
    revealed = resource(
        "pulumi:providers:kubernetes", "k8s", {"kubeconfig": "apiVersion: v1"}, parent=STACK_URN
    )
    [change] = diff_records(record(before), record(revealed)).changes
    assert [(f.path, f.old) for f in change.fields] == [("kubeconfig", SECRET)]


def test_a_resource_moved_to_another_parent_needs_an_alias():
    before = resource(NODE_POOL, "main-gpu", POOL_INPUTS)
    after = resource(NODE_POOL, "main-gpu", POOL_INPUTS, parent=STACK_URN)
    [change] = diff_records(record(before), record(after)).changes
    assert change.action == "replace"
    assert "add an alias" in change.note
    assert change.group == "stack"


def test_long_groups_collapse_unless_they_replace_or_delete():
    many = [resource("gcp:storage/bucket:Bucket", f"b{i}", {"location": "EU"}) for i in range(15)]
    markdown = render_markdown(diff_records(record(), record(*many)))
    assert (
        "<details><summary><code>mlplatform:gcp:NodePool main-gpu</code>: 15 to create</summary>" in markdown
    )


# --------------------------------------------------------------------------------------------
# The real program, record files, git refs and the CLI


@pytest.fixture(scope="module")
def dev_records(tmp_path_factory):
    """The dev stack and a change to it: a bigger GPU machine and one more system node."""
    import yaml

    document = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    pools = document["config"]["mlplatform:clusters"]["main"]["pools"]
    pools["gpu-t4"]["machineType"] = "n1-standard-16"
    pools["system"]["max"] = 4
    changed = tmp_path_factory.mktemp("changed") / "Pulumi.dev.yaml"
    changed.write_text(yaml.safe_dump(document, sort_keys=False))
    return shipped_plan(PROJECT_DIR / "Pulumi.dev.yaml"), run_program(changed)


def test_config_change_on_the_real_program(dev_records):
    base, head = dev_records
    diff = diff_records(base, head)
    changes = {(c.action, c.name): c for c in diff.changes}
    assert set(changes) == {("replace", "main-gpu-t4"), ("update", "main-system")}
    gpu = changes[("replace", "main-gpu-t4")]
    assert [(f.path, f.old, f.new) for f in gpu.fields if f.replaces] == [
        ("nodeConfig.machineType", "n1-standard-8", "n1-standard-16")
    ]
    assert diff.unchanged == len(base.resources) - 1 - 2  # less the stack and the two pools


def test_cli_diffs_record_files(dev_records, tmp_path, capsys):
    base, head = dev_records
    base.write(tmp_path / "base.json")
    head.write(tmp_path / "head.json")
    assert main(["diff", "--base", str(tmp_path / "base.json"), "--head", str(tmp_path / "base.json")]) == 0
    assert "No changes" in capsys.readouterr().out
    code = main(
        [
            "diff",
            "--base",
            str(tmp_path / "base.json"),
            "--head",
            str(tmp_path / "head.json"),
            "--format",
            "text",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "0 to create, 1 to update, 1 to replace, 0 to delete" in out
    assert "nodeConfig.machineType: n1-standard-8 → n1-standard-16   [forces replacement]" in out


def test_cli_bad_input_exits_2_without_traceback(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("{}")
    assert main(["diff", "--base", str(tmp_path / "junk.json"), "--head", str(tmp_path / "junk.json")]) == 2
    assert "not a plan record" in capsys.readouterr().err
    assert main(["diff", "--base", "no-such-ref-or-file", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert "'no-such-ref-or-file' is neither a plan record file nor a git ref" in err
    assert "Traceback" not in err


def _git(repo, *args):
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.test", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def project_repo(tmp_path_factory):
    """A throwaway git repository holding a copy of the project: a commit before the plan engine
    existed, then the project as it is."""
    repo = tmp_path_factory.mktemp("repo")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "README.md").write_text("before the plan engine\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "before")
    # What git ignores stays out, at the top too: the venvs, node_modules, .pycache (`make test`).
    ignore = shutil.ignore_patterns(
        "venv", ".venv*", ".git", "__pycache__", "tests", ".*cache", "out", "node_modules"
    )
    for item in PROJECT_DIR.iterdir():
        if ignore(str(PROJECT_DIR), [item.name]):
            continue
        if item.is_dir():
            shutil.copytree(item, repo / item.name, ignore=ignore)
        else:
            shutil.copy2(item, repo / item.name)
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "project")
    return repo


def test_git_ref_runs_its_own_program_in_a_temporary_worktree(project_repo, dev_records):
    base, _ = dev_records
    at_ref = record_at_ref("HEAD", StackArgs(stack="dev"), repo=project_repo)
    # The same program and stack file give the same record, byte for byte.
    assert at_ref.to_json() == base.to_json()
    worktrees = _git(project_repo, "worktree", "list", "--porcelain").stdout
    assert worktrees.count("worktree ") == 1, worktrees


def test_git_ref_before_the_plan_engine_is_a_clear_error(project_repo):
    with pytest.raises(DiffInputError, match=r"HEAD~1 predates the offline plan engine"):
        record_at_ref("HEAD~1", StackArgs(stack="dev"), repo=project_repo)
    assert _git(project_repo, "worktree", "list", "--porcelain").stdout.count("worktree ") == 1


def test_stack_file_missing_at_the_ref_means_everything_is_new(project_repo):
    at_ref = record_at_ref("HEAD", StackArgs(stack="staging"), repo=project_repo)
    assert at_ref.resources == []
    assert "no Pulumi.staging.yaml at HEAD" in at_ref.source
