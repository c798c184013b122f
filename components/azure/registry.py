"""Azure Container Registry: Entra ID pulls only, untagged manifests expire, AcrPull for nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, containerregistry

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
        self.url = self.registry.login_server
        self.register_outputs({"loginServer": self.url})
