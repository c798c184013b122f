"""VNet for an Azure CNI overlay AKS cluster: one node subnet, egress through a NAT gateway."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network


@dataclass(frozen=True)
class AksNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_cidr: str
    # With CNI overlay the subnet holds node IPs only (see stacks.aks.node_subnet_cidr).
    node_subnet_cidr: str
    tags: dict[str, str] = field(default_factory=dict)


class AksNetwork(pulumi.ComponentResource):
    egress_ip: network.PublicIPAddress
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet
    nat_gateway: network.NatGateway

    def __init__(self, name: str, args: AksNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.egress_ip = network.PublicIPAddress(
            f"{name}-egress",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=args.tags,
            opts=child,
        )
        # One static egress IP that partners can allowlist, and no SNAT port exhaustion of the
        # load balancer's outbound rules under bursty model downloads.
        self.nat_gateway = network.NatGateway(
            f"{name}-nat",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            idle_timeout_in_minutes=10,
            public_ip_addresses=[network.SubResourceArgs(id=self.egress_ip.id)],
            tags=args.tags,
            opts=child,
        )
        self.vnet = network.VirtualNetwork(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.vnet_cidr]),
            tags=args.tags,
            # Subnets are their own resources; declaring them inline too would fight over them.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=args.resource_group_name,
            virtual_network_name=self.vnet.name,
            address_prefix=args.node_subnet_cidr,
            nat_gateway=network.SubResourceArgs(id=self.nat_gateway.id),
            # No implicit internet access: egress is the NAT gateway, nothing else.
            default_outbound_access=False,
            # Lets the storage account admit this subnet while denying the internet.
            service_endpoints=[network.ServiceEndpointPropertiesFormatArgs(service="Microsoft.Storage")],
            opts=child,
        )
        self.register_outputs(
            {"vnet": self.vnet.id, "nodeSubnet": self.node_subnet.id, "egressIp": self.egress_ip.ip_address}
        )
