"""The rules on what the components really declare: one field of a shipped stack's plan made
wrong must give exactly that rule's violation on that resource (so a rule cannot pass a stack
merely because it reads a field the component spells differently)."""

from __future__ import annotations

import copy

import pytest

from plan.engine import PROJECT_DIR
from plan.policy import evaluate, pack_config_for, stack_config_of
from plan.record import PlanRecord
from policies.rules import RULES_BY_ID
from tests.policies.support import DELETE, patched

SNAPSHOTS = PROJECT_DIR / "tests" / "snapshots"

# (snapshot, resource type, resource name or "" for the first, changes, rule)
BREAKAGES = [
    ("aws-eks", "aws:eks/cluster:Cluster", "", {"encryptionConfig": DELETE}, "eks-secrets-encryption"),
    (
        "aws-eks",
        "aws:eks/cluster:Cluster",
        "",
        {"vpcConfig.endpointPrivateAccess": False},
        "eks-restricted-endpoint",
    ),
    ("aws-eks", "aws:eks/cluster:Cluster", "", {"enabledClusterLogTypes": []}, "eks-control-plane-logs"),
    (
        "aws-eks",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "main-gpu-a10g",
        {"metadataOptions.httpTokens": "optional"},
        "eks-imdsv2",
    ),
    ("aws-eks", "aws:eks/nodeGroup:NodeGroup", "main-gpu-a10g", {"launchTemplate": DELETE}, "eks-imdsv2"),
    (
        "aws-eks",
        "aws:eks/nodeGroup:NodeGroup",
        "main-gpu-a10g",
        {"scalingConfig.minSize": 1},
        "cost-accelerator-scale-to-zero",
    ),
    (
        "aws-eks",
        "aws:eks/nodeGroup:NodeGroup",
        "main-system",
        {"scalingConfig.maxSize": 2},
        "cost-pool-autoscaled",
    ),
    (
        "aws-eks",
        "aws:autoscaling/tag:Tag",
        "main-gpu-a10g-asg-node-template-taint-nvidia.com-gpu",
        {"tag.value": "true:NoExecute"},
        "eks-autoscaler-discovery",
    ),
    (
        "aws-eks",
        "aws:ecr/repository:Repository",
        "",
        {"imageTagMutability": "MUTABLE", "imageScanningConfiguration": DELETE},
        "registry-immutable-or-scanned",
    ),
    ("aws-eks", "aws:s3/bucket:Bucket", "main-artifacts", {"acl": "public-read"}, "bucket-private"),
    (
        "aws-eks",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "main-artifacts",
        {"bucket": "elsewhere"},
        "bucket-public-access-block",
    ),
    (
        "aws-eks",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "main-artifacts",
        {"ignorePublicAcls": False},
        "bucket-private",
    ),
    (
        "aws-eks",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "main-artifacts",
        {"bucket": "elsewhere"},
        "bucket-encrypted",
    ),
    (
        "aws-eks",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "main-artifacts",
        {"rule.objectOwnership": "ObjectWriter"},
        "bucket-uniform-access",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"privateClusterConfig.enablePrivateNodes": False},
        "gke-private-nodes",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"workloadIdentityConfig": DELETE},
        "gke-workload-identity",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"enableShieldedNodes": False},
        "gke-shielded-nodes",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled": True},
        "gke-restricted-endpoint",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"datapathProvider": DELETE},
        "gke-network-policy-enforcement",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"deletionProtection": False},
        "deletion-protection",
    ),
    # Node VM labels get no provider defaults (the cluster's would: they are in defaultLabels).
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-system",
        {"nodeConfig.resourceLabels": {}},
        "labels-ownership",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-system",
        {"nodeConfig.serviceAccount": DELETE},
        "gke-node-service-account",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-system",
        {"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"},
        "gke-workload-identity",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-system",
        {"management.autoRepair": False},
        "gke-node-auto-repair-upgrade",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-system",
        {"autoscaling": DELETE, "nodeCount": 3},
        "cost-pool-autoscaled",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-gpu-l4",
        {"autoscaling.totalMaxNodeCount": 100},
        "cost-pool-max-nodes",
    ),
    (
        "Pulumi.prod",
        "gcp:container/nodePool:NodePool",
        "main-gpu-l4",
        {
            "nodeConfig.spot": True,
            "nodeConfig.machineType": "n2-standard-8",
            "nodeConfig.guestAccelerators": [],
        },
        "cost-spot-allowed",
    ),
    (
        "Pulumi.dev",
        "gcp:container/nodePool:NodePool",
        "main-gpu-t4",
        {"autoscaling.totalMinNodeCount": 1},
        "cost-accelerator-scale-to-zero",
    ),
    (
        "Pulumi.prod",
        "gcp:storage/bucket:Bucket",
        "",
        {"publicAccessPrevention": "inherited"},
        "bucket-private",
    ),
    (
        "Pulumi.prod",
        "gcp:storage/bucket:Bucket",
        "",
        {"uniformBucketLevelAccess": False},
        "bucket-uniform-access",
    ),
    (
        "Pulumi.prod",
        "gcp:artifactregistry/repository:Repository",
        "",
        {"dockerConfig.immutableTags": False},
        "registry-immutable-or-scanned",
    ),
    (
        "Pulumi.prod",
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        "",
        {"member": "allUsers"},
        "gcp-no-public-iam",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.image": "models/m:latest"},
        "k8s-image-pinned",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.resources.limits": {}},
        "k8s-resources",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.startupProbe": DELETE},
        "k8s-probes",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.securityContext.runAsUser": 0},
        "k8s-run-as-non-root",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem": False},
        "k8s-read-only-root-filesystem",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation": True},
        "k8s-no-privilege-escalation",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.securityContext.capabilities": DELETE},
        "k8s-drop-capabilities",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.securityContext.seccompProfile": {"type": "Unconfined"}},
        "k8s-seccomp",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.hostNetwork": True},
        "k8s-no-host-namespaces",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-llm-deployment",
        {"spec.template.spec.tolerations": []},
        "k8s-accelerator-scheduling",
    ),
    (
        "Pulumi.prod",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "",
        {"spec.minReplicas": 1},
        "k8s-ha-replicas",
    ),
    (
        "Pulumi.prod",
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "",
        {"spec.metrics": []},
        "k8s-hpa-bounds",
    ),
    (
        "Pulumi.prod",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "",
        {"spec.selector.matchLabels": {"app": "nothing"}},
        "k8s-pod-disruption-budget",
    ),
    (
        "Pulumi.prod",
        "kubernetes:batch/v1:CronJob",
        "",
        {"spec.concurrencyPolicy": DELETE},
        "k8s-cronjob-limits",
    ),
    ("Pulumi.prod", "kubernetes:batch/v1:Job", "", {"spec.activeDeadlineSeconds": DELETE}, "k8s-job-limits"),
    (
        "Pulumi.prod",
        "kubernetes:core/v1:ServiceAccount",
        "main-model1-sa",
        {"automountServiceAccountToken": True},
        "k8s-service-account-token",
    ),
    (
        "Pulumi.prod",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "main-ml-default-deny",
        {"spec.policyTypes": ["Ingress"]},
        "k8s-default-deny-network-policy",
    ),
    (
        "existing-cluster",
        "kubernetes:apps/v1:Deployment",
        "dgx-chat-deployment",
        {"spec.template.spec.nodeSelector": {}},
        "k8s-accelerator-scheduling",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"disableLocalAccounts": False},
        "aks-local-accounts-disabled",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"aadProfile.enableAzureRBAC": False},
        "aks-entra-rbac",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"apiServerAccessProfile.authorizedIPRanges": []},
        "aks-restricted-api",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"oidcIssuerProfile": DELETE},
        "aks-workload-identity",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"agentPoolProfiles.0.enableAutoScaling": False},
        "cost-pool-autoscaled",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:AgentPool",
        "",
        {"minCount": 1, "vmSize": "Standard_NC4as_T4_v3"},
        "cost-accelerator-scale-to-zero",
    ),
    ("Pulumi.prod", "gcp:container/cluster:Cluster", "", {"enableLegacyAbac": True}, "gke-legacy-abac-off"),
    ("Pulumi.prod", "gcp:container/cluster:Cluster", "", {"releaseChannel": DELETE}, "gke-release-channel"),
    ("Pulumi.dev", "gcp:compute/subnetwork:Subnetwork", "", {"logConfig": DELETE}, "gcp-subnet-flow-logs"),
    ("aws-eks", "aws:kms/key:Key", "main-secrets", {"enableKeyRotation": False}, "aws-kms-key-rotation"),
    (
        "aws-eks",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "",
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
        "aws-default-security-group-closed",
    ),
    (
        "aws-eks",
        "aws:iam/rolePolicy:RolePolicy",
        "main-sentiment-aws-access",
        {"policy": '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'},
        "aws-iam-no-wildcard-admin",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"networkProfile.networkPolicy": DELETE},
        "aks-network-policy",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"autoUpgradeProfile.upgradeChannel": "none"},
        "aks-upgrade-channel",
    ),
    (
        "azure-aks",
        "azure-native:storage:StorageAccount",
        "",
        {"networkRuleSet.defaultAction": "Allow"},
        "storage-account-firewall",
    ),
    (
        "azure-aks",
        "azure-native:containerregistry:Registry",
        "",
        {"adminUserEnabled": True},
        "registry-no-admin-user",
    ),
    (
        "azure-aks",
        "azure-native:containerregistry:Registry",
        "",
        {"anonymousPullEnabled": True},
        "registry-not-public",
    ),
    (
        "azure-aks",
        "azure-native:storage:StorageAccount",
        "",
        {"allowBlobPublicAccess": True},
        "bucket-private",
    ),
    (
        "azure-aks",
        "azure-native:storage:StorageAccount",
        "",
        {"minimumTlsVersion": "TLS1_0"},
        "bucket-encrypted",
    ),
    (
        "azure-aks",
        "azure-native:storage:StorageAccount",
        "aks-storage",
        {"allowSharedKeyAccess": True},
        "bucket-uniform-access",
    ),
    ("azure-aks", "azure-native:storage:BlobContainer", "", {"publicAccess": "Blob"}, "bucket-private"),
    (
        "azure-aks",
        "azure-native:containerregistry:Registry",
        "",
        {"publicNetworkAccess": "Enabled", "networkRuleSet.defaultAction": "Allow"},
        "acr-network-restricted",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:AgentPool",
        "aks-gpu-t4",
        {"enableEncryptionAtHost": False},
        "aks-encryption-at-host",
    ),
    (
        "azure-aks",
        "azure-native:containerservice:ManagedCluster",
        "",
        {"agentPoolProfiles.0.enableEncryptionAtHost": DELETE},
        "aks-encryption-at-host",
    ),
    (
        "azure-aks",
        "azure-native:monitor:DiagnosticSetting",
        "",
        {"logs": [{"category": "kube-apiserver", "enabled": True}]},
        "aks-control-plane-logs",
    ),
    (
        "azure-aks",
        "azure-native:operationalinsights:Workspace",
        "",
        {"retentionInDays": 30},
        "control-plane-log-retention",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"enableIntranodeVisibility": False},
        "gke-intranode-visibility",
    ),
    ("aws-eks", "aws:ec2/flowLog:FlowLog", "", {"vpcId": "vpc-elsewhere"}, "aws-vpc-flow-logs"),
    (
        "azure-aks",
        "azure-native:network:FlowLog",
        "",
        {
            "targetResourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/"
            "virtualNetworks/z"
        },
        "azure-vnet-flow-logs",
    ),
    ("azure-aks", "azure-native:network:FlowLog", "", {"enabled": False}, "azure-vnet-flow-logs"),
    (
        "azure-aks",
        "azure-native:network:FlowLog",
        "",
        {"retentionPolicy.enabled": False},
        "azure-vnet-flow-logs",
    ),
    # The flow log's own account may keep shared keys; pointed elsewhere, the account is a bucket again.
    (
        "azure-aks",
        "azure-native:network:FlowLog",
        "",
        {"storageId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z"},
        "bucket-uniform-access",
    ),
    ("aws-eks", "aws:ec2/flowLog:FlowLog", "", {"trafficType": "REJECT"}, "aws-vpc-flow-logs"),
    ("aws-eks", "aws:kms/key:Key", "main-secrets", {"policy": DELETE}, "aws-kms-key-policy"),
    (
        "aws-eks",
        "aws:kms/key:Key",
        "main-secrets",
        {"policy": '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*"}]}'},
        "aws-kms-key-policy",
    ),
    (
        "aws-eks",
        "aws:cloudwatch/logGroup:LogGroup",
        "main-control-plane",
        {"retentionInDays": 7},
        "control-plane-log-retention",
    ),
    ("Pulumi.prod", "gcp:storage/bucket:Bucket", "", {"versioning.enabled": False}, "bucket-versioning"),
    (
        "aws-eks",
        "aws:s3/bucketVersioning:BucketVersioning",
        "main-datasets",
        {"versioningConfiguration.status": "Suspended"},
        "bucket-versioning",
    ),
    (
        "azure-aks",
        "azure-native:storage:BlobServiceProperties",
        "",
        {"isVersioningEnabled": False},
        "bucket-versioning",
    ),
    (
        "Pulumi.dev",
        "gcp:storage/bucket:Bucket",
        "",
        {"lifecycleRules": []},
        "bucket-noncurrent-versions-expire",
    ),
    (
        "aws-eks",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "main-artifacts",
        {"rules": [{"id": "abort-incomplete-uploads", "status": "Enabled"}]},
        "bucket-noncurrent-versions-expire",
    ),
    (
        "azure-aks",
        "azure-native:storage:ManagementPolicy",
        "",
        {"policy.rules": []},
        "bucket-noncurrent-versions-expire",
    ),
    (
        "Pulumi.prod",
        "kubernetes:apps/v1:Deployment",
        "main-model1-deployment",
        {"spec.template.spec.containers.0.image": "docker.io/library/sentiment:1.4.2"},
        "image-provenance",
    ),
    (
        "Pulumi.prod",
        "gcp:container/cluster:Cluster",
        "",
        {"binaryAuthorization.evaluationMode": "DISABLED"},
        "image-provenance",
    ),
    (
        "aws-eks",
        "kubernetes:batch/v1:CronJob",
        "",
        {"spec.jobTemplate.spec.template.spec.containers.0.image": "ghcr.io/someone/batch-scoring:2.3.0"},
        "image-provenance",
    ),
    (
        "azure-aks",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
        "",
        {"spec.validationActions": ["Audit"]},
        "image-provenance",
    ),
    (
        "existing-cluster",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
        "",
        {"spec.variables.0.expression": '["registry.lab.acme.example/models/"]'},
        "image-provenance",
    ),
    (
        "azure-aks",
        "azure-native:resources:ResourceGroup",
        "",
        {"tags": {"owner": "ml-platform"}},
        "labels-ownership",
    ),
]


