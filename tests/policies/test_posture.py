"""Cloud posture rules (GKE, EKS, AKS, registries, buckets, deletion protection): a compliant
and a violating resource (or stack) for every rule and every resource type it covers."""

from __future__ import annotations

import json

import pytest

from tests.policies.support import DELETE, bad, ok, patched, resource, urn

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AKS = "azure-native:containerservice:ManagedCluster"
AR = "gcp:artifactregistry/repository:Repository"
ECR = "aws:ecr/repository:Repository"
ECR_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ACR = "azure-native:containerregistry:Registry"
GCS = "gcp:storage/bucket:Bucket"
S3 = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"

GKE_CLUSTER_PROPS = {
    "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False},
    "masterAuthorizedNetworksConfig": {
        "cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}],
        "gcpPublicCidrsAccessEnabled": False,
    },
    "workloadIdentityConfig": {"workloadPool": "acme-ml.svc.id.goog"},
    "enableShieldedNodes": True,
    "datapathProvider": "ADVANCED_DATAPATH",
    "deletionProtection": True,
}
GKE_POOL_PROPS = {
    "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 3},
    "management": {"autoRepair": True, "autoUpgrade": True},
    "nodeConfig": {
        "machineType": "e2-standard-4",
        "serviceAccount": "nodes@acme-ml.iam.gserviceaccount.com",
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
    },
}
EKS_PROPS = {
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:eu-west-1:1:key/k"}},
    "vpcConfig": {
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["198.51.100.0/24"],
    },
    "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    "deletionProtection": True,
}
AKS_PROPS = {
    "disableLocalAccounts": True,
    "enableRBAC": True,
    "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": ["g"]},
    "apiServerAccessProfile": {"authorizedIPRanges": ["198.51.100.0/24"]},
    "oidcIssuerProfile": {"enabled": True},
    "securityProfile": {"workloadIdentity": {"enabled": True}},
}
S3_PROPS = {"tags": {"owner": "ml"}}
BLOCK_ALL = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}
STORAGE_PROPS = {
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
}


AKS_POOL = "azure-native:containerservice:AgentPool"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
KMS = "aws:kms/key:Key"
VPC = "aws:ec2/vpc:Vpc"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
NETWORK = urn("mlplatform:aws:Network", "main-vpc")


def _policy(action, resource_arn):
    return json.dumps(
        {"Statement": [{"Sid": "s", "Effect": "Allow", "Action": action, "Resource": resource_arn}]}
    )


AKS_COMPONENT = urn("mlplatform:azure:Cluster", "aks")
AKS_LOGGED = (
    resource("mlplatform:azure:Cluster", "aks", {}),
    resource(AKS, "aks", AKS_PROPS, parent=AKS_COMPONENT),
    resource(
        "azure-native:operationalinsights:Workspace",
        "aks-logs",
        {"retentionInDays": 90},
        parent=AKS_COMPONENT,
    ),
    resource(
        "azure-native:monitor:DiagnosticSetting",
        "aks-control-plane-logs",
        {
            "logs": [
                {"category": "kube-apiserver", "enabled": True},
                {"category": "kube-audit-admin", "enabled": True},
            ]
        },
        parent=AKS_COMPONENT,
    ),
)


def res(type_token: str, props: dict, name: str = "r", **changes):
    return resource(type_token, name, patched(props, changes))


def s3_bucket(name: str = "data", **changes):
    return res(S3, S3_PROPS, name, **changes)


def s3_companion(type_token: str, props: dict, bucket) -> object:
    """A resource whose `bucket` input is the bucket's id, as the program would pass it."""
    return resource(
        type_token, f"{bucket.name}-{type_token.rsplit(':', 1)[-1]}", {**props, "bucket": bucket.id}
    )


DATA = s3_bucket()
OTHER = s3_bucket("other")
SSE_KMS = {
    "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"}}]
}
SSE_AES = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
PUBLIC_POLICY = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]}
)

NODE_POOL_COMPONENT = resource("mlplatform:aws:NodePool", "main-gpu", {})
GPU_GROUP_PROPS = {
    "clusterName": "dev-main",
    "amiType": "AL2023_x86_64_NVIDIA",
    "instanceTypes": ["g5.xlarge"],
    "labels": {"mlplatform.io/pool": "gpu"},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 0},
}
SCALE_FROM_ZERO_TAGS = {
    "k8s.io/cluster-autoscaler/enabled": "true",
    "k8s.io/cluster-autoscaler/dev-main": "owned",
    "k8s.io/cluster-autoscaler/node-template/label/mlplatform.io/pool": "gpu",
    "k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
    "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": "1",
}


