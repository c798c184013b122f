"""GKE security posture: private nodes, Workload Identity, shielded nodes, a restricted
control plane, least-privilege node identities, NetworkPolicy enforcement, node
auto-repair and auto-upgrade; no public IAM grants anywhere on Google Cloud."""

from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from .base import dig, is_mapping, items_of, resource_rule

GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


@resource_rule(
    "gke-private-nodes",
    family="posture",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
    description="GKE nodes have private IP addresses only.",
    remediation="Set privateClusterConfig.enablePrivateNodes: true on the cluster and do not override it "
    "per node "
    "pool; "
    "nodes reach the internet through Cloud NAT.",
    severity=Severity.HIGH,
)
def gke_private_nodes(args, report, config):
    if args.resource_type == GKE_CLUSTER:
        if dig(args.props, "privateClusterConfig.enablePrivateNodes") is not True:
            report("privateClusterConfig.enablePrivateNodes is not true: nodes get public IP addresses")
    elif dig(args.props, "networkConfig.enablePrivateNodes") is False:
        report("networkConfig.enablePrivateNodes is false: this pool's nodes get public IP addresses")


@resource_rule(
    "gke-workload-identity",
    family="posture",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
    description="GKE clusters enable Workload Identity and node pools serve it (GKE metadata server).",
    remediation="Set workloadIdentityConfig.workloadPool: <project>.svc.id.goog on the cluster and "
    "nodeConfig.workloadMetadataConfig.mode: GKE_METADATA on every node pool.",
    severity=Severity.HIGH,
)
def gke_workload_identity(args, report, config):
    if args.resource_type == GKE_CLUSTER:
        pool = dig(args.props, "workloadIdentityConfig.workloadPool")
        if not pool:
            report("workloadIdentityConfig.workloadPool is not set: pods would use the node's identity")
        elif not str(pool).endswith(".svc.id.goog"):
            report(f"workloadIdentityConfig.workloadPool {pool!r} is not a <project>.svc.id.goog pool")
    elif dig(args.props, "nodeConfig.workloadMetadataConfig.mode") != "GKE_METADATA":
        report(
            "nodeConfig.workloadMetadataConfig.mode is not GKE_METADATA: pods can read the node's credentials"
        )


@resource_rule(
    "gke-shielded-nodes",
    family="posture",
    types=(GKE_CLUSTER, GKE_NODE_POOL),
    description="GKE nodes are shielded VMs with secure boot and integrity monitoring.",
    remediation="Set enableShieldedNodes: true on the cluster and nodeConfig.shieldedInstanceConfig "
    "{enableSecureBoot: true, enableIntegrityMonitoring: true} on every node pool.",
)
def gke_shielded_nodes(args, report, config):
    if args.resource_type == GKE_CLUSTER:
        if args.props.get("enableShieldedNodes") is not True:
            report("enableShieldedNodes is not true")
        return
    for key in ("enableSecureBoot", "enableIntegrityMonitoring"):
        if dig(args.props, f"nodeConfig.shieldedInstanceConfig.{key}") is not True:
            report(f"nodeConfig.shieldedInstanceConfig.{key} is not true")


@resource_rule(
    "gke-restricted-endpoint",
    family="posture",
    types=(GKE_CLUSTER,),
    description="The GKE control plane is private or reachable only from listed networks.",
    remediation="Set privateClusterConfig.enablePrivateEndpoint: true, or list the office/VPN ranges in "
    "masterAuthorizedNetworksConfig.cidrBlocks (no 0.0.0.0/0) with gcpPublicCidrsAccessEnabled: false.",
    severity=Severity.HIGH,
)
def gke_restricted_endpoint(args, report, config):
    if dig(args.props, "privateClusterConfig.enablePrivateEndpoint") is True:
        return
    authorized = args.props.get("masterAuthorizedNetworksConfig")
    if not is_mapping(authorized):
        report("the public endpoint accepts any address: masterAuthorizedNetworksConfig is not set")
        return
    blocks = [str(b.get("cidrBlock")) for b in items_of(authorized.get("cidrBlocks"))]
    if not blocks:
        report(
            "masterAuthorizedNetworksConfig lists no cidrBlocks, so only private access would remain implicit"
        )
    for block in blocks:
        if _is_everywhere(block):
            report(f"masterAuthorizedNetworksConfig allows {block}")
    if authorized.get("gcpPublicCidrsAccessEnabled") is not False:
        report(
            "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is not false: any GCP VM can "
            "reach the API"
        )


