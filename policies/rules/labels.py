"""Ownership labels and tags: who owns a resource, which environment it serves and which cost
centre pays, on every cloud resource that can carry them."""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_policy import Severity

from .base import dig, is_mapping, mapping_of, provider_props, provider_value, resource_rule


@dataclass(frozen=True)
class LabelField:
    path: str
    # The provider's default labels/tags are merged into this field by the provider itself
    # (GCP `defaultLabels` into top-level labels, AWS `defaultTags` into `tags`).
    provider_defaults: bool = True


# Taggable types the platform declares, and where their labels live. tests/policies checks
# this list against the installed SDKs for every type in the shipped stacks and examples.
GCP_TAGGABLE = {
    "gcp:container/cluster:Cluster": LabelField("resourceLabels"),
    # Labels of the node VMs; the provider's default labels do not reach nested fields.
    "gcp:container/nodePool:NodePool": LabelField("nodeConfig.resourceLabels", provider_defaults=False),
    "gcp:storage/bucket:Bucket": LabelField("labels"),
    "gcp:artifactregistry/repository:Repository": LabelField("labels"),
    "gcp:compute/globalAddress:GlobalAddress": LabelField("labels"),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": LabelField("labels"),
    "gcp:certificatemanager/certificate:Certificate": LabelField("labels"),
    "gcp:certificatemanager/certificateMap:CertificateMap": LabelField("labels"),
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": LabelField("labels"),
}
AWS_TAGGABLE = {
    token: LabelField("tags")
    for token in (
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/addon:Addon",
        "aws:eks/accessEntry:AccessEntry",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "aws:ec2/flowLog:FlowLog",
        "aws:kms/key:Key",
        "aws:iam/role:Role",
        "aws:iam/policy:Policy",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:ecr/repository:Repository",
        "aws:s3/bucket:Bucket",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:acm/certificate:Certificate",
    )
}
AZURE_TAGGABLE = {
    token: LabelField("tags", provider_defaults=False)
    for token in (
        "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NatGateway",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:FlowLog",
        "azure-native:network:NetworkWatcher",
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:AgentPool",
        "azure-native:containerregistry:Registry",
        "azure-native:storage:StorageAccount",
        "azure-native:operationalinsights:Workspace",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:network:PrivateEndpoint",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:servicenetworking:TrafficControllerInterface",
        "azure-native:servicenetworking:FrontendsInterface",
        "azure-native:servicenetworking:AssociationsInterface",
    )
}
TAGGABLE: dict[str, LabelField] = {**GCP_TAGGABLE, **AWS_TAGGABLE, **AZURE_TAGGABLE}


def provider_defaults(args) -> dict[str, str]:
    """Labels/tags the resource's provider adds to everything it creates."""
    props = provider_props(args)
    if args.resource_type.startswith("gcp:"):
        return mapping_of(provider_value(props.get("defaultLabels")))
    if args.resource_type.startswith("aws:"):
        default_tags = provider_value(props.get("defaultTags"))
        return mapping_of(default_tags.get("tags")) if is_mapping(default_tags) else {}
    return {}


def effective_labels(args) -> dict[str, str]:
    field = TAGGABLE[args.resource_type]
    labels = provider_defaults(args) if field.provider_defaults else {}
    labels.update(mapping_of(dig(args.props, field.path)))
    return labels


@resource_rule(
    "labels-ownership",
    family="labels",
    types=tuple(TAGGABLE),
    description="Every taggable cloud resource carries owner, environment and cost-center labels/tags.",
    remediation="Set mlplatform:ownership {owner, costCenter} in the stack file; components pass "
    "stack.labels to "
    "every resource (or to the provider's defaultLabels/defaultTags).",
    severity=Severity.LOW,
    config={
        "requiredKeys": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["owner", "environment", "cost-center"],
        }
    },
)
def labels_ownership(args, report, config):
    labels = effective_labels(args)
    missing = [key for key in config["requiredKeys"] if not str(labels.get(key) or "").strip()]
    if missing:
        field = TAGGABLE[args.resource_type].path
        report(f"{field} lacks {', '.join(missing)}")
