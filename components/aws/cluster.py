"""An EKS cluster: KMS-encrypted secrets, restricted endpoint, control-plane logs, access
entries, the OIDC provider for IRSA, the networking add-ons, and the kubernetes.Provider."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.arns import managed_policy, partition
from components.aws.eks_addon import managed_addon
from components.aws.identity import IrsaRole, IrsaRoleArgs, OidcIssuer, role_name, service_trust_policy
from components.kubeconfig import exec_kubeconfig

# Who did what (api, audit) and who logged in (authenticator); controllerManager and scheduler
# logs are verbose debugging aids that CloudWatch would bill for every day.
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator")
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class EksClusterArgs:
    # Physical EKS name (unique per account and region); also the autoscaler's discovery key.
    cluster_name: str
    region: str
    kubernetes_version: str
    subnet_ids: list[pulumi.Input[str]]
    service_cidr: str
    # Prefix of the IAM role names this component creates (environment-cluster).
    role_prefix: str
    # The IAM role running `pulumi up`: explicit cluster-admin, so it can declare the workloads.
    deployer_role_arn: str
    # The account that owns the cluster (its root administers the secrets key).
    account_id: str
    private_endpoint: bool = False
    authorized_networks: list[str] = field(default_factory=list)
    admin_role_arns: list[str] = field(default_factory=list)
    # STANDARD, or EXTENDED for a version past standard support (billed 6x per cluster-hour).
    support_type: str = "STANDARD"
    log_retention_days: int = 90
    deletion_protection: bool = True
    # What the control plane must wait for (the network's routes: nodes join through NAT).
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # The VPC's range, when a self-hosted CI runner inside it deploys (ciAccess: selfHostedRunner).
    runner_vpc_cidr: str | None = None


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    oidc: OidcIssuer
    # The add-ons nodes need to become Ready (pod networking, service routing).
    networking_addons: list[aws.eks.Addon]
    kubeconfig: pulumi.Output[str]
    kubernetes_provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.role = aws.iam.Role(
            f"{name}-control-plane",
            name=role_name(args.role_prefix, "control-plane"),
            description=f"EKS control plane of {args.cluster_name}",
            assume_role_policy=service_trust_policy("eks.amazonaws.com"),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane-AmazonEKSClusterPolicy",
            role=self.role.name,
            policy_arn=managed_policy(args.region, "AmazonEKSClusterPolicy"),
            opts=child,
        )
        # The key is declared after the role: its own policy names the role, and KMS refuses a
        # policy whose principals do not exist yet.
        self.secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=self.role.arn.apply(
                lambda role_arn: secrets_key_policy(
                    args.region, args.account_id, role_arn, args.deployer_role_arn
                )
            ),
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-secrets",
            name=f"alias/{args.cluster_name}-secrets",
            target_key_id=self.secrets_key.key_id,
            opts=child,
        )
        key_use = aws.iam.RolePolicy(
            f"{name}-control-plane-secrets-key",
            role=self.role.id,
            policy=self.secrets_key.arn.apply(_secrets_key_policy),
            opts=child,
        )
        # Created before the cluster, or EKS creates it itself with logs kept forever. The cluster
        # depends on it, so a destroy deletes the log group only once the cluster is gone (as
        # terraform-aws-eks v21 main.tf orders them); EKS writes into this fixed name, so a
        # replacement must delete the old group first (create-first collides: terraform-aws-eks #3465).
        log_group_name = f"/aws/eks/{args.cluster_name}/cluster"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=log_group_name,
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                import_=_existing_log_group(log_group_name, self),
            ),
        )

        public = not args.private_endpoint
        self.cluster = aws.eks.Cluster(
            name,
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=self.role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=args.authorized_networks if public else None,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=args.service_cidr
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.secrets_key.arn),
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            access_config=aws.eks.ClusterAccessConfigArgs(
                # Access entries only: no aws-auth ConfigMap to drift. No implicit creator admin:
                # it is a one-time, unmanaged entry that collides (409 ResourceInUseException)
                # with an explicit entry for the same role (terraform-aws-eks #3293, pulumi-eks
                # #2373); the deployer gets its own entry below, which can be revoked.
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # The networking add-ons are managed below, as EKS add-ons, not left self-managed.
            bootstrap_self_managed_addons=False,
            # STANDARD unless the config chose EXTENDED for a version past standard support
            # (the config refuses that version otherwise).
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.support_type),
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[cluster_policy, key_use, log_group, *args.depends_on],
                # The EKS name is fixed: a replacement cluster can only come after the old one.
                delete_before_replace=True,
            ),
        )

        if args.runner_vpc_cidr is not None:
            # The cluster security group admits only itself (the nodes and control plane; "Amazon
            # EKS security group requirements"): a runner in the VPC reaches the private endpoint
            # on 443 once its range is allowed.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-runner-to-api",
                security_group_id=self.cluster.vpc_config.cluster_security_group_id,
                cidr_ipv4=args.runner_vpc_cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description="Self-hosted CI runners in the VPC reach the Kubernetes API",
                opts=child,
            )

        self.deployer_access = self._cluster_admin(f"{name}-deployer", args.deployer_role_arn, args.region)
        for arn in args.admin_role_arns:
            self._cluster_admin(f"{name}-admin-{arn.rsplit('/', 1)[-1]}", arn, args.region)

        issuer = self.cluster.identities.apply(lambda identities: identities[0].oidcs[0].issuer)
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], opts=child
        )
        self.oidc = OidcIssuer(provider_arn=self.oidc_provider.arn, url=issuer)

        cni_role = IrsaRole(
            f"{name}-vpc-cni",
            IrsaRoleArgs(
                role_name=role_name(args.role_prefix, "vpc-cni"),
                region=args.region,
                oidc=self.oidc,
                namespace="kube-system",
                service_account="aws-node",
                description=f"VPC CNI of {args.cluster_name}",
                managed_policies=("AmazonEKS_CNI_Policy",),
            ),
            opts=child,
        )
        self.networking_addons = [
            managed_addon(
                f"{name}-vpc-cni",
                "vpc-cni",
                self.cluster.name,
                args.kubernetes_version,
                child,
                service_account_role_arn=cni_role.arn,
                # The CNI's network-policy agent enforces the workloads' NetworkPolicies.
                configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
            ),
            managed_addon(
                f"{name}-kube-proxy", "kube-proxy", self.cluster.name, args.kubernetes_version, child
            ),
        ]

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name,
                self.cluster.endpoint,
                self.cluster.certificate_authority.apply(lambda authority: authority.data),
            ).apply(lambda parts: eks_kubeconfig(*parts, region=args.region))
        )
        # Every Kubernetes object and Helm release goes through this provider: it may only be
        # used once the deployer is cluster-admin.
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployer_access]),
        )
        self.register_outputs(
            {
                "name": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "oidcProviderArn": self.oidc_provider.arn,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _cluster_admin(self, name: str, role_arn: str, region: str) -> aws.eks.AccessPolicyAssociation:
        """An access entry for `role_arn` with the cluster-admin access policy, cluster-wide."""
        entry = aws.eks.AccessEntry(
            name,
            cluster_name=self.cluster.name,
            principal_arn=role_arn,
            type="STANDARD",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.AccessPolicyAssociation(
            name,
            cluster_name=self.cluster.name,
            principal_arn=role_arn,
            policy_arn=f"arn:{partition(region)}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
        )


# Key administration without use (KMS developer guide, "Default key policy", the key
# administrators statement, with kms:Create* narrowed to CreateAlias: CreateGrant would let an IAM
# principal grant itself decrypt): the account's IAM policies may manage the key, not read with it.
KEY_ADMINISTRATION = (
    *("kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*"),
    *("kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource"),
    *("kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"),
)
ENVELOPE_ENCRYPTION = ("kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey")


def secrets_key_policy(region: str, account_id: str, cluster_role_arn: str, deployer_role_arn: str) -> str:
    """The secrets key's own policy: the account root administers it, the control plane uses it,
    and the deployer may only grant it to EKS while creating the cluster (CreateGrant and
    DescribeKey, which cluster creation needs, for AWS resources only)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "KeyAdministration",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition(region)}:iam::{account_id}:root"},
                    "Action": list(KEY_ADMINISTRATION),
                    "Resource": "*",
                },
                {
                    "Sid": "ControlPlaneUse",
                    "Effect": "Allow",
                    "Principal": {"AWS": cluster_role_arn},
                    "Action": list(ENVELOPE_ENCRYPTION),
                    "Resource": "*",
                },
                {
                    "Sid": "DeployerGrantsToEks",
                    "Effect": "Allow",
                    "Principal": {"AWS": deployer_role_arn},
                    "Action": ["kms:CreateGrant", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
            ],
        }
    )


