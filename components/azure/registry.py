"""Azure Container Registry: Entra ID pulls only, untagged manifests expire, AcrPull for nodes,
reachable from the cluster's VNet through a private endpoint and from the internet only from
the listed networks."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, containerregistry, network, privatedns

from components.azure.roles import ACR_PULL, SERVICE_PRINCIPAL, role_definition_id


@dataclass(frozen=True)
class AcrRegistryArgs:
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    # Globally unique, 5-50 letters and digits.
    registry_name: str
    untagged_retention_days: int
    zone_redundant: bool = False
    # Principal (object) ids allowed to pull: the kubelet identity.
    pullers: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Nodes pull through a private endpoint in this subnet, resolved by a private DNS zone
    # linked to this VNet (learn.microsoft.com/azure/container-registry/container-registry-private-link).
    private_endpoint_subnet_id: pulumi.Input[str] | None = None
    virtual_network_id: pulumi.Input[str] | None = None
    # The only internet networks that reach the registry (CI runners, operators); none: public
    # network access is disabled and pushes come from inside the VNet.
    allowed_cidrs: list[str] = field(default_factory=list)
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class AcrRegistry(pulumi.ComponentResource):
    registry: containerregistry.Registry
    url: pulumi.Output[str]

    def __init__(self, name: str, args: AcrRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.registry = containerregistry.Registry(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            registry_name=args.registry_name,
            # Premium: the retention policy for untagged manifests (and private endpoints,
            # zone redundancy) exist only there.
            sku=containerregistry.SkuArgs(name="Premium"),
            # Pulls and pushes authenticate with Entra ID; no shared admin password.
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            # Deny by default; the listed networks only (Premium: network_rule_set, ACR firewall).
            public_network_access="Enabled" if args.allowed_cidrs else "Disabled",
            network_rule_set=containerregistry.NetworkRuleSetArgs(
                default_action="Deny",
                ip_rules=[
                    containerregistry.IPRuleArgs(i_p_address_or_range=cidr, action="Allow")
                    for cidr in args.allowed_cidrs
                ],
            ),
            network_rule_bypass_options="AzureServices",
            zone_redundancy="Enabled" if args.zone_redundant else "Disabled",
            policies=containerregistry.PoliciesArgs(
                retention_policy=containerregistry.RetentionPolicyArgs(
                    days=args.untagged_retention_days, status="enabled"
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.pull_grants = [
            authorization.RoleAssignment(
                f"{name}-pull-{puller}",
                principal_id=principal_id,
                principal_type=SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(args.subscription_id, ACR_PULL),
                scope=self.registry.id,
                description=f"{puller} pulls images from {args.registry_name}",
                opts=child,
            )
            for puller, principal_id in args.pullers.items()
        ]
        self.private_access: list[pulumi.Resource] = []
        if args.private_endpoint_subnet_id is not None and args.virtual_network_id is not None:
            self.private_access = self._private_endpoint(name, args, child)
        self.url = self.registry.login_server
        self.register_outputs({"loginServer": self.url})

    def _private_endpoint(
        self, name: str, args: AcrRegistryArgs, child: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """The endpoint, and the DNS that sends `<registry>.azurecr.io` (and its regional data
        endpoint) to it from inside the VNet; what a pull from a node needs before it works."""
        zone = privatedns.PrivateZone(
            f"{name}-dns",
            resource_group_name=args.resource_group_name,
            private_zone_name="privatelink.azurecr.io",
            location="global",
            tags=args.tags,
            opts=child,
        )
        link = privatedns.VirtualNetworkLink(
            f"{name}-dns-vnet",
            resource_group_name=args.resource_group_name,
            private_zone_name=zone.name,
            location="global",
            virtual_network=privatedns.SubResourceArgs(id=args.virtual_network_id),
            registration_enabled=False,
            tags=args.tags,
            opts=child,
        )
        endpoint = network.PrivateEndpoint(
            f"{name}-endpoint",
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet=network.SubnetArgs(id=args.private_endpoint_subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name="registry", private_link_service_id=self.registry.id, group_ids=["registry"]
                )
            ],
            tags=args.tags,
            opts=child,
        )
        records = network.PrivateDnsZoneGroup(
            f"{name}-endpoint-dns",
            resource_group_name=args.resource_group_name,
            private_endpoint_name=endpoint.name,
            private_dns_zone_group_name="registry",
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name="registry", private_dns_zone_id=zone.id)
            ],
            opts=child,
        )
        return [link, records]