def node_group(parent=NODE_POOL_COMPONENT, **changes):
    return resource(
        EKS_NODE_GROUP, "main-gpu", patched(GPU_GROUP_PROPS, changes), parent=parent.urn, id="dev-main:gpu"
    )


def asg_tags(tags: dict, parent=NODE_POOL_COMPONENT, group: str = "eks-main-gpu-asg") -> list:
    return [
        resource(
            "aws:autoscaling/tag:Tag",
            f"tag-{i}",
            {"autoscalingGroupName": group, "tag": {"key": key, "value": value, "propagateAtLaunch": False}},
            parent=parent.urn,
        )
        for i, (key, value) in enumerate(tags.items())
    ]


ELSEWHERE = resource("mlplatform:aws:NodePool", "other", {})

FLOW_LOG = "aws:ec2/flowLog:FlowLog"
AZURE_FLOW_LOG = "azure-native:network:FlowLog"
VNET = resource("azure-native:network:VirtualNetwork", "aks-vnet", {}, id="/subscriptions/s/vnet-1")
FLOW_LOG_ACCOUNT = resource(STORAGE, "aks-flow-logs", {**STORAGE_PROPS, "allowSharedKeyAccess": True})
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"
STORAGE_COMPONENT = urn("mlplatform:azure:Storage", "aks-storage")
MAIN_VPC = resource(VPC, "main-vpc", {}, id="vpc-1")


def flow_log(vpc_id: str, traffic: str = "ALL"):
    return resource(FLOW_LOG, "main-vpc-flow-logs", {"vpcId": vpc_id, "trafficType": traffic})


def vnet_flow_log(target: str = "/subscriptions/s/vnet-1", **changes):
    props = {
        "targetResourceId": target,
        "storageId": FLOW_LOG_ACCOUNT.id,
        "enabled": True,
        "retentionPolicy": {"enabled": True, "days": 90},
    }
    return res(AZURE_FLOW_LOG, props, "aks-flow-logs", **changes)


def key_policy(*statements: dict) -> dict:
    return {"enableKeyRotation": True, "policy": json.dumps({"Statement": list(statements)})}


ROOT_ADMIN = {
    "Sid": "admin",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": ["kms:CreateAlias", "kms:Put*", "kms:ScheduleKeyDeletion"],
    "Resource": "*",
}
ROLE_USE = {
    "Sid": "use",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:role/cp"},
    "Action": ["kms:Encrypt", "kms:Decrypt"],
    "Resource": "*",
}
NONCURRENT_RULE = {"status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 30}}
GCS_VERSIONED = {
    "versioning": {"enabled": True},
    "lifecycleRules": [
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}}
    ],
}
# The platform declares the blob service and lifecycle beside the account (same component).
STORAGE_PARENT = resource("mlplatform:azure:Storage", "aks-storage", {})
ACCOUNT = resource(STORAGE, "aks-storage", STORAGE_PROPS, parent=STORAGE_COMPONENT)
EXPIRE_VERSIONS = {
    "policy": {
        "rules": [
            {
                "enabled": True,
                "definition": {"actions": {"version": {"delete": {"daysAfterCreationGreaterThan": 30}}}},
            }
        ]
    }
}