def _secrets_key_policy(key_arn: str) -> str:
    """What the control plane needs on its secrets key, and only on that key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnvelopeEncryption",
                    "Effect": "Allow",
                    "Action": list(ENVELOPE_ENCRYPTION),
                    "Resource": key_arn,
                }
            ],
        }
    )


def _existing_log_group(log_group_name: str, parent: pulumi.Resource) -> str | None:
    """The control-plane log group's name when it already exists in the account, to adopt it.

    A destroyed cluster's log group comes back: EKS's service-linked role writes the last log
    events after the group is deleted and re-creates it, untagged and unmanaged, and a Deny on
    logs:CreateLogGroup does not stop it (terraform-aws-eks #920, #2486, #2763). The next create
    of a cluster of the same name then fails with ResourceAlreadyExistsException. Importing it
    instead is safe in every state: a group already in the stack under this id is treated as any
    other resource, and one that is not is imported, then updated to the program's retention and
    tags (pulumi/pulumi#19339; docs: "Resource option: import").
    """
    found = aws.cloudwatch.get_log_groups(
        log_group_name_prefix=log_group_name, opts=pulumi.InvokeOptions(parent=parent)
    )
    return log_group_name if log_group_name in (found.log_group_names or []) else None


def eks_kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that gets short-lived tokens from the AWS CLI (`aws eks get-token`)."""
    return exec_kubeconfig(
        f"eks-{cluster_name}",
        endpoint,
        ca_data,
        {
            "command": "aws",
            "args": [
                "eks",
                "get-token",
                "--cluster-name",
                cluster_name,
                "--region",
                region,
                "--output",
                "json",
            ],
            "installHint": "install the AWS CLI v2: https://docs.aws.amazon.com/cli/",
            "interactiveMode": "Never",
        },
    )
