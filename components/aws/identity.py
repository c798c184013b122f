"""IAM for EKS: the node role, IRSA roles for add-ons, and workload identity for models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import yaml

from components.aws.arns import bucket_arns, managed_policy, partition
from components.handle import BucketAccess, IdentityBinding, SecretProvider, SecretReference
from components.naming import fitted_name

IAM_NAME_LIMIT = 64
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"

# What a managed node needs: join the cluster and pull images. The pull-only policy covers
# the platform's ECR repositories and the AWS-owned ones the EKS add-on images come from (a
# cross-account pull needs the caller's own permission too). The VPC CNI's network rights
# belong to the CNI's service account (IRSA), not to every pod-reachable node.
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")


def role_name(*parts: str) -> str:
    """IAM role names are account-wide: prefix them with environment and cluster."""
    return fitted_name(*parts, max_length=IAM_NAME_LIMIT)


def service_trust_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's OIDC issuer and the IAM provider that trusts it (IRSA)."""

    provider_arn: pulumi.Input[str]
    # https://oidc.eks.<region>.amazonaws.com/id/<id>
    url: pulumi.Input[str]


def irsa_trust_policy(oidc: OidcIssuer, namespace: str, service_account: str) -> pulumi.Output[str]:
    """Only `namespace/service_account` of this cluster may assume the role, for STS only."""

    def document(parts: list[str]) -> str:
        provider_arn, url = parts
        issuer = url.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{issuer}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            }
        )

    return pulumi.Output.all(oidc.provider_arn, oidc.url).apply(document)


@dataclass(frozen=True)
class IrsaRoleArgs:
    role_name: str
    region: str
    oidc: OidcIssuer
    namespace: str
    service_account: str
    description: str
    # AWS managed policies by name (e.g. AmazonEBSCSIDriverPolicy).
    managed_policies: tuple[str, ...] = ()
    # An inline policy document (JSON) for what no managed policy covers exactly.
    inline_policy: pulumi.Input[str] | None = None


class IrsaRole(pulumi.ComponentResource):
    """An IAM role for one Kubernetes service account (IAM Roles for Service Accounts)."""

    role: aws.iam.Role
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:IrsaRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            name,
            name=args.role_name,
            description=args.description,
            assume_role_policy=irsa_trust_policy(args.oidc, args.namespace, args.service_account),
            opts=child,
        )
        for policy in args.managed_policies:
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=managed_policy(args.region, policy),
                opts=child,
            )
        if args.inline_policy is not None:
            aws.iam.RolePolicy(f"{name}-access", role=self.role.id, policy=args.inline_policy, opts=child)
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})

    @property
    def annotation(self) -> dict[str, pulumi.Input[str]]:
        """The ServiceAccount annotation that makes its pods act as this role."""
        return {ROLE_ARN_ANNOTATION: self.arn}


@dataclass(frozen=True)
class NodeRoleArgs:
    role_name: str
    region: str


class NodeRole(pulumi.ComponentResource):
    """The IAM role every managed node group's instances run as."""

    role: aws.iam.Role
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: NodeRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:NodeRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            name,
            name=args.role_name,
            description="EKS managed node groups",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            opts=child,
        )
        self.attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=self.role.name,
                policy_arn=managed_policy(args.region, policy),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        self.arn = self.role.arn
        self.register_outputs({"arn": self.arn})


def workload_access_policy(
    region: str, account_id: str, buckets: dict[str, BucketAccess], secrets: tuple[SecretReference, ...] = ()
) -> str:
    """Read (list, get) or write (+ put, delete) on exactly these buckets (physical names), and
    read on exactly these Secrets Manager secrets."""
    statements = bucket_statements(region, buckets) if buckets else []
    if secrets:
        statements.append(
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                # What the AWS provider calls (aws/secrets-store-csi-driver-provider-aws README,
                # "Usage" policy). Secrets Manager appends six random characters to a secret's
                # ARN: `-??????` matches exactly those (Secrets Manager user guide, "Resource:
                # secret ARN with a wildcard").
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": sorted(
                    f"arn:{partition(region)}:secretsmanager:{region}:{account_id}:secret:{s.name}-??????"
                    for s in secrets
                ),
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def bucket_statements(region: str, buckets: dict[str, BucketAccess]) -> list[dict]:
    statements = [
        {
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": sorted(bucket_arns(region, b)[0] for b in buckets),
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": sorted(bucket_arns(region, b)[1] for b in buckets),
        },
    ]
    writable = sorted(bucket_arns(region, b)[1] for b, access in buckets.items() if access == "write")
    if writable:
        statements.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                # Large artifacts upload in parts; a failed upload must be abortable.
                "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": writable,
            }
        )
    return statements


@dataclass(frozen=True)
class EksWorkloadIdentity:
    """IRSA for the workloads of one EKS cluster (implements components.handle.WorkloadIdentity)."""

    # environment-cluster: role names are account-wide.
    name_prefix: str
    region: str
    account_id: str
    oidc: OidcIssuer
    provider: aws.Provider
    # Config bucket name -> physical bucket name.
    buckets: dict[str, str] = field(default_factory=dict)

    def bind(
        self,
        name: str,
        namespace: str,
        service_account: str,
        buckets: dict[str, BucketAccess],
        parent: pulumi.Resource,
        secrets: tuple[SecretReference, ...] = (),
    ) -> IdentityBinding:
        """An IAM role only `namespace/service_account` can assume, with access to exactly
        `buckets` and `secrets`. A workload with neither needs no AWS identity at all."""
        if not buckets and not secrets:
            return IdentityBinding()
        unknown = sorted(set(buckets) - set(self.buckets))
        if unknown:
            raise ValueError(f"{name}: no bucket {', '.join(unknown)} on this cluster")
        role = IrsaRole(
            f"{name}-aws",
            IrsaRoleArgs(
                role_name=role_name(self.name_prefix, namespace, service_account),
                region=self.region,
                oidc=self.oidc,
                namespace=namespace,
                service_account=service_account,
                description=f"Pods of {namespace}/{service_account}",
                inline_policy=workload_access_policy(
                    self.region,
                    self.account_id,
                    {self.buckets[bucket]: access for bucket, access in buckets.items()},
                    secrets,
                ),
            ),
            # The parent is a Kubernetes component: name the AWS provider explicitly.
            opts=pulumi.ResourceOptions(parent=parent, providers=[self.provider]),
        )
        return IdentityBinding(service_account_annotations=role.annotation)


@dataclass(frozen=True)
class EksSecretStore:
    """AWS Secrets Manager through the Secrets Store CSI driver and its AWS provider (ASCP),
    authenticating as the pod's IRSA role (aws/secrets-store-csi-driver-provider-aws@a74182c,
    README "Usage": provider `aws`, `objects` of objectName/objectType/objectAlias, `region`;
    usePodIdentity unset means IRSA)."""

    region: str
    ready: tuple[pulumi.Resource, ...] = ()

    def provider(self, files: dict[str, SecretReference], binding: IdentityBinding) -> SecretProvider:
        objects = []
        for alias, secret in files.items():
            entry = {"objectName": secret.name, "objectType": "secretsmanager", "objectAlias": alias}
            if secret.version != "latest":
                # A version stage (AWSCURRENT is the default, AWSPREVIOUS, or a custom label).
                entry["objectVersionLabel"] = secret.version
            objects.append(entry)
        return SecretProvider(
            csi_driver="secrets-store.csi.k8s.io",
            provider="aws",
            parameters={"region": self.region, "objects": yaml.safe_dump(objects, sort_keys=False)},
        )