@pytest.fixture(scope="module")
def shipped():
    """Each snapshot's record and its policy config, read once."""
    loaded = {}
    for path in SNAPSHOTS.glob("*.json"):
        record = PlanRecord.read(path)
        loaded[path.stem] = (record, pack_config_for(record.stack, stack_config_of(record)))
    return loaded


@pytest.mark.parametrize(
    ("snapshot", "type_token", "name", "changes", "rule"),
    BREAKAGES,
    ids=[f"{b[0]}:{b[4]}:{b[2] or b[1].rsplit(':', 1)[-1]}" for b in BREAKAGES],
)
def test_breaking_one_field_of_a_shipped_plan_trips_its_rule(
    shipped, snapshot, type_token, name, changes, rule
):
    record, config = shipped[snapshot]
    broken = copy.deepcopy(record)
    target = next(r for r in broken.resources if r.type == type_token and (not name or r.name == name))
    before = evaluate(broken, config, rules=[RULES_BY_ID[rule]])
    target.inputs = patched(target.inputs, changes)
    after = evaluate(broken, config, rules=[RULES_BY_ID[rule]])
    assert before.violations == []
    assert after.violations, f"{rule} did not notice {changes} on {target.type} {target.name}"
    assert not after.not_evaluated
    # A stack rule reports the workload that lost its protection, not always the changed object.
    if RULES_BY_ID[rule].scope == "resource":
        assert {v.resource_name for v in after.violations} == {target.name}
