"""EKS network: subnets per zone with load-balancer discovery tags, NAT single or per zone."""

from __future__ import annotations

import ipaddress
import json

import pytest

from components.aws.network import INTERNAL_ELB_TAG, PUBLIC_ELB_TAG, subnet_plan

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ZONES = ["euw1-az1", "euw1-az2", "euw1-az3"]


@pytest.mark.parametrize(
    ("cidr", "zones", "private_prefix", "public_prefix"),
    [
        ("10.30.0.0/16", 3, 18, 20),
        ("10.30.0.0/16", 2, 18, 19),
        ("10.30.0.0/22", 6, 25, 28),
    ],
)
def test_subnet_plan_gives_disjoint_subnets_inside_the_vpc(cidr, zones, private_prefix, public_prefix):
    plans = subnet_plan(cidr, [f"z{i}" for i in range(zones)])
    vpc = ipaddress.ip_network(cidr)
    subnets = [ipaddress.ip_network(c) for p in plans for c in (p.private_cidr, p.public_cidr)]
    assert all(s.subnet_of(vpc) for s in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
    assert {ipaddress.ip_network(p.private_cidr).prefixlen for p in plans} == {private_prefix}
    assert {ipaddress.ip_network(p.public_cidr).prefixlen for p in plans} == {public_prefix}


def test_vpc_has_tagged_public_and_private_subnets_in_every_zone(eks):
    vpc = eks.custom("aws:ec2/vpc:Vpc")["main-vpc"]
    assert vpc["cidrBlock"] == "10.30.0.0/16"
    assert vpc["enableDnsHostnames"] is True and vpc["enableDnsSupport"] is True
    subnets = eks.custom(SUBNET)
    for zone in ZONES:
        public, private = subnets[f"main-vpc-public-{zone}"], subnets[f"main-vpc-private-{zone}"]
        assert public["availabilityZoneId"] == private["availabilityZoneId"] == zone
        assert public["tags"][PUBLIC_ELB_TAG] == "1" and INTERNAL_ELB_TAG not in public["tags"]
        assert private["tags"][INTERNAL_ELB_TAG] == "1" and PUBLIC_ELB_TAG not in private["tags"]
        assert public["mapPublicIpOnLaunch"] is False
    assert subnets["main-vpc-private-euw1-az1"]["cidrBlock"] == "10.30.0.0/18"


def test_dev_example_shares_one_nat_gateway(eks):
    nats = eks.record.of_type("aws:ec2/natGateway:NatGateway")
    assert [n.name for n in nats] == ["main-vpc-nat-euw1-az1"]
    egress = [r.inputs for r in eks.record.of_type(ROUTE) if r.name.endswith("-egress")]
    assert len(egress) == 3
    assert {r["natGatewayId"] for r in egress} == {nats[0].id}
    assert {r["destinationCidrBlock"] for r in egress} == {"0.0.0.0/0"}


def test_per_zone_nat_keeps_each_zones_egress_in_its_zone(eks_variant):
    nats = {r.name: r for r in eks_variant.record.of_type("aws:ec2/natGateway:NatGateway")}
    assert set(nats) == {f"main-vpc-nat-{zone}" for zone in ZONES}
    subnets = {r.name: r.id for r in eks_variant.record.of_type(SUBNET)}
    routes = eks_variant.custom(ROUTE)
    for zone in ZONES:
        nat = nats[f"main-vpc-nat-{zone}"]
        assert nat.inputs["subnetId"] == subnets[f"main-vpc-public-{zone}"]
        assert routes[f"main-vpc-private-{zone}-egress"]["natGatewayId"] == nat.id


def test_s3_gateway_endpoint_serves_the_private_route_tables(eks):
    endpoint = eks.custom("aws:ec2/vpcEndpoint:VpcEndpoint")["main-vpc-s3"]
    assert endpoint["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert endpoint["vpcEndpointType"] == "Gateway"
    private_tables = {
        r.id for r in eks.record.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name
    }
    assert set(endpoint["routeTableIds"]) == private_tables and len(private_tables) == 3


def test_default_security_group_allows_nothing(eks):
    group = eks.custom("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")["main-vpc-default"]
    assert group["ingress"] == [] and group["egress"] == []


def test_flow_logs_record_all_traffic_to_a_log_group_written_by_a_scoped_role(eks, eks_variant):
    (flow_log,) = eks.custom("aws:ec2/flowLog:FlowLog").values()
    vpc = eks.resource(("aws:ec2/vpc:Vpc", "main-vpc"))
    assert flow_log["vpcId"] == vpc.id and flow_log["trafficType"] == "ALL"
    group_arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/main-vpc/flow-logs"
    assert flow_log["logDestinationType"] == "cloud-watch-logs" and flow_log["logDestination"] == group_arn
    group = eks.custom("aws:cloudwatch/logGroup:LogGroup")["main-vpc-flow-logs"]
    assert group["retentionInDays"] == 90
    role = eks.custom("aws:iam/role:Role")["main-vpc-flow-logs"]
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    write, find = json.loads(eks.custom("aws:iam/rolePolicy:RolePolicy")["main-vpc-flow-logs"]["policy"])[
        "Statement"
    ]
    assert write["Resource"] == f"{group_arn}:*" and "logs:CreateLogGroup" not in write["Action"]
    assert find["Action"] == "logs:DescribeLogGroups"
    # flowLogRetentionDays: null switches them off.
    assert eks_variant.custom("aws:ec2/flowLog:FlowLog") == {}
