"""`plan diff`: what a change does to the plan, for a terminal or as Markdown for a PR comment.

Each side is a plan record file (`plan preview --json FILE`) or a git ref: the program at that
ref runs, with its own `plan` code and its own copy of the stack file, in a temporary worktree.
Resources are keyed by URN; inputs are compared recursively and every changed field is shown
with its path (`nodeConfig.machineType: e2-standard-4 → n2-standard-8`). Changes to fields that
force the provider to replace the resource are flagged (REPLACE_FIELDS). Secret and computed
markers compare as opaque values: "<secret>" equals "<secret>" whatever it hides.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from plan.cost import estimate_record, usd
from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord, ResourceRecord
from policies.cost_model import CostEnvelope
from stacks import ConfigError

Action = Literal["create", "update", "replace", "delete"]
SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
STACK_TYPE = "pulumi:pulumi:Stack"

# Fields whose change makes the provider replace the resource (delete and create; for node
# pools, recreate every node), from the providers' schemas and API docs ("forces new
# resource", "immutable"). A pattern matches the field itself and anything below it; "*"
# stands for one path segment (a list index or a key). "kubernetes:*" applies to every
# Kubernetes kind. A resource's own `replaceOnChanges` option (in its record) adds to these.
REPLACE_FIELDS: dict[str, tuple[str, ...]] = {
    # Google Cloud
    "gcp:container/cluster:Cluster": (
        "name",
        "project",
        "location",
        "network",
        "subnetwork",
        "networkingMode",
        "ipAllocationPolicy",
        "privateClusterConfig.enablePrivateNodes",
        "privateClusterConfig.masterIpv4CidrBlock",
        "datapathProvider",
    ),
    "gcp:container/nodePool:NodePool": (
        "name",
        "namePrefix",
        "project",
        "cluster",
        "location",
        # initialNodeCount is ForceNew but ignored (ignore_changes) by GkeNodePool; the TPU
        # placement policy (type, tpu_topology) stays ForceNew in the provider.
        "placementPolicy",
        "nodeConfig.machineType",
        "nodeConfig.diskSizeGb",
        "nodeConfig.diskType",
        "nodeConfig.imageType",
        "nodeConfig.guestAccelerators",
        "nodeConfig.spot",
        "nodeConfig.preemptible",
        "nodeConfig.serviceAccount",
        "nodeConfig.oauthScopes",
        "nodeConfig.metadata",
        "nodeConfig.shieldedInstanceConfig",
    ),
    "gcp:compute/network:Network": ("name", "project", "autoCreateSubnetworks"),
    "gcp:compute/subnetwork:Subnetwork": ("name", "project", "network", "region", "ipCidrRange"),
    "gcp:compute/router:Router": ("name", "project", "network", "region"),
    "gcp:compute/routerNat:RouterNat": ("name", "project", "router", "region"),
    "gcp:compute/firewall:Firewall": ("name", "project", "network"),
    "gcp:storage/bucket:Bucket": ("name", "project", "location"),
    "gcp:artifactregistry/repository:Repository": ("repositoryId", "project", "location", "format"),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:projects/iAMMember:IAMMember": ("project", "role", "member", "condition"),
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (
        "project",
        "location",
        "repository",
        "role",
        "member",
        "condition",
    ),
    "gcp:serviceaccount/iAMMember:IAMMember": ("serviceAccountId", "role", "member", "condition"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("bucket", "role", "member", "condition"),
    # AWS
    "aws:eks/cluster:Cluster": (
        "name",
        "roleArn",
        "vpcConfig.subnetIds",
        "vpcConfig.securityGroupIds",
        "kubernetesNetworkConfig",
        "encryptionConfig",
        "bootstrapSelfManagedAddons",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "subnetIds",
        "instanceTypes",
        "amiType",
        "capacityType",
        "diskSize",
        "remoteAccess",
        "launchTemplate.id",
        "launchTemplate.name",
    ),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "instanceTenancy"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    # Azure
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:containerservice:ManagedCluster": (
        "resourceName",
        "resourceGroupName",
        "location",
        "dnsPrefix",
        "networkProfile.networkPlugin",
        "networkProfile.networkPluginMode",
        "networkProfile.podCidr",
        "networkProfile.serviceCidr",
        "agentPoolProfiles.*.vmSize",
        "agentPoolProfiles.*.osDiskSizeGB",
        "agentPoolProfiles.*.vnetSubnetID",
    ),
    # An agent pool's other creation-only fields are the record's replaceOnChanges option
    # (components.azure.agent_pool.CREATION_ONLY_PROPERTIES), which Pulumi itself acts on.
    "azure-native:containerservice:AgentPool": ("agentPoolName", "resourceName", "resourceGroupName"),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "resourceGroupName", "location"),
    "azure-native:network:Subnet": ("subnetName", "virtualNetworkName", "resourceGroupName"),
    "azure-native:storage:StorageAccount": ("accountName", "resourceGroupName", "location", "kind"),
    "azure-native:storage:BlobContainer": ("containerName", "accountName", "resourceGroupName"),
    "azure-native:containerregistry:Registry": ("registryName", "resourceGroupName", "location"),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "resourceGroupName", "location"),
    # Providers: moving resources to another project, account region or subscription
    # recreates them there.
    "pulumi:providers:gcp": ("project",),
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:azure-native": ("subscriptionId",),
    # Kubernetes: identity and the immutable fields of a few kinds
    "kubernetes:*": ("metadata.name", "metadata.namespace"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:batch/v1:Job": ("spec.selector", "spec.template", "spec.completionMode"),
    "kubernetes:core/v1:Service": ("spec.clusterIP", "spec.clusterIPs", "spec.ipFamilies"),
    "kubernetes:core/v1:PersistentVolumeClaim": (
        "spec.storageClassName",
        "spec.accessModes",
        "spec.volumeName",
    ),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("provisioner", "parameters", "reclaimPolicy"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
}


class DiffInputError(ConfigError):
    """A side of the diff cannot be read or produced (exit 2)."""


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any  # MISSING when the field is new
    new: Any  # MISSING when the field is gone
    replaces: bool = False


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    type: str
    name: str
    group: str  # the parent component, e.g. "mlplatform:gcp:NodePool main-gpu-t4"
    fields: tuple[FieldChange, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class PlanDiff:
    stack: str
    base: str  # what the base side is (a ref or a file)
    head: str
    changes: tuple[ResourceChange, ...]
    unchanged: int
    base_cost: CostEnvelope | None = None
    head_cost: CostEnvelope | None = None
    cost_note: str = ""
    # Changes to the stack's exported outputs (`pulumi stack output`), by output name.
    outputs: tuple[FieldChange, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)

    def groups(self) -> dict[str, list[ResourceChange]]:
        grouped: dict[str, list[ResourceChange]] = {}
        for change in self.changes:
            grouped.setdefault(change.group, []).append(change)
        return grouped


# --------------------------------------------------------------------------------------------
# Comparing


def field_changes(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every leaf that differs, as (dotted path, old, new); lists compare index by index."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from field_changes(old.get(key, MISSING), new.get(key, MISSING), _join(path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else MISSING
            after = new[index] if index < len(new) else MISSING
            yield from field_changes(before, after, _join(path, str(index)))
    elif old != new or type(old) is not type(new):
        yield path, old, new


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def replace_on_changes(resource: ResourceRecord) -> tuple[str, ...]:
    """The resource's replaceOnChanges option as patterns of this table: Pulumi writes property
    paths as `a[0].b` or `a[*]`, the diff as `a.0.b` and `a.*`."""
    return tuple(
        re.sub(r"\[(\d+|\*)\]", r".\1", path) for path in resource.options.get("replaceOnChanges", ())
    )


def forces_replacement(type_token: str, path: str, extra_patterns: tuple[str, ...] = ()) -> bool:
    patterns = REPLACE_FIELDS.get(type_token, ()) + extra_patterns
    if type_token.startswith("kubernetes:"):
        patterns = patterns + REPLACE_FIELDS["kubernetes:*"]
    segments = path.split(".")
    for pattern in patterns:
        wanted = pattern.split(".")
        if len(wanted) <= len(segments) and all(
            w in ("*", s) for w, s in zip(wanted, segments, strict=False)
        ):
            return True
    return False


def _fields(before: ResourceRecord, after: ResourceRecord) -> tuple[FieldChange, ...]:
    # The new program's options decide, as Pulumi's engine uses the new goal state's.
    patterns = replace_on_changes(after)
    return tuple(
        FieldChange(path, old, new, forces_replacement(after.type, path, patterns))
        for path, old, new in field_changes(before.inputs, after.inputs)
    )


def _provider_key(resource: ResourceRecord) -> str | None:
    return resource_key(resource.provider) if resource.provider else None


def _group(record: PlanRecord, resource: ResourceRecord) -> str:
    parent = record.by_urn().get(resource.parent or "")
    if parent is None or parent.type == STACK_TYPE:
        return "stack"
    return f"{parent.type} {parent.name}"


def resource_key(urn: str) -> str:
    """A URN without its stack and project (`urn:pulumi:dev::mlplatform::`): the identity of a
    resource within a stack, so that two stack files of one program can be compared too."""
    return urn.split("::", 2)[-1]


def diff_records(base: PlanRecord, head: PlanRecord, base_label: str = "", head_label: str = "") -> PlanDiff:
    old = {resource_key(r.urn): r for r in base.resources}
    new = {resource_key(r.urn): r for r in head.resources}
    changes: list[ResourceChange] = []
    unchanged = 0

    # A resource whose parent changed gets a new URN: without an alias Pulumi deletes and
    # recreates it. Pair such moves up (same type and name) rather than show two unrelated rows.
    gone = {(r.type, r.name): key for key, r in old.items() if key not in new}
    moved: set[str] = set()
    for key, resource in sorted(new.items()):
        if resource.type == STACK_TYPE:
            continue
        before = old.get(key)
        if before is None and (resource.type, resource.name) in gone:
            moved.add(gone[(resource.type, resource.name)])
            before = old[gone[(resource.type, resource.name)]]
            note = (
                f"parent changed ({_group(base, before)} → {_group(head, resource)}): add an alias "
                "for the old parent, or Pulumi deletes and recreates it"
            )
            fields = _fields(before, resource)
            changes.append(
                ResourceChange("replace", resource.type, resource.name, _group(head, resource), fields, note)
            )
            continue
        if before is None:
            changes.append(ResourceChange("create", resource.type, resource.name, _group(head, resource)))
            continue
        fields = _fields(before, resource)
        if _provider_key(before) != _provider_key(resource):
            fields += (FieldChange("(provider)", before.provider, resource.provider, True),)
        if not fields:
            unchanged += 1
            continue
        action: Action = "replace" if any(f.replaces for f in fields) else "update"
        changes.append(ResourceChange(action, resource.type, resource.name, _group(head, resource), fields))
    for key, resource in sorted(old.items()):
        if key not in new and key not in moved and resource.type != STACK_TYPE:
            changes.append(ResourceChange("delete", resource.type, resource.name, _group(base, resource)))

    base_cost, head_cost = estimate_record(base), estimate_record(head)
    unpriced = head_cost.unpriced
    cost_note = f"{len(unpriced)} item(s) unpriced, left out (first: {unpriced[0]})" if unpriced else ""
    order = {"delete": 0, "replace": 1, "update": 2, "create": 3}
    changes.sort(key=lambda c: (c.group, order[c.action], c.type, c.name))
    outputs = tuple(
        FieldChange(name, before, after)
        for name in sorted(set(base.outputs) | set(head.outputs))
        if (before := base.outputs.get(name, MISSING)) != (after := head.outputs.get(name, MISSING))
    )
    return PlanDiff(
        stack=head.stack if head.stack == base.stack else f"{base.stack} → {head.stack}",
        base=base_label or base.source,
        head=head_label or head.source,
        changes=tuple(changes),
        unchanged=unchanged,
        base_cost=base_cost,
        head_cost=head_cost,
        cost_note=cost_note,
        outputs=outputs,
    )


# --------------------------------------------------------------------------------------------
# Rendering

MAX_VALUE = 80
OPEN_GROUP_LINES = 12  # groups longer than this are collapsed, unless they replace or delete


def show(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = value if isinstance(value, str) and value.strip() == value and value else json.dumps(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def summary(diff: PlanDiff) -> str:
    counts = [
        f"{diff.count('create')} to create",
        f"{diff.count('update')} to update",
        f"{diff.count('replace')} to replace",
        f"{diff.count('delete')} to delete",
    ]
    return ", ".join(counts) + f"; {diff.unchanged} unchanged"


def cost_change(diff: PlanDiff) -> str:
    if diff.base_cost is None or diff.head_cost is None:
        return ""

    def delta(old: float, new: float) -> str:
        change = new - old
        sign = "+" if change >= 0 else "-"
        return f"{usd(old)} → {usd(new)} ({sign}{usd(abs(change))})" if abs(change) >= 0.005 else usd(new)

    return (
        f"Monthly cost: floor {delta(diff.base_cost.floor_usd, diff.head_cost.floor_usd)}, "
        f"ceiling {delta(diff.base_cost.ceiling_usd, diff.head_cost.ceiling_usd)}"
        + (f"; {diff.cost_note}" if diff.cost_note else "")
    )


def _output_symbol(item: FieldChange) -> str:
    return "+" if item.old is MISSING else "-" if item.new is MISSING else "~"


def _no_changes(diff: PlanDiff) -> str:
    return "No resource changes" if diff.outputs else "No changes"


def render_text(diff: PlanDiff) -> str:
    lines = [f"Plan diff of {diff.stack}: {diff.base} → {diff.head}"]
    if not diff.changes:
        lines.append(f"{_no_changes(diff)}: {diff.unchanged} resources unchanged.")
    else:
        lines.append(summary(diff))
    cost = cost_change(diff)
    if cost:
        lines.append(cost)
    if diff.outputs:
        lines += ["", "Stack outputs"]
        lines += [
            f"  {_output_symbol(item):<2} {item.path}: {show(item.old)} → {show(item.new)}"
            for item in diff.outputs
        ]
    for group, changes in diff.groups().items():
        lines.append("")
        lines.append(group)
        for change in changes:
            lines.append(f"  {SYMBOL[change.action]:<2} {change.type}  {change.name}  ({change.action})")
            if change.note:
                lines.append(f"       note: {change.note}")
            for item in change.fields:
                flag = "   [forces replacement]" if item.replaces else ""
                lines.append(f"       {item.path}: {show(item.old)} → {show(item.new)}{flag}")
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render_markdown(diff: PlanDiff) -> str:
    lines = [f"#### Plan diff: {_code(diff.stack)} ({_code(diff.base)} → {_code(diff.head)})", ""]
    if not diff.changes:
        lines.append(f"**{_no_changes(diff)}**: {diff.unchanged} resources unchanged.")
    else:
        replace = diff.count("replace")
        lines.append(f"**{summary(diff)}**" + (f" — ⚠️ {replace} replacement(s)" if replace else ""))
    cost = cost_change(diff)
    if cost:
        lines += ["", cost]
    if diff.outputs:
        lines += ["", "Stack outputs:", ""]
        lines += [
            f"- {_code(item.path)}: {_code(show(item.old))} → {_code(show(item.new))}"
            for item in diff.outputs
        ]
    for group, changes in diff.groups().items():
        body: list[str] = []
        for change in changes:
            flag = " ⚠️" if change.action in ("replace", "delete") else ""
            action = f"**{SYMBOL[change.action]} {change.action}**{flag}"
            body.append(f"- {action} {_code(change.type)} {_code(change.name)}")
            if change.note:
                body.append(f"  - _{change.note}_")
            for item in change.fields:
                mark = " — **forces replacement**" if item.replaces else ""
                body.append(
                    f"  - {_code(item.path)}: {_code(show(item.old))} → {_code(show(item.new))}{mark}"
                )
        actions = ", ".join(
            f"{sum(1 for c in changes if c.action == a)} to {a}" for a in SYMBOL if _has(changes, a)
        )
        keep_open = len(body) <= OPEN_GROUP_LINES or any(c.action in ("replace", "delete") for c in changes)
        lines += [
            "",
            # Markdown is not rendered inside <summary>: HTML there.
            f"<details{' open' if keep_open else ''}><summary><code>{html.escape(group)}</code>: "
            f"{actions}</summary>",
            "",
            *body,
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def _has(changes: list[ResourceChange], action: str) -> bool:
    return any(change.action == action for change in changes)


def render_diff(diff: PlanDiff, fmt: str) -> str:
    return render_markdown(diff) if fmt == "markdown" else render_text(diff)


# --------------------------------------------------------------------------------------------
# The two sides: record files, git refs, the working tree


@dataclass(frozen=True)
class StackArgs:
    stack: str | None = None
    config: str | None = None

    def stack_file(self, root: Path, repo: Path = PROJECT_DIR) -> Path:
        """The stack file inside `root`, the checkout of `repo` (or a worktree of it) to run."""
        if self.stack:
            return root / f"Pulumi.{self.stack}.yaml"
        if not self.config:
            raise DiffInputError(
                "name the stack (--stack dev or --config FILE) to run the program "
                "of a git ref or of the working tree"
            )
        path = Path(self.config).resolve()
        try:
            return root / path.relative_to(repo.resolve())
        except ValueError:
            return path  # outside the repository: the same file on both sides


@dataclass(frozen=True)
class SideSpec:
    """`--base`/`--head`: a plan record file, a git ref, or (None) the working tree."""

    value: str | None
    repo: Path = PROJECT_DIR
    timeout: float = 600

    def load(self, stack: StackArgs) -> tuple[PlanRecord, str]:
        if self.value is None:
            return run_program(stack.stack_file(PROJECT_DIR)), "working tree"
        path = Path(self.value)
        if path.is_file():
            try:
                return PlanRecord.read(path), path.name
            except (ValueError, KeyError, TypeError) as exc:
                raise DiffInputError(f"{self.value}: not a plan record ({exc})") from None
        return record_at_ref(self.value, stack, self.repo, self.timeout), self.value


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)


def record_at_ref(ref: str, stack: StackArgs, repo: Path = PROJECT_DIR, timeout: float = 600) -> PlanRecord:
    """Run the program of `ref` on its own copy of the stack file, in a temporary worktree."""
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").stdout.strip()
    if not commit:
        raise DiffInputError(f"{ref!r} is neither a plan record file nor a git ref of {repo}")
    with tempfile.TemporaryDirectory(prefix="plan-diff-") as scratch:
        tree = Path(scratch) / "tree"
        added = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        if added.returncode != 0:
            raise DiffInputError(f"cannot check out {ref} in a temporary worktree: {added.stderr.strip()}")
        try:
            return _run_in_tree(ref, repo, tree, stack, Path(scratch) / "record.json", timeout)
        finally:
            if _git(repo, "worktree", "remove", "--force", str(tree)).returncode != 0:
                _git(repo, "worktree", "prune")


def _run_in_tree(ref: str, repo: Path, tree: Path, stack: StackArgs, out: Path, timeout: float) -> PlanRecord:
    if not (tree / "plan" / "__main__.py").is_file():
        raise DiffInputError(
            f"{ref} predates the offline plan engine (no plan/ there): diff against a record file "
            "written by `python -m plan preview --json FILE` instead"
        )
    stack_file = stack.stack_file(tree, repo)
    if not stack_file.is_file():
        # A stack added by this change: everything in it is new.
        return PlanRecord(
            project="mlplatform", stack=stack_file.stem, source=f"(no {stack_file.name} at {ref})"
        )
    command = [sys.executable, "-m", "plan", "preview", "--config", str(stack_file), "--json", str(out)]
    try:
        run = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DiffInputError(f"the program at {ref} did not finish within {timeout:.0f} s") from None
    # The record is written as soon as the program ran; a later failure of the preview's own
    # sections (e.g. a price missing at that ref) does not make it wrong.
    if out.is_file():
        return PlanRecord.read(out)
    problem = (run.stderr.strip().splitlines() or ["no error output"])[-1]
    raise DiffInputError(f"the program at {ref} failed on {stack_file.name}: {problem}")


def diff_sides(base: SideSpec, head: SideSpec, stack: StackArgs) -> PlanDiff:
    base_record, base_label = base.load(stack)
    head_record, head_label = head.load(stack)
    return diff_records(base_record, head_record, base_label, head_label)
