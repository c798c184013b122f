"""VNet for an Azure CNI overlay AKS cluster: one node subnet, egress through a NAT gateway;
the region's Network Watcher and the VNet's flow logs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, resources, storage

from components.azure.storage import PrivateAccountArgs, private_account


@dataclass(frozen=True)
class AksNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vnet_cidr: str
    # With CNI overlay the subnet holds node IPs only (see stacks.aks.node_subnet_cidr).
    node_subnet_cidr: str
    tags: dict[str, str] = field(default_factory=dict)
    # What the VNet waits for (the region's Network Watcher: RegionalNetworkWatcher).
    after: list[pulumi.Resource] = field(default_factory=list)


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
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"], depends_on=args.after),
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


@dataclass(frozen=True)
class TrafficAnalyticsWorkspace:
    """The Log Analytics workspace traffic analytics writes to."""

    resource_id: pulumi.Input[str]
    # The workspace's GUID (customerId).
    customer_id: pulumi.Input[str]
    location: str


def network_watcher_exists(resource_group_name: str, name: str, parent: pulumi.Resource) -> bool:
    """Whether the subscription already has the region's watcher. The lookup fails with Azure's
    ResourceNotFound / ResourceGroupNotFound (HTTP 404) when it does not; any other failure
    (credentials, throttling) is raised as it is."""
    try:
        network.get_network_watcher(
            resource_group_name=resource_group_name,
            network_watcher_name=name,
            opts=pulumi.InvokeOptions(parent=parent),
        )
    except Exception as error:
        if "NotFound" in str(error) or "404" in str(error):
            return False
        raise
    return True


@dataclass(frozen=True)
class NetworkWatcherArgs:
    subscription_id: str
    location: str
    # Azure's own: NetworkWatcherRG / NetworkWatcher_<location> (stacks.aks.network_watcher).
    resource_group_name: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


class RegionalNetworkWatcher(pulumi.ComponentResource):
    """The region's Network Watcher, which flow logs are children of, made sure of before the
    VNet. Azure allows one per subscription and region and creates it itself when a VNet is
    created there (network-watcher-create), but not before the next resource may need it: a flow
    log declared right after the first VNet of a region fails with NetworkWatcherRG not found
    (Azure/AKS-Construction#410, fixed in #425 by creating the group and the watcher first).

    So the watcher is adopted when it exists (`import`, in every later state a no-op: pulumi/
    pulumi#19339) and created when it does not, before the VNet, which then finds it. Either way
    it is retained on destroy: it is the subscription's, and deleting it would delete every other
    VNet's flow logs (its children). Tags are the platform's only where it created them."""

    resource_group: resources.ResourceGroup
    watcher: network.NetworkWatcher

    def __init__(self, name: str, args: NetworkWatcherArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:NetworkWatcher", name, None, opts)
        exists = network_watcher_exists(args.resource_group_name, args.name, self)
        group_id = f"/subscriptions/{args.subscription_id}/resourceGroups/{args.resource_group_name}"

        def adopted(resource_id: str, ignored: list[str]) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self,
                import_=resource_id if exists else None,
                retain_on_delete=True,
                ignore_changes=ignored,
            )

        # One group holds the watchers of every region, in the region of the subscription's first
        # VNet: its location is ignored as well, or adopting it from another region would
        # differ on a replace-only property and fail the import.
        self.resource_group = resources.ResourceGroup(
            f"{name}-group",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=adopted(group_id, ["tags", "location"]),
        )
        self.watcher = network.NetworkWatcher(
            name,
            network_watcher_name=args.name,
            resource_group_name=self.resource_group.name,
            location=args.location,
            tags=args.tags,
            opts=adopted(f"{group_id}/providers/Microsoft.Network/networkWatchers/{args.name}", ["tags"]),
        )
        self.register_outputs({"id": self.watcher.id, "adopted": exists})


@dataclass(frozen=True)
class AksFlowLogsArgs:
    vnet_id: pulumi.Input[str]
    location: str
    # Where the flow logs' storage account goes (the platform's resource group).
    resource_group_name: pulumi.Input[str]
    # (resource group, name) of the region's Network Watcher, which the flow log belongs to.
    network_watcher: tuple[str, str]
    # Globally unique, 3-24 lowercase letters and digits.
    storage_account_name: str
    storage_sku: str
    # Days a flow log blob is kept (the flow log's retention policy deletes it after that).
    retention_days: int
    # Public CIDRs admitted through the storage firewall (where operators read the logs from).
    allowed_cidrs: list[str] = field(default_factory=list)
    # Traffic analytics into this workspace; None: declared off.
    traffic_analytics: TrafficAnalyticsWorkspace | None = None
    # What makes sure the watcher exists (RegionalNetworkWatcher), when the platform does.
    watcher_ready: list[pulumi.Resource] = field(default_factory=list)
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class AksFlowLogs(pulumi.ComponentResource):
    """VNet flow logs: every flow through the VNet's workloads, written as JSON blobs each minute
    (learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview). NSG flow logs are not
    an option: new ones cannot be created since 30 June 2025 (nsg-flow-logs-overview, retirement
    note)."""

    storage_account: storage.StorageAccount
    flow_log: network.FlowLog

    def __init__(self, name: str, args: AksFlowLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:FlowLogs", name, None, opts)
        # A storage account of their own: flow logs write with the account's keys (rotating them
        # stops the flow logs: vnet-flow-logs-overview, "Self-managed key rotation"), while the
        # buckets' account admits Entra ID only. Standard tier, same region as the VNet (ibid.);
        # the firewall's trusted-services exception (bypass AzureServices) lets Network Watcher in
        # (Network Watcher FAQ, "flow logs with a storage account behind a firewall").
        self.storage_account = private_account(
            name,
            PrivateAccountArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                account_name=args.storage_account_name,
                sku=args.storage_sku,
                allowed_subnet_ids=[],
                allowed_cidrs=args.allowed_cidrs,
                shared_key_access=True,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        watcher_group, watcher_name = args.network_watcher
        analytics = args.traffic_analytics
        # The flow log names the region's watcher as its parent (RegionalNetworkWatcher, or the
        # one `azure.networkWatcher` names).
        self.flow_log = network.FlowLog(
            name,
            resource_group_name=watcher_group,
            network_watcher_name=watcher_name,
            location=args.location,
            target_resource_id=args.vnet_id,
            storage_id=self.storage_account.id,
            enabled=True,
            # As the ARM reference's VNet flow log sample has it (networkWatchers/flowLogs, Bicep).
            format=network.FlowLogFormatParametersArgs(type="JSON", version=2),
            retention_policy=network.RetentionPolicyParametersArgs(enabled=True, days=args.retention_days),
            # Declared off rather than left out, so that turning it off in config stops the charge.
            flow_analytics_configuration=network.TrafficAnalyticsPropertiesArgs(
                network_watcher_flow_analytics_configuration=network.TrafficAnalyticsConfigurationPropertiesArgs(
                    enabled=True,
                    workspace_id=analytics.customer_id,
                    workspace_region=analytics.location,
                    workspace_resource_id=analytics.resource_id,
                )
                if analytics
                else network.TrafficAnalyticsConfigurationPropertiesArgs(enabled=False)
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.watcher_ready),
        )
        self.register_outputs({"flowLog": self.flow_log.id, "storageAccount": self.storage_account.name})
