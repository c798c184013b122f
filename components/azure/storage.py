"""A storage account for the cluster's buckets: one private blob container per bucket, Entra ID
access only, reachable from the node subnet and the operators' networks."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import storage

from stacks.clusters import BucketConfig

# Deleted blobs and containers stay recoverable this long.
SOFT_DELETE_DAYS = 7


@dataclass(frozen=True)
class BlobStorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    # Globally unique, 3-24 lowercase letters and digits.
    account_name: str
    sku: str
    buckets: dict[str, BucketConfig]
    # Subnets (with the Microsoft.Storage service endpoint) admitted through the firewall.
    allowed_subnet_ids: list[pulumi.Input[str]] = field(default_factory=list)
    # Public CIDRs admitted through the firewall (where operators and CI upload from).
    allowed_cidrs: list[str] = field(default_factory=list)
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class BlobStorage(pulumi.ComponentResource):
    account: storage.StorageAccount
    containers: dict[str, storage.BlobContainer]
    # Config bucket name -> container URL (account endpoint + container).
    urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: BlobStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.account = private_account(
            name,
            PrivateAccountArgs(
                resource_group_name=args.resource_group_name,
                location=args.location,
                account_name=args.account_name,
                sku=args.sku,
                allowed_subnet_ids=args.allowed_subnet_ids,
                allowed_cidrs=args.allowed_cidrs,
                # Entra ID (workload identity) only: account keys and SAS tokens cannot be used.
                shared_key_access=False,
                tags=args.tags,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        versioned = [bucket for bucket, config in args.buckets.items() if config.versioning]
        self.blob_service = storage.BlobServiceProperties(
            f"{name}-blob",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            blob_services_name="default",
            # Azure versions a whole account, not a container: on if any bucket asks for it.
            is_versioning_enabled=bool(versioned),
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=SOFT_DELETE_DAYS),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=SOFT_DELETE_DAYS
            ),
            opts=child,
        )
        self.lifecycle = None
        if versioned:
            self.lifecycle = storage.ManagementPolicy(
                f"{name}-lifecycle",
                resource_group_name=args.resource_group_name,
                account_name=self.account.name,
                management_policy_name="default",
                policy=storage.ManagementPolicySchemaArgs(
                    rules=[
                        version_expiry_rule(index, bucket, config)
                        for index, (bucket, config) in enumerate(args.buckets.items())
                    ]
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.blob_service]),
            )
        self.containers = {
            bucket: storage.BlobContainer(
                f"{name}-{bucket}",
                resource_group_name=args.resource_group_name,
                account_name=self.account.name,
                container_name=bucket,
                public_access="None",
                opts=child,
            )
            for bucket in args.buckets
        }
        self.urls = {
            bucket: pulumi.Output.concat(self.account.primary_endpoints.blob, container.name)
            for bucket, container in self.containers.items()
        }
        self.register_outputs({"account": self.account.name, "containers": self.urls})


@dataclass(frozen=True)
class PrivateAccountArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    account_name: str
    sku: str
    allowed_subnet_ids: list[pulumi.Input[str]]
    allowed_cidrs: list[str]
    # Account keys (and SAS tokens made from them) accepted besides Entra ID.
    shared_key_access: bool
    tags: dict[str, str]


def private_account(
    name: str, args: PrivateAccountArgs, opts: pulumi.ResourceOptions
) -> storage.StorageAccount:
    """A StorageV2 account with no anonymous access, TLS 1.2, double encryption at rest, and a
    firewall that denies all but the listed subnets and ranges (and trusted Azure services)."""
    return storage.StorageAccount(
        name,
        resource_group_name=args.resource_group_name,
        location=args.location,
        account_name=args.account_name,
        kind="StorageV2",
        sku=storage.SkuArgs(name=args.sku),
        access_tier="Hot",
        allow_blob_public_access=False,
        minimum_tls_version="TLS1_2",
        enable_https_traffic_only=True,
        allow_shared_key_access=args.shared_key_access,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        encryption=storage.EncryptionArgs(
            key_source="Microsoft.Storage",
            require_infrastructure_encryption=True,
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account")
            ),
        ),
        network_rule_set=storage.NetworkRuleSetArgs(
            default_action="Deny",
            bypass="AzureServices",
            virtual_network_rules=[
                storage.VirtualNetworkRuleArgs(virtual_network_resource_id=subnet, action="Allow")
                for subnet in args.allowed_subnet_ids
            ],
            ip_rules=[
                storage.IPRuleArgs(i_p_address_or_range=rule, action="Allow")
                for rule in storage_ip_rules(args.allowed_cidrs)
            ],
        ),
        tags=args.tags,
        opts=opts,
    )


def version_expiry_rule(index: int, bucket: str, config: BucketConfig) -> storage.ManagementPolicyRuleArgs:
    """Old versions are a recovery window, not an archive. Containers of unversioned buckets
    (versioning is account-wide) keep a previous version for a day only."""
    days = config.noncurrent_retention_days if config.versioning else 1
    return storage.ManagementPolicyRuleArgs(
        # Rule names take letters and digits only.
        name=f"expireversions{index}",
        type="Lifecycle",
        enabled=True,
        definition=storage.ManagementPolicyDefinitionArgs(
            actions=storage.ManagementPolicyActionArgs(
                version=storage.ManagementPolicyVersionArgs(
                    delete=storage.DateAfterCreationArgs(days_after_creation_greater_than=days)
                )
            ),
            filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{bucket}/"]),
        ),
    )


# The storage firewall refuses RFC 1918 ranges in IP rules.
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def storage_ip_rules(cidrs: list[str]) -> list[str]:
    """Storage firewall rules for CIDRs: single addresses instead of /31 and /32 ranges (which
    it refuses), and no RFC 1918 ranges (those reach it through the subnet rule)."""
    rules: list[str] = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        if any(network.subnet_of(private) for private in _RFC1918):
            continue
        if network.prefixlen >= 31:
            rules.extend(str(address) for address in network)
        else:
            rules.append(str(network))
    return rules
