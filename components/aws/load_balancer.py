"""The AWS Load Balancer Controller: ALBs for Ingress (class `alb`, weighted forward actions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

import pulumi

from components.aws.arns import partition
from components.aws.identity import IrsaRole, IrsaRoleArgs, OidcIssuer
from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, scheduling_values

CHART = Chart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "1.14.0")
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"

# The controller's IAM policy: what its v2.14 documentation requires, with every mutation of
# an existing load balancer or security group limited to those tagged as this cluster's.
POLICY_TEMPLATE = Path(__file__).with_name("load_balancer_controller_policy.json")


def controller_policy(region: str, account_id: str, cluster_name: str) -> str:
    return Template(POLICY_TEMPLATE.read_text()).substitute(
        partition=partition(region), region=region, account_id=account_id, cluster_name=cluster_name
    )


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    cluster_name: str
    region: str
    account_id: str
    vpc_id: pulumi.Input[str]
    oidc: OidcIssuer
    role_name: str
    system_pool: PoolContract
    # The system pool's node group: the release is ready (atomic) only once its pods run there.
    system_nodes: pulumi.Resource


class LoadBalancerController(pulumi.ComponentResource):
    """Needs the aws and kubernetes providers in `opts.providers`."""

    role: IrsaRole
    release: pulumi.Resource

    def __init__(
        self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mlplatform:aws:LoadBalancerController", name, None, opts)
        self.role = IrsaRole(
            name,
            IrsaRoleArgs(
                role_name=args.role_name,
                region=args.region,
                oidc=args.oidc,
                namespace=NAMESPACE,
                service_account=SERVICE_ACCOUNT,
                description=f"AWS Load Balancer Controller of {args.cluster_name}",
                inline_policy=controller_policy(args.region, args.account_id, args.cluster_name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = chart_release(
            name,
            CHART,
            NAMESPACE,
            {
                **scheduling_values(args.system_pool),
                "clusterName": args.cluster_name,
                # Given explicitly: nodes allow one metadata hop, so pods cannot look them up.
                "region": args.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": self.role.annotation,
                },
                "ingressClass": INGRESS_CLASS,
                "createIngressClassResource": True,
                # Two replicas behind a PDB: its webhooks sit in the path of every Ingress change.
                "replicaCount": 2,
                "podDisruptionBudget": {"maxUnavailable": 1},
                # Traffic enters through ALB Ingresses; leave Services of type LoadBalancer alone
                # rather than make every Service write depend on this controller's webhook.
                "enableServiceMutatorWebhook": False,
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"memory": "256Mi"},
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.system_nodes]),
            create_namespace=False,
        )
        self.register_outputs({"roleArn": self.role.arn})
