"""VPC for EKS: public and private subnets per zone with load-balancer discovery tags, NAT."""

from __future__ import annotations

import ipaddress
import json
import math
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws.arns import partition

# Where the AWS Load Balancer Controller puts internet-facing and internal load balancers.
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetPlan:
    zone: str
    private_cidr: str
    public_cidr: str


def subnet_plan(cidr: str, zones: list[str]) -> list[SubnetPlan]:
    """Split the VPC range: one large private subnet per zone (nodes and, with the VPC CNI,
    every pod), and the last block cut into small public subnets (load balancers, NAT).

    A /16 over three zones gives three /18 private subnets and three /20 public ones.
    """
    network = ipaddress.ip_network(cidr)
    blocks = list(network.subnets(prefixlen_diff=math.ceil(math.log2(len(zones) + 1))))
    public_blocks = list(blocks[-1].subnets(prefixlen_diff=math.ceil(math.log2(len(zones)))))
    return [
        SubnetPlan(zone=zone, private_cidr=str(blocks[i]), public_cidr=str(public_blocks[i]))
        for i, zone in enumerate(zones)
    ]


@dataclass(frozen=True)
class EksNetworkArgs:
    region: str
    cidr: str
    # AZ IDs (euw1-az1): the same zone in every account, unlike AZ names.
    availability_zone_ids: list[str]
    nat_gateways: Literal["single", "perAz"]
    account_id: str
    # IAM role that delivers the flow logs (IAM names are account-wide: prefix them).
    flow_log_role_name: str
    # CloudWatch retention of the VPC flow logs; None: no flow logs (CloudWatch bills per GB).
    flow_log_retention_days: int | None = 90


class EksNetwork(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    plan: list[SubnetPlan]
    public_subnets: dict[str, aws.ec2.Subnet]
    private_subnets: dict[str, aws.ec2.Subnet]

    def __init__(self, name: str, args: EksNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            name,
            cidr_block=args.cidr,
            # EKS nodes register under their private DNS names.
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
            opts=child,
        )
        # The VPC's default security group allows all traffic between its members: empty it so
        # nothing relies on it by accident.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{name}-default"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": name}, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-internet",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
            opts=child,
        )

        self.plan = subnet_plan(args.cidr, args.availability_zone_ids)
        self.public_subnets, self.private_subnets = {}, {}
        private_route_tables: list[aws.ec2.RouteTable] = []
        nat_gateway: aws.ec2.NatGateway | None = None
        for plan in self.plan:
            public = aws.ec2.Subnet(
                f"{name}-public-{plan.zone}",
                vpc_id=self.vpc.id,
                cidr_block=plan.public_cidr,
                availability_zone_id=plan.zone,
                # Only load balancers and NAT gateways live here; they get their own addresses.
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{plan.zone}", PUBLIC_ELB_TAG: "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{plan.zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{plan.zone}",
                vpc_id=self.vpc.id,
                cidr_block=plan.private_cidr,
                availability_zone_id=plan.zone,
                tags={"Name": f"{name}-private-{plan.zone}", INTERNAL_ELB_TAG: "1"},
                opts=child,
            )
            if nat_gateway is None or args.nat_gateways == "perAz":
                address = aws.ec2.Eip(
                    f"{name}-nat-{plan.zone}",
                    domain="vpc",
                    tags={"Name": f"{name}-nat-{plan.zone}"},
                    opts=child,
                )
                nat_gateway = aws.ec2.NatGateway(
                    f"{name}-nat-{plan.zone}",
                    allocation_id=address.id,
                    subnet_id=public.id,
                    connectivity_type="public",
                    tags={"Name": f"{name}-nat-{plan.zone}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
                )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{plan.zone}",
                vpc_id=self.vpc.id,
                tags={"Name": f"{name}-private-{plan.zone}"},
                opts=child,
            )
            aws.ec2.Route(
                f"{name}-private-{plan.zone}-egress",
                route_table_id=private_routes.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateway.id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{plan.zone}",
                subnet_id=private.id,
                route_table_id=private_routes.id,
                opts=child,
            )
            self.public_subnets[plan.zone] = public
            self.private_subnets[plan.zone] = private
            private_route_tables.append(private_routes)

        # Model weights and datasets come from S3: a gateway endpoint keeps that traffic off the
        # NAT gateways (no per-GB NAT charge) and off the internet. It is free.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in private_route_tables],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        if args.flow_log_retention_days is not None:
            self._flow_logs(name, args)
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "privateSubnetIds": [s.id for s in self.private_subnets.values()],
                "publicSubnetIds": [s.id for s in self.public_subnets.values()],
            }
        )

    def _flow_logs(self, name: str, args: EksNetworkArgs) -> None:
        """Every accepted and rejected flow of the VPC to a CloudWatch log group (encrypted at rest
        by CloudWatch Logs), delivered by a role that may only write to that group
        (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html)."""
        child = pulumi.ResourceOptions(parent=self)
        group_name = f"/aws/vpc/{name}/flow-logs"
        logs = f"arn:{partition(args.region)}:logs:{args.region}:{args.account_id}:log-group"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=group_name,
            retention_in_days=args.flow_log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            name=args.flow_log_role_name,
            description=f"Delivers the flow logs of VPC {name} to {group_name}",
            assume_role_policy=flow_logs_trust_policy(args.region, args.account_id),
            opts=child,
        )
        delivery = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "WriteFlowLogs",
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": f"{logs}:{group_name}:*",
                        },
                        {
                            "Sid": "FindLogGroup",
                            "Effect": "Allow",
                            "Action": "logs:DescribeLogGroups",
                            "Resource": f"{logs}:*",
                        },
                    ],
                }
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            # One record per flow and 10 minutes, the cheapest aggregation (600 s is the default).
            max_aggregation_interval=600,
            tags={"Name": f"{name}-flow-logs"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery]),
        )

    def private_subnet_ids(self, zones: list[str] | None = None) -> list[pulumi.Output[str]]:
        """The private subnets of `zones` (all zones when None or empty)."""
        return [subnet.id for zone, subnet in self.private_subnets.items() if not zones or zone in zones]


def flow_logs_trust_policy(region: str, account_id: str) -> str:
    """The flow-logs service may assume the role for this account's flow logs only (confused
    deputy: aws:SourceAccount and aws:SourceArn, as the VPC user guide's trust policy has them)."""
    flow_logs = f"arn:{partition(region)}:ec2:{region}:{account_id}:vpc-flow-log/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": flow_logs},
                    },
                }
            ],
        }
    )