CASES = [
    # GKE
    ok("gke-private-nodes", "cluster", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok("gke-private-nodes", "pool inherits", res(GKE_POOL, GKE_POOL_PROPS)),
    bad(
        "gke-private-nodes",
        "public nodes",
        "nodes get public IP addresses",
        res(GKE_CLUSTER, GKE_CLUSTER_PROPS, **{"privateClusterConfig.enablePrivateNodes": False}),
    ),
    bad(
        "gke-private-nodes",
        "pool override",
        "this pool's nodes get public IP",
        res(GKE_POOL, GKE_POOL_PROPS, **{"networkConfig": {"enablePrivateNodes": False}}),
    ),
    ok("gke-workload-identity", "cluster", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok("gke-workload-identity", "pool", res(GKE_POOL, GKE_POOL_PROPS)),
    bad(
        "gke-workload-identity",
        "no pool",
        "workloadPool is not set",
        res(GKE_CLUSTER, GKE_CLUSTER_PROPS, **{"workloadIdentityConfig": DELETE}),
    ),
    bad(
        "gke-workload-identity",
        "node metadata exposed",
        "not GKE_METADATA",
        res(GKE_POOL, GKE_POOL_PROPS, **{"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"}),
    ),
    ok("gke-shielded-nodes", "cluster", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok("gke-shielded-nodes", "pool", res(GKE_POOL, GKE_POOL_PROPS)),
    bad(
        "gke-shielded-nodes",
        "cluster off",
        "enableShieldedNodes is not true",
        res(GKE_CLUSTER, GKE_CLUSTER_PROPS, **{"enableShieldedNodes": False}),
    ),
    bad(
        "gke-shielded-nodes",
        "no secure boot",
        "enableSecureBoot is not true",
        res(GKE_POOL, GKE_POOL_PROPS, **{"nodeConfig.shieldedInstanceConfig": {}}),
    ),
    ok("gke-restricted-endpoint", "authorized networks", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok(
        "gke-restricted-endpoint",
        "private endpoint",
        res(
            GKE_CLUSTER,
            GKE_CLUSTER_PROPS,
            **{"privateClusterConfig.enablePrivateEndpoint": True, "masterAuthorizedNetworksConfig": DELETE},
        ),
    ),
    bad(
        "gke-restricted-endpoint",
        "open to the world",
        "allows 0.0.0.0/0",
        res(
            GKE_CLUSTER,
            GKE_CLUSTER_PROPS,
            **{"masterAuthorizedNetworksConfig.cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]},
        ),
    ),
    bad(
        "gke-restricted-endpoint",
        "any gcp vm",
        "gcpPublicCidrsAccessEnabled is not false",
        res(
            GKE_CLUSTER,
            GKE_CLUSTER_PROPS,
            **{"masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled": True},
        ),
    ),
    ok("gke-node-service-account", "dedicated", res(GKE_POOL, GKE_POOL_PROPS)),
    bad(
        "gke-node-service-account",
        "compute default",
        "Compute Engine default",
        res(
            GKE_POOL,
            GKE_POOL_PROPS,
            **{"nodeConfig.serviceAccount": "123-compute@developer.gserviceaccount.com"},
        ),
    ),
    ok("gke-network-policy-enforcement", "dataplane v2", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok(
        "gke-network-policy-enforcement",
        "calico",
        res(
            GKE_CLUSTER, GKE_CLUSTER_PROPS, **{"datapathProvider": DELETE, "networkPolicy": {"enabled": True}}
        ),
    ),
    bad(
        "gke-network-policy-enforcement",
        "legacy datapath",
        "not enforced",
        res(GKE_CLUSTER, GKE_CLUSTER_PROPS, **{"datapathProvider": "LEGACY_DATAPATH"}),
    ),
    ok("gke-node-auto-repair-upgrade", "managed", res(GKE_POOL, GKE_POOL_PROPS)),
    bad(
        "gke-node-auto-repair-upgrade",
        "frozen nodes",
        "management.autoUpgrade is false",
        res(GKE_POOL, GKE_POOL_PROPS, **{"management.autoUpgrade": False}),
    ),
    ok(
        "gcp-no-public-iam",
        "service account member",
        res(
            "gcp:storage/bucketIAMMember:BucketIAMMember",
            {"role": "roles/storage.objectViewer", "member": "serviceAccount:a@p.iam.gserviceaccount.com"},
        ),
    ),
    bad(
        "gcp-no-public-iam",
        "public registry",
        "grants roles/artifactregistry.reader to allUsers",
        res(
            AR.replace("repository:Repository", "repositoryIamBinding:RepositoryIamBinding"),
            {"role": "roles/artifactregistry.reader", "members": ["allUsers"]},
        ),
    ),
    # EKS
    ok("eks-secrets-encryption", "kms", res(EKS_CLUSTER, EKS_PROPS)),
    bad(
        "eks-secrets-encryption",
        "unencrypted",
        "encryptionConfig is not set",
        res(EKS_CLUSTER, EKS_PROPS, **{"encryptionConfig": DELETE}),
    ),
    bad(
        "eks-secrets-encryption",
        "no key",
        "keyArn is not set",
        res(EKS_CLUSTER, EKS_PROPS, **{"encryptionConfig.provider": {}}),
    ),
    ok("eks-restricted-endpoint", "listed cidrs", res(EKS_CLUSTER, EKS_PROPS)),
    ok(
        "eks-restricted-endpoint",
        "private only",
        res(
            EKS_CLUSTER,
            EKS_PROPS,
            **{"vpcConfig.endpointPublicAccess": False, "vpcConfig.publicAccessCidrs": DELETE},
        ),
    ),
    bad(
        "eks-restricted-endpoint",
        "public by default",
        "open to 0.0.0.0/0",
        res(EKS_CLUSTER, EKS_PROPS, **{"vpcConfig": {"endpointPrivateAccess": True}}),
    ),
    bad(
        "eks-restricted-endpoint",
        "nodes over the internet",
        "endpointPrivateAccess is not true",
        res(EKS_CLUSTER, EKS_PROPS, **{"vpcConfig.endpointPrivateAccess": False}),
    ),
    ok(
        "eks-imdsv2",
        "launch template requires tokens",
        res(LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}),
        res(EKS_NODE_GROUP, {"launchTemplate": {"id": "lt-1", "version": "1"}}),
    ),
    bad(
        "eks-imdsv2",
        "optional tokens",
        "httpTokens is optional",
        res(LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}),
    ),
    bad(
        "eks-imdsv2",
        "hop limit",
        "httpPutResponseHopLimit is 3; at most 2",
        res(LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 3}}),
    ),
    bad(
        "eks-imdsv2",
        "no launch template",
        "has no launch template",
        res(EKS_NODE_GROUP, {"instanceTypes": ["m6i.xlarge"]}),
    ),
    ok(
        "eks-autoscaler-discovery",
        "scales from zero",
        NODE_POOL_COMPONENT,
        node_group(),
        *asg_tags(SCALE_FROM_ZERO_TAGS),
    ),
    ok(
        "eks-autoscaler-discovery",
        "tags that name the group through its id",
        ELSEWHERE,
        NODE_POOL_COMPONENT,
        node_group(),
        *asg_tags(SCALE_FROM_ZERO_TAGS, parent=ELSEWHERE, group="dev-main:gpu"),
    ),
    ok(
        "eks-autoscaler-discovery",
        "never at zero needs discovery only",
        NODE_POOL_COMPONENT,
        node_group(**{"scalingConfig.minSize": 1}),
        *asg_tags({k: v for k, v in SCALE_FROM_ZERO_TAGS.items() if "node-template" not in k}),
    ),
    bad(
        "eks-autoscaler-discovery",
        "no taint template",
        "lacks k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu=true:NoSchedule",
        NODE_POOL_COMPONENT,
        node_group(),
        *asg_tags({k: v for k, v in SCALE_FROM_ZERO_TAGS.items() if "taint" not in k}),
    ),
    bad(
        "eks-autoscaler-discovery",
        "tags on another group",
        "lacks k8s.io/cluster-autoscaler/dev-main=owned",
        ELSEWHERE,
        NODE_POOL_COMPONENT,
        node_group(),
        *asg_tags(SCALE_FROM_ZERO_TAGS, parent=ELSEWHERE),
    ),
    ok("eks-control-plane-logs", "audit logs", res(EKS_CLUSTER, EKS_PROPS)),
    bad(
        "eks-control-plane-logs",
        "api only",
        "lacks audit, authenticator",
        res(EKS_CLUSTER, EKS_PROPS, **{"enabledClusterLogTypes": ["api"]}),
    ),
    # AKS
    ok("aks-local-accounts-disabled", "disabled", res(AKS, AKS_PROPS)),
    bad(
        "aks-local-accounts-disabled",
        "default",
        "static admin credential",
        res(AKS, AKS_PROPS, **{"disableLocalAccounts": DELETE}),
    ),
    ok("aks-entra-rbac", "managed entra with azure rbac", res(AKS, AKS_PROPS)),
    bad("aks-entra-rbac", "no entra", "does not use Entra ID", res(AKS, AKS_PROPS, **{"aadProfile": DELETE})),
    bad(
        "aks-entra-rbac",
        "kubernetes rbac only",
        "enableAzureRBAC is not true",
        res(AKS, AKS_PROPS, **{"aadProfile.enableAzureRBAC": False}),
    ),
    ok("aks-restricted-api", "authorized ranges", res(AKS, AKS_PROPS)),
    ok(
        "aks-restricted-api",
        "private cluster",
        res(AKS, AKS_PROPS, **{"apiServerAccessProfile": {"enablePrivateCluster": True}}),
    ),
    bad(
        "aks-restricted-api",
        "public",
        "public to any address",
        res(AKS, AKS_PROPS, **{"apiServerAccessProfile": DELETE}),
    ),
    ok(
        "aks-encryption-at-host",
        "every pool",
        res(AKS, {"agentPoolProfiles": [{"name": "system", "enableEncryptionAtHost": True}]}),
        res(AKS_POOL, {"enableEncryptionAtHost": True}, name="gpu"),
    ),
    bad(
        "aks-encryption-at-host",
        "a user pool without it",
        "agent pool gpu does not set enableEncryptionAtHost: true",
        res(AKS_POOL, {"vmSize": "Standard_NC4as_T4_v3"}, name="gpu"),
    ),
    ok("aks-control-plane-logs", "audit to a workspace kept 90 days", *AKS_LOGGED),
    bad(
        "aks-control-plane-logs",
        "no diagnostic setting",
        "sends no kube-apiserver and audit logs anywhere",
        resource(AKS, "aks", AKS_PROPS, parent=AKS_COMPONENT),
    ),
    bad(
        "control-plane-log-retention",
        "AKS retention below the minimum",
        "keeps its control-plane logs 90 days, fewer than 365",
        *AKS_LOGGED,
        config={"minRetentionDays": 365},
    ),
    ok("acr-network-restricted", "private only", res(ACR, {"publicNetworkAccess": "Disabled"})),
    ok(
        "acr-network-restricted",
        "firewall for ci",
        res(
            ACR,
            {
                "networkRuleSet": {
                    "defaultAction": "Deny",
                    "ipRules": [{"iPAddressOrRange": "203.0.113.0/24"}],
                }
            },
        ),
    ),
    bad(
        "acr-network-restricted",
        "default",
        "reachable from the whole internet",
        res(ACR, {"sku": {"name": "Premium"}}),
    ),
    bad(
        "acr-network-restricted",
        "firewall open to all",
        "admits 0.0.0.0/0",
        res(
            ACR, {"networkRuleSet": {"defaultAction": "Deny", "ipRules": [{"iPAddressOrRange": "0.0.0.0/0"}]}}
        ),
    ),
    ok("gke-legacy-abac-off", "unset", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    bad(
        "gke-legacy-abac-off",
        "on",
        "ABAC grants bypass",
        res(GKE_CLUSTER, GKE_CLUSTER_PROPS, enableLegacyAbac=True),
    ),
    ok(
        "gke-release-channel",
        "stable",
        res(GKE_CLUSTER, {**GKE_CLUSTER_PROPS, "releaseChannel": {"channel": "STABLE"}}),
    ),
    bad(
        "gke-release-channel",
        "none",
        "no release channel",
        res(GKE_CLUSTER, {**GKE_CLUSTER_PROPS, "releaseChannel": DELETE}),
    ),
    ok("gcp-subnet-flow-logs", "logged", res(SUBNET, {"logConfig": {"flowSampling": 0.5}})),
    bad(
        "gcp-subnet-flow-logs",
        "not logged",
        "flows are not logged",
        res(SUBNET, {"ipCidrRange": "10.0.0.0/20"}),
    ),
    ok("aws-kms-key-rotation", "rotating", res(KMS, {"enableKeyRotation": True})),
    bad("aws-kms-key-rotation", "static", "enableKeyRotation is not true", res(KMS, {"description": "k"})),
    ok(
        "aws-default-security-group-closed",
        "managed and empty",
        resource(VPC, "main-vpc", {}, parent=NETWORK),
        resource(DEFAULT_SG, "main-vpc-default", {"ingress": [], "egress": []}, parent=NETWORK),
    ),
    bad(
        "aws-default-security-group-closed",
        "left as AWS creates it",
        "default security group is left as AWS creates it",
        resource(VPC, "main-vpc", {}, parent=NETWORK),
    ),
    bad(
        "aws-default-security-group-closed",
        "with a rule",
        "default security group main-vpc-default has rules",
        resource(VPC, "main-vpc", {}, parent=NETWORK),
        resource(DEFAULT_SG, "main-vpc-default", {"egress": [{"protocol": "-1"}]}, parent=NETWORK),
    ),
    ok("aws-iam-no-wildcard-admin", "scoped", res(ROLE_POLICY, {"policy": _policy("s3:GetObject", "*")})),
    bad(
        "aws-iam-no-wildcard-admin",
        "admin",
        "allows every action on every resource",
        res(ROLE_POLICY, {"policy": _policy(["*"], "*")}),
    ),
    ok("aks-network-policy", "cilium", res(AKS, {"networkProfile": {"networkPolicy": "cilium"}})),
    bad(
        "aks-network-policy", "none", "not enforced", res(AKS, {"networkProfile": {"networkPlugin": "azure"}})
    ),
    ok(
        "aks-upgrade-channel",
        "patch and node image",
        res(AKS, {"autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}}),
    ),
    bad("aks-upgrade-channel", "none", "security patches wait for a person", res(AKS, {"sku": {}})),
    ok("storage-account-firewall", "deny", res(STORAGE, {"networkRuleSet": {"defaultAction": "Deny"}})),
    bad(
        "storage-account-firewall",
        "allow",
        "answer the whole internet",
        res(STORAGE, {"networkRuleSet": {"defaultAction": "Allow"}}),
    ),
    ok("aks-workload-identity", "enabled", res(AKS, AKS_PROPS)),
    bad(
        "aks-workload-identity",
        "no oidc",
        "oidcIssuerProfile.enabled is not true",
        res(AKS, AKS_PROPS, **{"oidcIssuerProfile": DELETE}),
    ),
    # Registries
    ok(
        "registry-immutable-or-scanned",
        "artifact registry",
        res(AR, {"format": "DOCKER", "dockerConfig": {"immutableTags": True}}),
    ),
    ok("registry-immutable-or-scanned", "ecr immutable", res(ECR, {"imageTagMutability": "IMMUTABLE"})),
    ok(
        "registry-immutable-or-scanned",
        "ecr scanned",
        res(ECR, {"imageScanningConfiguration": {"scanOnPush": True}}),
    ),
    bad("registry-immutable-or-scanned", "mutable tags", "re-pointed", res(AR, {"format": "DOCKER"})),
    bad("registry-immutable-or-scanned", "ecr neither", "MUTABLE and images are not scanned", res(ECR, {})),
    ok("registry-no-admin-user", "identities only", res(ACR, {"adminUserEnabled": False})),
    bad(
        "registry-no-admin-user",
        "admin user",
        "adminUserEnabled is true",
        res(ACR, {"adminUserEnabled": True}),
    ),
    ok("registry-not-public", "acr", res(ACR, {"anonymousPullEnabled": False})),
    ok(
        "registry-not-public",
        "ecr account principal",
        res(ECR_POLICY, {"policy": PUBLIC_POLICY.replace('"*"', '{"AWS": "arn:aws:iam::1:root"}')}),
    ),
    bad("registry-not-public", "anonymous acr", "anyone can pull", res(ACR, {"anonymousPullEnabled": True})),
    bad(
        "registry-not-public",
        "ecr everyone",
        'allows Principal "*"',
        res(ECR_POLICY, {"policy": PUBLIC_POLICY}),
    ),
    # Buckets
    ok("bucket-private", "gcs enforced", res(GCS, {"publicAccessPrevention": "enforced"})),
    ok("bucket-private", "s3 block", res(PAB, BLOCK_ALL)),
    ok("bucket-private", "storage account", res(STORAGE, STORAGE_PROPS)),
    ok("bucket-private", "private container", res(CONTAINER, {"publicAccess": "None"})),
    bad("bucket-private", "gcs inherited", "inherited, not enforced", res(GCS, {})),
    bad("bucket-private", "s3 public acl", "ACL is public-read", s3_bucket(acl="public-read")),
    bad(
        "bucket-private",
        "partial block",
        "leaves restrictPublicBuckets off",
        res(PAB, {**BLOCK_ALL, "restrictPublicBuckets": False}),
    ),
    bad("bucket-private", "blob public", "allowBlobPublicAccess is not false", res(STORAGE, {})),
    bad(
        "bucket-private",
        "public container",
        "anonymous Container access",
        res(CONTAINER, {"publicAccess": "Container"}),
    ),
    ok("bucket-public-access-block", "blocked", DATA, s3_companion(PAB, BLOCK_ALL, DATA)),
    bad(
        "bucket-public-access-block",
        "block for another bucket",
        "S3 bucket data has no BucketPublicAccessBlock",
        DATA,
        OTHER,
        s3_companion(PAB, BLOCK_ALL, OTHER),
    ),
    ok("bucket-encrypted", "s3 sse", DATA, s3_companion(SSE, SSE_AES, DATA)),
    ok(
        "bucket-encrypted",
        "s3 kms required",
        DATA,
        s3_companion(SSE, SSE_KMS, DATA),
        config={"requireCustomerManagedKeys": True},
    ),
    ok("bucket-encrypted", "azure tls", res(STORAGE, STORAGE_PROPS)),
    bad(
        "bucket-encrypted",
        "s3 none",
        "has no server-side encryption",
        DATA,
        s3_companion(SSE, SSE_AES, OTHER),
        OTHER,
    ),
    bad(
        "bucket-encrypted",
        "s3 without kms",
        "encrypted with AES256, not a customer-managed KMS key",
        DATA,
        s3_companion(SSE, SSE_AES, DATA),
        config={"requireCustomerManagedKeys": True},
    ),
    bad(
        "bucket-encrypted",
        "s3 aws-managed key",
        "encrypted with aws:kms, not a customer-managed KMS key",
        DATA,
        s3_companion(
            SSE, {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, DATA
        ),
        config={"requireCustomerManagedKeys": True},
    ),
    bad(
        "bucket-encrypted",
        "gcs without cmek",
        "no customer-managed key",
        res(GCS, {"publicAccessPrevention": "enforced"}, "models"),
        config={"requireCustomerManagedKeys": True},
    ),
    bad("bucket-encrypted", "old tls", "TLS1_0", res(STORAGE, STORAGE_PROPS, minimumTlsVersion="TLS1_0")),
    ok("bucket-uniform-access", "gcs", res(GCS, {"uniformBucketLevelAccess": True})),
    ok(
        "bucket-uniform-access",
        "s3 owner enforced",
        DATA,
        res(OWNERSHIP, {"rule": {"objectOwnership": "BucketOwnerEnforced"}}),
    ),
    ok("bucket-uniform-access", "entra only", res(STORAGE, STORAGE_PROPS)),
    bad("bucket-uniform-access", "gcs acls", "object ACLs can grant access", res(GCS, {})),
    bad(
        "bucket-uniform-access",
        "s3 grants",
        "uses ACLs",
        s3_bucket(grants=[{"type": "Group", "permissions": ["READ"]}]),
    ),
    bad(
        "bucket-uniform-access",
        "s3 object writer",
        "object ownership is ObjectWriter",
        res(OWNERSHIP, {"rule": {"objectOwnership": "ObjectWriter"}}),
    ),
    bad(
        "bucket-uniform-access",
        "shared keys",
        "account keys bypass",
        res(STORAGE, STORAGE_PROPS, allowSharedKeyAccess=True),
    ),
    # Flow logs write with the account keys: their own account may keep them, and only it.
    ok("bucket-uniform-access", "a flow log's account", FLOW_LOG_ACCOUNT, vnet_flow_log()),
    bad(
        "bucket-uniform-access",
        "keys beside a flow log's account",
        "account keys bypass",
        FLOW_LOG_ACCOUNT,
        vnet_flow_log(),
        res(STORAGE, STORAGE_PROPS, "models", allowSharedKeyAccess=True),
    ),
    # Flow logs, key policies, log retention, versioning
    ok(
        "gke-intranode-visibility",
        "on",
        res(GKE_CLUSTER, {**GKE_CLUSTER_PROPS, "enableIntranodeVisibility": True}),
    ),
    bad("gke-intranode-visibility", "off", "same-node pod traffic", res(GKE_CLUSTER, GKE_CLUSTER_PROPS)),
    ok("aws-vpc-flow-logs", "all traffic", MAIN_VPC, flow_log("vpc-1")),
    bad("aws-vpc-flow-logs", "none", "VPC main-vpc has no flow log", MAIN_VPC),
    bad("aws-vpc-flow-logs", "another vpc's", "has no flow log", MAIN_VPC, flow_log("vpc-2")),
    bad(
        "aws-vpc-flow-logs", "rejects only", "logs only REJECT traffic", MAIN_VPC, flow_log("vpc-1", "REJECT")
    ),
    ok("azure-vnet-flow-logs", "enabled with retention", VNET, vnet_flow_log()),
    bad("azure-vnet-flow-logs", "none", "VNet aks-vnet has no flow log", VNET),
    bad(
        "azure-vnet-flow-logs",
        "another vnet's",
        "has no flow log",
        VNET,
        vnet_flow_log("/subscriptions/s/vnet-2"),
    ),
    bad("azure-vnet-flow-logs", "disabled", "flow logs are not enabled", VNET, vnet_flow_log(enabled=False)),
    bad(
        "azure-vnet-flow-logs",
        "kept forever",
        "flow log aks-flow-logs has no retention policy",
        VNET,
        vnet_flow_log(**{"retentionPolicy.enabled": False}),
    ),
    bad(
        "azure-vnet-flow-logs",
        "zero days",
        "has no retention policy",
        VNET,
        vnet_flow_log(**{"retentionPolicy.days": 0}),
    ),
    ok("aws-kms-key-policy", "root administers, role uses", res(KMS, key_policy(ROOT_ADMIN, ROLE_USE))),
    bad("aws-kms-key-policy", "no policy", "has no policy of its own", res(KMS, {"enableKeyRotation": True})),
    bad(
        "aws-kms-key-policy",
        "everyone",
        "allows every principal",
        res(KMS, key_policy(ROOT_ADMIN, {**ROLE_USE, "Principal": {"AWS": "*"}})),
    ),
    bad(
        "aws-kms-key-policy",
        "root decrypts (the default policy)",
        "lets the account root decrypt",
        res(KMS, key_policy({**ROOT_ADMIN, "Action": "kms:*"}, ROLE_USE)),
    ),
    bad(
        "aws-kms-key-policy",
        "root may grant itself decrypt",
        "or grant itself decrypt",
        res(KMS, key_policy({**ROOT_ADMIN, "Action": ["kms:Create*", "kms:Put*"]}, ROLE_USE)),
    ),
    bad("aws-kms-key-policy", "no administrator", "administer the key", res(KMS, key_policy(ROLE_USE))),
    ok(
        "control-plane-log-retention",
        "eks a year",
        res(EKS_CLUSTER, {**EKS_PROPS, "name": "prod-main"}),
        resource(
            LOG_GROUP, "main-control-plane", {"name": "/aws/eks/prod-main/cluster", "retentionInDays": 365}
        ),
        config={"minRetentionDays": 365},
    ),
    bad(
        "control-plane-log-retention",
        "eks 90 days in prod",
        "keeps its control-plane logs 90 days, fewer than 365",
        res(EKS_CLUSTER, {**EKS_PROPS, "name": "prod-main"}),
        resource(
            LOG_GROUP, "main-control-plane", {"name": "/aws/eks/prod-main/cluster", "retentionInDays": 90}
        ),
        config={"minRetentionDays": 365},
    ),
    ok("bucket-versioning", "gcs", res(GCS, GCS_VERSIONED)),
    ok(
        "bucket-versioning",
        "s3",
        DATA,
        s3_companion(VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, DATA),
    ),
    ok(
        "bucket-versioning",
        "azure account",
        STORAGE_PARENT,
        ACCOUNT,
        resource(BLOB_SERVICE, "aks-storage-blob", {"isVersioningEnabled": True}, parent=STORAGE_COMPONENT),
    ),
    # A flow log's account holds logs its retention policy deletes, not objects to restore.
    ok("bucket-versioning", "a flow log's account", FLOW_LOG_ACCOUNT, vnet_flow_log()),
    bad("bucket-versioning", "gcs off", "GCS bucket r keeps no previous versions", res(GCS, {})),
    bad(
        "bucket-versioning",
        "s3 suspended",
        "S3 bucket data keeps no previous versions",
        DATA,
        s3_companion(VERSIONING, {"versioningConfiguration": {"status": "Suspended"}}, DATA),
    ),
    bad(
        "bucket-versioning",
        "azure off",
        "storage account aks-storage keeps no previous versions",
        STORAGE_PARENT,
        ACCOUNT,
        resource(BLOB_SERVICE, "aks-storage-blob", {"isVersioningEnabled": False}, parent=STORAGE_COMPONENT),
    ),
    ok("bucket-noncurrent-versions-expire", "gcs", res(GCS, GCS_VERSIONED)),
    ok("bucket-noncurrent-versions-expire", "unversioned keeps nothing", res(GCS, {})),
    ok(
        "bucket-noncurrent-versions-expire",
        "s3",
        DATA,
        s3_companion(VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, DATA),
        s3_companion(LIFECYCLE, {"rules": [NONCURRENT_RULE]}, DATA),
    ),
    ok(
        "bucket-noncurrent-versions-expire",
        "azure",
        STORAGE_PARENT,
        ACCOUNT,
        resource(BLOB_SERVICE, "aks-storage-blob", {"isVersioningEnabled": True}, parent=STORAGE_COMPONENT),
        resource(MANAGEMENT_POLICY, "aks-storage-lifecycle", EXPIRE_VERSIONS, parent=STORAGE_COMPONENT),
    ),
    bad(
        "bucket-noncurrent-versions-expire",
        "gcs forever",
        "keeps previous versions forever",
        res(GCS, {"versioning": {"enabled": True}}),
    ),
    bad(
        "bucket-noncurrent-versions-expire",
        "s3 lifecycle of another bucket",
        "S3 bucket data keeps previous versions forever",
        DATA,
        OTHER,
        s3_companion(VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}, DATA),
        s3_companion(LIFECYCLE, {"rules": [NONCURRENT_RULE]}, OTHER),
    ),
    bad(
        "bucket-noncurrent-versions-expire",
        "azure without a policy",
        "storage account aks-storage keeps previous versions forever",
        STORAGE_PARENT,
        ACCOUNT,
        resource(BLOB_SERVICE, "aks-storage-blob", {"isVersioningEnabled": True}, parent=STORAGE_COMPONENT),
    ),
    # Deletion protection
    ok("deletion-protection", "gke default protects", res(GKE_CLUSTER, {})),
    ok("deletion-protection", "eks protected", res(EKS_CLUSTER, EKS_PROPS)),
    ok("deletion-protection", "bucket kept with data", res(GCS, {"forceDestroy": False})),
    bad(
        "deletion-protection",
        "gke off",
        "deletionProtection is false",
        res(GKE_CLUSTER, {"deletionProtection": False}),
    ),
    bad("deletion-protection", "eks default", "deletionProtection is unset (false)", res(EKS_CLUSTER, {})),
    bad("deletion-protection", "ecr force delete", "forceDelete is true", res(ECR, {"forceDelete": True})),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(case):
    case.check()
