"""`plan policy --scanner checkov`: the plan record in the formats checkov's own cloud checks
read, so a stack can be held to an independent suite as well as to the policy pack.

- AWS and Google Cloud resources become a Terraform plan (`terraform show -json` layout,
  checkov `--framework terraform_plan`): pulumi-aws and pulumi-gcp are bridged from the Terraform
  providers, so a resource's inputs are its Terraform arguments in camelCase. Nested blocks become
  lists of one object, as Terraform writes them; a property holding another resource's id becomes
  a reference in `configuration`, which is how checkov connects a bucket to its public access
  block or a VPC to its flow log.
- Azure resources become an ARM template (`--framework arm`): azure-native inputs are the ARM
  resource's properties, flattened.

Only the types below are converted (what the platform declares that checkov has checks for);
the others are left out of the scan and counted.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan.engine import PROJECT_DIR, ConfigError
from plan.record import PlanRecord, ResourceRecord

CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"

# Pulumi type token -> Terraform resource type (the bridged providers' own mapping).
TERRAFORM_TYPES = {
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (
        "aws_s3_bucket_lifecycle_configuration"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:artifactregistry/repository:Repository": "google_artifact_registry_repository",
    "gcp:binaryauthorization/policy:Policy": "google_binary_authorization_policy",
}
TERRAFORM_PROVIDERS = {
    "aws": "registry.terraform.io/hashicorp/aws",
    "gcp": "registry.terraform.io/hashicorp/google",
}
# Arguments that are maps of strings in Terraform, not nested blocks.
MAP_ARGUMENTS = {"tags", "labels", "resourceLabels", "defaultLabels", "metadata"}

# azure-native type token -> ARM resource type.
ARM_TYPES = {
    "azure-native:containerservice:ManagedCluster": "Microsoft.ContainerService/managedClusters",
    "azure-native:containerservice:AgentPool": "Microsoft.ContainerService/managedClusters/agentPools",
    "azure-native:containerregistry:Registry": "Microsoft.ContainerRegistry/registries",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:storage:BlobContainer": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:monitor:DiagnosticSetting": "Microsoft.Insights/diagnosticSettings",
    # CKV_AZURE_12 (flow log retention of 90 days or more) reads any flow log, a VNet's too.
    "azure-native:network:FlowLog": "Microsoft.Network/networkWatchers/flowLogs",
}
# ARM keeps these beside `properties`; azure-native's path parameters (…Name) are not properties.
ARM_TOP_LEVEL = {"location", "tags", "sku", "identity", "kind", "zones"}
ARM_NAME_PARAMETERS = (
    *("accountName", "registryName", "resourceName", "workspaceName", "containerName", "agentPoolName"),
    *("virtualNetworkName", "name"),
)
# Where azure-native names a property differently from ARM (its schema renames them), recursively.
ARM_NAMES = {
    "azure-native:storage:StorageAccount": {
        "networkRuleSet": "networkAcls",
        "enableHttpsTrafficOnly": "supportsHttpsTrafficOnly",
        "iPAddressOrRange": "value",
        "virtualNetworkResourceId": "id",
    },
    "azure-native:containerregistry:Registry": {"iPAddressOrRange": "value"},
}


def _arm_names(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {names.get(k, k): _arm_names(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_arm_names(item, names) for item in value]
    return value


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _terraform_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        if key in MAP_ARGUMENTS:
            return value
        return [{_snake(k): _terraform_value(k, v) for k, v in value.items()}]
    if isinstance(value, list):
        return [
            {_snake(k): _terraform_value(k, v) for k, v in item.items()} if isinstance(item, dict) else item
            for item in value
        ]
    return value


def _address(resource: ResourceRecord, kind: str) -> str:
    return f"{kind}.{re.sub(r'[^A-Za-z0-9_-]', '_', resource.name)}"


def terraform_plan(record: PlanRecord) -> tuple[dict[str, Any], int]:
    """The record's AWS and Google Cloud resources as a Terraform plan, and how many were left out."""
    converted = [(r, TERRAFORM_TYPES[r.type]) for r in record.resources if r.type in TERRAFORM_TYPES]
    skipped = sum(1 for r in record.resources if r.custom and r.type.startswith(("aws:", "gcp:"))) - len(
        converted
    )
    # An id names the first resource that has it: an S3 bucket's companions (versioning, public
    # access block...) report the bucket's name as their id too.
    addresses: dict[str, str] = {}
    for resource, kind in converted:
        if resource.id:
            addresses.setdefault(resource.id, _address(resource, kind))
    planned, configured = [], []
    for resource, kind in converted:
        address = _address(resource, kind)
        values = {_snake(k): _terraform_value(k, v) for k, v in resource.inputs.items()}
        provider = TERRAFORM_PROVIDERS[resource.type.split(":", 1)[0]]
        common = {"address": address, "mode": "managed", "type": kind, "name": address.split(".", 1)[1]}
        planned.append({**common, "provider_name": provider, "values": values})
        expressions = {
            _snake(key): {"references": [f"{addresses[value]}.id", addresses[value]]}
            for key, value in resource.inputs.items()
            if isinstance(value, str) and value in addresses and addresses[value] != address
        }
        configured.append(
            {**common, "provider_config_key": provider.rsplit("/", 1)[-1], "expressions": expressions}
        )
    plan = {
        "format_version": "1.2",
        # checkov reads a file as a Terraform plan only when it names a Terraform version.
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [
            {
                **{k: p[k] for k in ("address", "mode", "type", "name", "provider_name")},
                "change": {"actions": ["create"], "before": None, "after": p["values"]},
            }
            for p in planned
        ],
        "configuration": {"root_module": {"resources": configured}},
    }
    return plan, skipped


