"""Team access to an EKS cluster: an access entry per team IAM role, carrying the Kubernetes
groups the team's namespace RoleBindings bind, and the IAM policy those roles need to fetch
credentials.

Access entries of type STANDARD with `kubernetesGroups` and no access policy: EKS authenticates
the role and puts the groups in its token, Kubernetes RBAC alone decides what it may do ("Create
an access entry using Kubernetes groups", docs.aws.amazon.com/eks/latest/userguide/
create-k8s-group-access-entry.html). The role ARN is used as IAM reports it, path included:
access entries accept paths, and an IAM Identity Center role without its
`aws-reserved/sso.amazonaws.com/<region>/` path is refused ("Create access entries";
terraform-aws-eks #2969).

Fetching a kubeconfig (`aws eks update-kubeconfig`) calls eks:DescribeCluster, which the
team's own role must allow. Those roles are not this stack's: IAM Identity Center owns its
permission-set roles (edits to them are reverted or denied) and other roles have their own
owners. So the platform creates a customer managed policy, named after the cluster, allowing
eks:DescribeCluster on this cluster only, and exports its ARN; the team's permission set
references it by name (permission sets attach customer managed policies by name and path), or
the role's owner attaches it. Attaching it from here would fight whoever owns the role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.identity import role_name


@dataclass(frozen=True)
class EksTeamAccessArgs:
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    # The policy's name prefix (environment-cluster): IAM names are account-wide.
    name_prefix: str
    # IAM role ARN -> the Kubernetes groups its token carries on this cluster.
    role_groups: dict[str, list[str]]


class EksTeamAccess(pulumi.ComponentResource):
    entries: dict[str, aws.eks.AccessEntry]
    credentials_policy: aws.iam.Policy

    def __init__(self, name: str, args: EksTeamAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:TeamAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.entries = {
            # A role name is unique in its account whatever its path: account and name suffice.
            arn: aws.eks.AccessEntry(
                f"{name}-{arn.split(':')[4]}-{arn.rsplit('/', 1)[-1]}",
                cluster_name=args.cluster_name,
                principal_arn=arn,
                type="STANDARD",
                kubernetes_groups=sorted(groups),
                opts=child,
            )
            for arn, groups in args.role_groups.items()
        }
        self.credentials_policy = aws.iam.Policy(
            f"{name}-credentials",
            name=role_name(args.name_prefix, "describe-cluster"),
            description="Fetch a kubeconfig of the EKS cluster (eks:DescribeCluster on it only)",
            policy=pulumi.Output.from_input(args.cluster_arn).apply(_describe_cluster_policy),
            opts=child,
        )
        self.register_outputs(
            {"roles": list(self.entries), "credentialsPolicyArn": self.credentials_policy.arn}
        )


def _describe_cluster_policy(cluster_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn}],
        }
    )
