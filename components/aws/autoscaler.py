"""The Kubernetes cluster autoscaler for EKS managed node groups: Helm release and IRSA role."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from components.aws.arns import partition
from components.aws.identity import IrsaRole, IrsaRoleArgs, OidcIssuer
from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, scheduling_values
from stacks import eks

CHART = Chart("cluster-autoscaler", "https://kubernetes.github.io/autoscaler", "9.50.0")
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


def autoscaler_policy(region: str, account_id: str, cluster_name: str) -> str:
    """Read what it must (groups, instance types, node groups); resize and terminate only in
    the Auto Scaling groups tagged as owned by this cluster."""
    arn = f"arn:{partition(region)}"
    groups = f"{arn}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DiscoverGroupsAndInstanceTypes",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    # These calls take no resource-level restriction.
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeThisClustersNodeGroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": f"{arn}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ResizeThisClustersGroups",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:SetDesiredCapacity",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    "Resource": groups,
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    region: str
    account_id: str
    kubernetes_version: str
    oidc: OidcIssuer
    role_name: str
    system_pool: PoolContract
    # The system pool's node group: the release is ready (atomic) only once its pod runs there.
    system_nodes: pulumi.Resource


class ClusterAutoscaler(pulumi.ComponentResource):
    """Needs the aws and kubernetes providers in `opts.providers`."""

    role: IrsaRole
    release: pulumi.Resource

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:ClusterAutoscaler", name, None, opts)
        self.role = IrsaRole(
            name,
            IrsaRoleArgs(
                role_name=args.role_name,
                region=args.region,
                oidc=args.oidc,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                description=f"Cluster autoscaler of {args.cluster_name}",
                inline_policy=autoscaler_policy(args.region, args.account_id, args.cluster_name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = chart_release(
            name,
            CHART,
            NAMESPACE,
            {
                **scheduling_values(args.system_pool),
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                # The release matching the cluster's minor (stacks/catalogs/eks.yaml): the autoscaler
                # simulates the scheduler of its own Kubernetes version.
                "image": {"tag": eks.cluster_autoscaler_images()[args.kubernetes_version]},
                "fullnameOverride": SERVICE_ACCOUNT,
                "rbac": {"serviceAccount": {"name": SERVICE_ACCOUNT, "annotations": self.role.annotation}},
                "extraArgs": {
                    # Spread a scale-up over zones when node groups only differ by zone.
                    "balance-similar-node-groups": "true",
                    # Add-on pods (DaemonSets aside) must not pin an idle node forever.
                    "skip-nodes-with-system-pods": "false",
                    # Model pods write to emptyDir /tmp: that must not block scale-down either.
                    "skip-nodes-with-local-storage": "false",
                    # Pick the group that leaves the least CPU/memory idle after the scale-up.
                    "expander": "least-waste",
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": "300Mi"},
                    "limits": {"memory": "600Mi"},
                },
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 65534,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containerSecurityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.system_nodes]),
            create_namespace=False,
        )
        self.register_outputs({"roleArn": self.role.arn})