def _is_everywhere(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


@resource_rule(
    "gke-node-service-account",
    family="posture",
    types=(GKE_NODE_POOL,),
    description="GKE nodes run as a dedicated least-privilege service account, not the Compute Engine "
    "default.",
    remediation="Set nodeConfig.serviceAccount to the platform's node service account "
    "(components/gcp/identity.py).",
    severity=Severity.HIGH,
)
def gke_node_service_account(args, report, config):
    account = dig(args.props, "nodeConfig.serviceAccount")
    if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
        report(
            f"nodeConfig.serviceAccount is {account or 'unset'}: nodes would run as the Compute Engine "
            "default (Editor)"
        )


@resource_rule(
    "gke-network-policy-enforcement",
    family="posture",
    types=(GKE_CLUSTER,),
    description="GKE enforces NetworkPolicy (Dataplane V2 or the Calico add-on).",
    remediation="Set datapathProvider: ADVANCED_DATAPATH (or networkPolicy.enabled: true).",
)
def gke_network_policy_enforcement(args, report, config):
    if args.props.get("datapathProvider") == "ADVANCED_DATAPATH":
        return
    if dig(args.props, "networkPolicy.enabled") is True:
        return
    report(
        "NetworkPolicies would be accepted but not enforced: no Dataplane V2 and networkPolicy is not enabled"
    )


@resource_rule(
    "gke-node-auto-repair-upgrade",
    family="posture",
    types=(GKE_NODE_POOL,),
    description="GKE node pools repair and upgrade their nodes automatically.",
    remediation="Set management {autoRepair: true, autoUpgrade: true}.",
)
def gke_node_auto_repair_upgrade(args, report, config):
    for key in ("autoRepair", "autoUpgrade"):
        if dig(args.props, f"management.{key}") is False:
            report(f"management.{key} is false")


@resource_rule(
    "gcp-no-public-iam",
    family="posture",
    types=(
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:storage/bucketIAMBinding:BucketIAMBinding",
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:projects/iAMBinding:IAMBinding",
        "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:serviceaccount/iAMBinding:IAMBinding",
    ),
    description="No Google Cloud IAM grant goes to allUsers or allAuthenticatedUsers.",
    remediation="Grant the role to the service account or group that needs it.",
    severity=Severity.CRITICAL,
)
def gcp_no_public_iam(args, report, config):
    members = [args.props.get("member"), *items_of(args.props.get("members"))]
    for member in members:
        if member in PUBLIC_MEMBERS:
            report(f"grants {args.props.get('role')} to {member}: anyone on the internet")


GCP_SUBNET = "gcp:compute/subnetwork:Subnetwork"


@resource_rule(
    "gke-legacy-abac-off",
    family="posture",
    types=(GKE_CLUSTER,),
    description="GKE authorises with RBAC alone: legacy ABAC, which grants broad static permissions, is off.",
    remediation="Leave enableLegacyAbac unset or false.",
    severity=Severity.HIGH,
)
def gke_legacy_abac_off(args, report, config):
    if args.props.get("enableLegacyAbac") is True:
        report("enableLegacyAbac is true: ABAC grants bypass the namespaces' RBAC")


@resource_rule(
    "gke-release-channel",
    family="posture",
    types=(GKE_CLUSTER,),
    description="GKE clusters follow a release channel, so control plane and nodes get security patches.",
    remediation="Set releaseChannel.channel to RAPID, REGULAR, STABLE or EXTENDED "
    "(mlplatform: gcp.releaseChannel).",
    severity=Severity.MEDIUM,
)
def gke_release_channel(args, report, config):
    channel = dig(args.props, "releaseChannel.channel")
    if channel in (None, "UNSPECIFIED"):
        report("no release channel: patch upgrades are left to a person")


@resource_rule(
    "gcp-subnet-flow-logs",
    family="posture",
    types=(GCP_SUBNET,),
    description="VPC subnets record flow logs, so traffic to and from nodes and pods can be investigated.",
    remediation="Set logConfig (aggregationInterval, flowSampling, metadata) on the subnet.",
    severity=Severity.MEDIUM,
)
def gcp_subnet_flow_logs(args, report, config):
    if not is_mapping(args.props.get("logConfig")):
        report("the subnet has no logConfig: its flows are not logged")


@resource_rule(
    "gke-intranode-visibility",
    family="posture",
    types=(GKE_CLUSTER,),
    description="Pod-to-pod traffic on one GKE node goes through the VPC, so flow logs and firewall rules "
    "see it too.",
    remediation="Set enableIntranodeVisibility: true (no charge of its own; more flow-log volume).",
    severity=Severity.LOW,
)
def gke_intranode_visibility(args, report, config):
    if args.props.get("enableIntranodeVisibility") is not True:
        report("enableIntranodeVisibility is not true: same-node pod traffic is missing from the flow logs")