def arm_template(record: PlanRecord) -> tuple[dict[str, Any], int]:
    """The record's Azure resources as an ARM template, and how many were left out."""
    resources = []
    for resource in record.resources:
        kind = ARM_TYPES.get(resource.type)
        if kind is None:
            continue
        top = {k: v for k, v in resource.inputs.items() if k in ARM_TOP_LEVEL}
        properties = _arm_names(
            {
                k: v
                for k, v in resource.inputs.items()
                if k not in ARM_TOP_LEVEL and not (k.endswith("Name") and isinstance(v, str))
            },
            ARM_NAMES.get(resource.type, {}),
        )
        # The physical name (checkov checks naming rules), from the path parameter that carries it.
        name = next(
            (resource.inputs[k] for k in ARM_NAME_PARAMETERS if isinstance(resource.inputs.get(k), str)),
            resource.name,
        )
        resources.append(
            {"type": kind, "apiVersion": "2024-01-01", "name": name, **top, "properties": properties}
        )
    azure = sum(1 for r in record.resources if r.custom and r.type.startswith("azure-native:"))
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": resources,
    }
    return template, azure - len(resources)


@dataclass(frozen=True)
class ScanResult:
    passed: int
    failed: list[dict[str, str]]
    skipped_resources: int

    def render(self) -> str:
        lines = [
            f"checkov: {self.passed} passed, {len(self.failed)} failed "
            f"({self.skipped_resources} resource(s) of types without a conversion left out)"
        ]
        lines += [f"  FAILED {c['check_id']}  {c['resource']}: {c['check_name']}" for c in self.failed]
        return "\n".join(lines)


def scan(record: PlanRecord, workdir: Path, checkov: Path = CHECKOV) -> ScanResult:
    """Write the converted record to `workdir` and run checkov's cloud checks on it."""
    if not checkov.exists():
        raise ConfigError(
            f"checkov is not installed at {checkov}: run `make test` once (it bootstraps .venv-checkov)"
        )
    plan, skipped_plan = terraform_plan(record)
    template, skipped_arm = arm_template(record)
    runs = []
    if plan["planned_values"]["root_module"]["resources"]:
        (workdir / "plan.tfplan.json").write_text(json.dumps(plan, indent=1))
        runs.append(("terraform_plan", workdir / "plan.tfplan.json"))
    if template["resources"]:
        (workdir / "azure.json").write_text(json.dumps(template, indent=1))
        runs.append(("arm", workdir / "azure.json"))
    passed, failed = 0, []
    for framework, path in runs:
        completed = subprocess.run(
            [str(checkov), "-f", str(path), "--framework", framework, "--skip-download", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            reports = json.loads(completed.stdout or "[]")
        except ValueError:
            raise ConfigError(
                f"checkov gave no JSON report for {path.name}: {completed.stderr.strip()[:300]}"
            ) from None
        for report in reports if isinstance(reports, list) else [reports]:
            results = report.get("results") or {}
            passed += int((report.get("summary") or {}).get("passed") or 0)
            failed += [
                {"check_id": c["check_id"], "resource": c["resource"], "check_name": c["check_name"]}
                for c in results.get("failed_checks") or []
            ]
    return ScanResult(
        passed, sorted(failed, key=lambda c: (c["resource"], c["check_id"])), skipped_plan + skipped_arm
    )
