"""EKS cluster: KMS secrets, restricted endpoint, logs, access entries, OIDC, networking add-ons."""

from __future__ import annotations

import json

import yaml

from components.aws.cluster import eks_kubeconfig
from plan import emulators
from tests.eks_plan import EXAMPLE as EKS_EXAMPLE
from tests.eks_plan import eks_variant_document
from tests.helpers import dig

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def test_secrets_are_encrypted_with_a_rotated_key(eks):
    cluster = eks.custom(CLUSTER)["main"]
    key = next(r for r in eks.record.of_type("aws:kms/key:Key"))
    assert key.inputs["enableKeyRotation"] is True
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert (
        dig(cluster, "encryptionConfig.provider.keyArn") == f"arn:aws:kms:eu-west-1:123456789012:key/{key.id}"
    )
    # The control plane may use that key, and only that key.
    policy = json.loads(
        eks.custom("aws:iam/rolePolicy:RolePolicy")["main-control-plane-secrets-key"]["policy"]
    )
    assert policy["Statement"][0]["Resource"] == dig(cluster, "encryptionConfig.provider.keyArn")


def test_secrets_key_has_its_own_policy_root_administers_the_control_plane_uses(eks):
    key = eks.custom("aws:kms/key:Key")["main-secrets"]
    admin, use, grants = json.loads(key["policy"])["Statement"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert "kms:Put*" in admin["Action"]
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:Create*", "kms:CreateGrant"} & set(
        admin["Action"]
    )
    assert use["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/dev-main-control-plane"}
    assert set(use["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}
    assert grants["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/platform-deployer"}
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # KMS refuses a policy naming a role that does not exist yet.
    assert eks.waits_for(("aws:kms/key:Key", "main-secrets"), ("aws:iam/role:Role", "main-control-plane"))


def test_endpoint_is_limited_to_authorized_networks_or_private(eks, eks_variant):
    vpc = eks.custom(CLUSTER)["main"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    # The operators' network, then the CI runners' named egress range (ciAccess: runnerCidrs).
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.16/28"]
    assert not eks.record.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    private = eks_variant.custom(CLUSTER)["main"]["vpcConfig"]
    assert private["endpointPublicAccess"] is False and "publicAccessCidrs" not in private
    # A self-hosted runner in the VPC reaches the private endpoint through the cluster security group.
    [rule] = eks_variant.record.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["securityGroupId"].startswith("sg-")  # the cluster security group EKS reports
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        "10.30.0.0/16",
        443,
        443,
    )


def test_cluster_runs_in_private_subnets_with_api_access_and_standard_support(eks):
    cluster = eks.custom(CLUSTER)["main"]
    private = {r.id for r in eks.record.of_type("aws:ec2/subnet:Subnet") if "private" in r.name}
    assert set(cluster["vpcConfig"]["subnetIds"]) == private
    assert cluster["name"] == "dev-main" and cluster["version"] == "1.35"
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    # No implicit creator admin: the deployer has its own access entry.
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "172.20.0.0/16"
    assert cluster["deletionProtection"] is False


def test_control_plane_logs_go_to_a_log_group_with_retention(eks):
    cluster = eks.custom(CLUSTER)["main"]
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    group = eks.custom("aws:cloudwatch/logGroup:LogGroup")["main-control-plane"]
    assert group == {"name": "/aws/eks/dev-main/cluster", "retentionInDays": 30}


def test_log_group_outlives_the_cluster_and_is_replaced_delete_first(eks):
    log_group = ("aws:cloudwatch/logGroup:LogGroup", "main-control-plane")
    # Created before the cluster, so a destroy removes it only after the cluster is gone.
    assert eks.waits_for((CLUSTER, "main"), log_group)
    # Fixed names (EKS writes to /aws/eks/<name>/cluster): a replacement must delete first,
    # or the new log group and cluster collide with the old ones.
    assert eks.options(log_group).get("deleteBeforeReplace") is True
    assert eks.options((CLUSTER, "main")).get("deleteBeforeReplace") is True


def test_a_fresh_account_creates_the_log_group(eks):
    log_group = ("aws:cloudwatch/logGroup:LogGroup", "main-control-plane")
    assert "import" not in eks.options(log_group)


def test_a_log_group_left_by_a_destroyed_cluster_is_adopted_not_collided_with(plan_of, monkeypatch):
    # EKS re-creates /aws/eks/<name>/cluster after a destroy (terraform-aws-eks #2763); the next
    # create would fail with ResourceAlreadyExistsException, so the program imports it.
    leftover = "/aws/eks/dev-main/cluster"
    token = "aws:cloudwatch/getLogGroups:getLogGroups"
    seen = []

    def account_with_leftover(args):
        seen.append(args["logGroupNamePrefix"])
        names = [leftover, f"{leftover}-other"] if leftover.startswith(args["logGroupNamePrefix"]) else []
        return {"id": args["logGroupNamePrefix"], "arns": [], "logGroupNames": names}

    monkeypatch.setitem(emulators.CALLS, token, account_with_leftover)
    record = plan_of(yaml.safe_load(EKS_EXAMPLE.read_text()))
    (group,) = [
        g for g in record.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name == "main-control-plane"
    ]
    assert seen == [leftover]
    assert group.options["import"] == leftover and group.id == leftover
    # Adopted with the program's retention, which the update after the import applies.
    assert group.inputs["retentionInDays"] == 30


def test_extended_support_is_set_only_when_chosen(plan_of):
    document = eks_variant_document()
    cluster = document["config"]["mlplatform:clusters"]["main"]
    cluster["kubernetesVersion"] = "1.33"
    cluster["aws"]["supportType"] = "EXTENDED"
    (resource,) = plan_of(document).of_type(CLUSTER)
    assert resource.inputs["upgradePolicy"] == {"supportType": "EXTENDED"}
    assert resource.inputs["version"] == "1.33"


def test_deployer_is_cluster_admin_through_its_own_access_entry(eks):
    deployer = "arn:aws:iam::123456789012:role/platform-deployer"
    entry = eks.custom("aws:eks/accessEntry:AccessEntry")["main-deployer"]
    assert entry == {"clusterName": "dev-main", "principalArn": deployer, "type": "STANDARD"}
    association = eks.custom(ASSOCIATION)["main-deployer"]
    assert association["principalArn"] == deployer
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    # One access entry per principal (a second one for the deployer would be a 409).
    principals = [e["principalArn"] for e in eks.custom("aws:eks/accessEntry:AccessEntry").values()]
    assert len(principals) == len(set(principals))


def test_kubernetes_objects_wait_for_the_deployers_cluster_admin(eks):
    association = (ASSOCIATION, "main-deployer")
    provider = eks.resource(("pulumi:providers:kubernetes", "main-k8s"))
    assert eks.record.depends_on(provider.urn, eks.resource(association).urn)
    on_cluster = [r for r in eks.record.resources if r.provider and r.provider.startswith(provider.urn)]
    assert {r.type for r in on_cluster} >= {"kubernetes:helm.sh/v3:Release", "kubernetes:apps/v1:Deployment"}
    for resource in on_cluster:
        assert eks.record.depends_on(resource.urn, eks.resource(association).urn), resource.name


def test_admin_roles_get_cluster_admin_through_access_entries(eks):
    role = "arn:aws:iam::123456789012:role/platform-admins"
    entry = eks.custom("aws:eks/accessEntry:AccessEntry")["main-admin-platform-admins"]
    assert entry == {"clusterName": "dev-main", "principalArn": role, "type": "STANDARD"}
    association = eks.custom(ASSOCIATION)["main-admin-platform-admins"]
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}


def test_oidc_provider_trusts_the_clusters_issuer_for_sts(eks):
    provider = eks.custom("aws:iam/openIdConnectProvider:OpenIdConnectProvider")["main-oidc"]
    assert provider["url"].startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")
    assert provider["clientIdLists"] == ["sts.amazonaws.com"]


def test_vpc_cni_runs_with_its_own_role_and_enforces_network_policy(eks):
    addons = eks.custom(ADDON)
    cni = addons["main-vpc-cni"]
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert cni["serviceAccountRoleArn"] == "arn:aws:iam::123456789012:role/dev-main-vpc-cni"
    assert addons["main-kube-proxy"]["addonName"] == "kube-proxy"
    trust = json.loads(eks.custom("aws:iam/role:Role")["main-vpc-cni"]["assumeRolePolicy"])
    assert next(iter(trust["Statement"][0]["Condition"]["StringEquals"].values())) == (
        "system:serviceaccount:kube-system:aws-node"
    )
    attached = eks.custom("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attached["main-vpc-cni-AmazonEKS_CNI_Policy"]["policyArn"].endswith("/AmazonEKS_CNI_Policy")
    # The CNI's rights are not handed to every node.
    node_policies = {
        v["policyArn"].rsplit("/", 1)[1] for k, v in attached.items() if k.startswith("main-nodes-")
    }
    assert node_policies == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}


def test_control_plane_waits_for_the_network_routes(eks):
    cluster = (CLUSTER, "main")
    assert eks.waits_for(cluster, ("aws:ec2/route:Route", "main-vpc-private-euw1-az2-egress"))
    assert eks.waits_for(cluster, ("aws:ec2/natGateway:NatGateway", "main-vpc-nat-euw1-az1"))


def test_kubeconfig_gets_tokens_from_the_aws_cli():
    document = yaml.safe_load(eks_kubeconfig("dev-main", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1"))
    user = document["users"][0]["user"]["exec"]
    assert user["command"] == "aws"
    assert user["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "dev-main",
        "--region",
        "eu-west-1",
        "--output",
        "json",
    ]
    assert document["clusters"][0]["cluster"]["server"] == "https://x.eks.amazonaws.com"
    assert "token" not in json.dumps(document["users"][0]["user"]).replace("get-token", "")


def test_kubernetes_provider_config_is_secret(eks):
    provider = next(r for r in eks.record.of_type("pulumi:providers:kubernetes"))
    assert provider.inputs["kubeconfig"] == "<secret>"


def test_the_deployer_is_an_explicit_revocable_admin_and_no_implicit_creator_admin(eks):
    """bootstrapClusterCreatorAdminPermissions plus an entry for the same principal fails with 409
    (terraform-aws-eks #3293, pulumi-eks #2373): the deployer gets an entry of its own instead."""
    cluster = eks.custom(CLUSTER)["main"]
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entry = eks.custom("aws:eks/accessEntry:AccessEntry")["main-deployer"]
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform-deployer"
    association = eks.custom("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")["main-deployer"]
    assert association["policyArn"].endswith("cluster-access-policy/AmazonEKSClusterAdminPolicy")
    # Nothing reaches the API server before the deployer may act there.
    record = eks.record
    provider = next(r for r in record.of_type("pulumi:providers:kubernetes") if r.name == "main-k8s")
    granted = next(
        r
        for r in record.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if r.name == "main-deployer"
    )
    assert record.depends_on(provider.urn, granted.urn)
    releases = record.of_type("kubernetes:helm.sh/v3:Release")
    assert releases and all(record.depends_on(r.urn, granted.urn) for r in releases)
