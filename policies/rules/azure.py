"""AKS security posture: no local accounts, Entra ID with Azure RBAC, a restricted API
server, workload identity, VNet flow logs."""

from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from .base import depends_on, dig, items_of, resource_rule, resources_of, stack_rule

AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"


@resource_rule(
    "aks-local-accounts-disabled",
    family="posture",
    types=(AKS_CLUSTER,),
    description="AKS has local accounts (the static cluster-admin kubeconfig) disabled.",
    remediation="Set disableLocalAccounts: true; admins sign in through Entra ID.",
    severity=Severity.HIGH,
)
def aks_local_accounts_disabled(args, report, config):
    if args.props.get("disableLocalAccounts") is not True:
        report("disableLocalAccounts is not true: a static admin credential can be downloaded")


@resource_rule(
    "aks-entra-rbac",
    family="posture",
    types=(AKS_CLUSTER,),
    description="AKS authenticates with managed Entra ID and authorises with Kubernetes RBAC and Azure RBAC.",
    remediation="Set enableRBAC: true and aadProfile "
    "{managed: true, enableAzureRBAC: true, adminGroupObjectIDs: [...]}.",
    severity=Severity.HIGH,
)
def aks_entra_rbac(args, report, config):
    if args.props.get("enableRBAC") is False:
        report("enableRBAC is false")
    profile = args.props.get("aadProfile")
    if profile is None:
        report("aadProfile is not set: the cluster does not use Entra ID")
        return
    if profile.get("managed") is not True:
        report("aadProfile.managed is not true")
    if profile.get("enableAzureRBAC") is not True:
        report("aadProfile.enableAzureRBAC is not true: access is not governed by Azure role assignments")


@resource_rule(
    "aks-restricted-api",
    family="posture",
    types=(AKS_CLUSTER,),
    description="The AKS API server is private, or public only to listed networks.",
    remediation="Set apiServerAccessProfile.enablePrivateCluster: true, or "
    "apiServerAccessProfile.authorizedIPRanges "
    "to the office/VPN ranges (never 0.0.0.0/0).",
    severity=Severity.HIGH,
)
def aks_restricted_api(args, report, config):
    profile = args.props.get("apiServerAccessProfile") or {}
    if profile.get("enablePrivateCluster") is True:
        return
    ranges = [str(r) for r in items_of(profile.get("authorizedIPRanges"))]
    if not ranges:
        report("the API server is public to any address: no private cluster and no authorizedIPRanges")
    for cidr in ranges:
        try:
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                report(f"apiServerAccessProfile.authorizedIPRanges allows {cidr}")
        except ValueError:
            report(f"apiServerAccessProfile.authorizedIPRanges has {cidr!r}, which is not a CIDR block")


@resource_rule(
    "aks-workload-identity",
    family="posture",
    types=(AKS_CLUSTER,),
    description="AKS issues OIDC tokens and enables workload identity, so pods need no stored secrets.",
    remediation="Set oidcIssuerProfile.enabled: true and securityProfile.workloadIdentity.enabled: true.",
)
def aks_workload_identity(args, report, config):
    if dig(args.props, "oidcIssuerProfile.enabled") is not True:
        report("oidcIssuerProfile.enabled is not true")
    if dig(args.props, "securityProfile.workloadIdentity.enabled") is not True:
        report("securityProfile.workloadIdentity.enabled is not true")


AGENT_POOL = "azure-native:containerservice:AgentPool"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOG_WORKSPACE = "azure-native:operationalinsights:Workspace"
AUDIT_CATEGORIES = ("kube-audit", "kube-audit-admin")


@resource_rule(
    "aks-encryption-at-host",
    family="posture",
    types=(AKS_CLUSTER, AGENT_POOL),
    description="Every AKS node encrypts its temp disk, disk caches and OS disk on the host.",
    remediation="Set enableEncryptionAtHost: true on every agent pool (mlplatform: azure.encryptionAtHost), "
    "after registering the subscription feature Microsoft.Compute/EncryptionAtHost once.",
    severity=Severity.MEDIUM,
)
def aks_encryption_at_host(args, report, config):
    pools = (
        items_of(args.props.get("agentPoolProfiles")) if args.resource_type == AKS_CLUSTER else [args.props]
    )
    for pool in pools:
        if pool.get("enableEncryptionAtHost") is not True:
            report(f"agent pool {pool.get('name') or args.name} does not set enableEncryptionAtHost: true")


@stack_rule(
    "aks-control-plane-logs",
    family="posture",
    description="Every AKS cluster sends its API server and audit logs to a Log Analytics workspace "
    "(how long it keeps them: control-plane-log-retention).",
    remediation="Keep mlplatform: azure.logRetentionDays set; the platform then adds the workspace and the "
    "diagnostic setting.",
    severity=Severity.MEDIUM,
)
def aks_control_plane_logs(args, report, config):
    settings = list(resources_of(args, DIAGNOSTIC_SETTING))
    for cluster in resources_of(args, AKS_CLUSTER):
        # The platform declares the setting and the workspace beside the cluster (same parent).
        mine = [s for s in settings if s.parent is cluster.parent]
        categories = {
            log.get("category") for s in mine for log in items_of(s.props.get("logs")) if log.get("enabled")
        }
        if "kube-apiserver" not in categories or not categories & set(AUDIT_CATEGORIES):
            report(
                f"AKS cluster {cluster.name} sends no kube-apiserver and audit logs anywhere: who changed "
                "what cannot be traced",
                cluster.urn,
            )


ACR = "azure-native:containerregistry:Registry"


@resource_rule(
    "acr-network-restricted",
    family="posture",
    types=(ACR,),
    description="The Azure container registry denies the internet by default: public network access off, "
    "or a firewall that admits only listed networks.",
    remediation="Set publicNetworkAccess: Disabled (nodes pull through the private endpoint), or "
    "networkRuleSet.defaultAction: Deny with ipRules for the CI and operator networks "
    "(mlplatform: the cluster's authorizedNetworks).",
    severity=Severity.HIGH,
)
def acr_network_restricted(args, report, config):
    if args.props.get("publicNetworkAccess") == "Disabled":
        return
    rules = args.props.get("networkRuleSet") or {}
    if rules.get("defaultAction") != "Deny":
        report(
            "the registry is reachable from the whole internet: publicNetworkAccess is on and the "
            "firewall allows"
        )
        return
    for rule in items_of(rules.get("ipRules")):
        cidr = rule.get("iPAddressOrRange") or ""
        if cidr and ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
            report(f"the registry firewall admits {cidr}, the whole internet")


STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"


@resource_rule(
    "aks-network-policy",
    family="posture",
    types=(AKS_CLUSTER,),
    description="AKS enforces NetworkPolicy (Cilium, Azure or Calico), so the teams' default-deny "
    "policies hold.",
    remediation="Set networkProfile.networkPolicy (the platform uses cilium with networkDataplane cilium).",
    severity=Severity.HIGH,
)
def aks_network_policy(args, report, config):
    if dig(args.props, "networkProfile.networkPolicy") in (None, "none"):
        report("networkProfile.networkPolicy is not set: NetworkPolicies are accepted but not enforced")


@resource_rule(
    "aks-upgrade-channel",
    family="posture",
    types=(AKS_CLUSTER,),
    description="AKS applies Kubernetes patches and node image updates automatically.",
    remediation="Set autoUpgradeProfile.upgradeChannel (patch or stable) and nodeOSUpgradeChannel "
    "(NodeImage).",
    severity=Severity.MEDIUM,
)
def aks_upgrade_channel(args, report, config):
    profile = args.props.get("autoUpgradeProfile") or {}
    if profile.get("upgradeChannel") in (None, "none"):
        report("autoUpgradeProfile.upgradeChannel is not set: security patches wait for a person")
    if profile.get("nodeOSUpgradeChannel") in (None, "None", "Unmanaged"):
        report("autoUpgradeProfile.nodeOSUpgradeChannel leaves node OS patches unmanaged")


@resource_rule(
    "storage-account-firewall",
    family="posture",
    types=(STORAGE_ACCOUNT,),
    description="Storage accounts deny network access by default and admit only listed subnets and ranges.",
    remediation="Set networkRuleSet.defaultAction: Deny with virtualNetworkRules for the node subnet and "
    "ipRules for the operators' networks.",
    severity=Severity.HIGH,
)
def storage_account_firewall(args, report, config):
    if args.props.get("publicNetworkAccess") == "Disabled":
        return
    if dig(args.props, "networkRuleSet.defaultAction") != "Deny":
        report("networkRuleSet.defaultAction is not Deny: the account's endpoints answer the whole internet")


VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
FLOW_LOG = "azure-native:network:FlowLog"


@stack_rule(
    "azure-vnet-flow-logs",
    family="posture",
    description="Every VNet records flow logs of its traffic, deleted after a set number of days, so traffic "
    "to and from nodes and pods can be investigated.",
    remediation="Keep mlplatform: azure.flowLogRetentionDays set; the platform then declares a Network "
    "Watcher flow log (enabled, retentionPolicy on) with the VNet as its targetResourceId.",
    severity=Severity.MEDIUM,
)
def azure_vnet_flow_logs(args, report, config):
    flow_logs = list(resources_of(args, FLOW_LOG))
    for vnet in resources_of(args, VIRTUAL_NETWORK):
        mine = [log for log in flow_logs if depends_on(log, "targetResourceId", vnet)]
        enabled = [log for log in mine if log.props.get("enabled") is True]
        if not mine:
            report(f"VNet {vnet.name} has no flow log: its traffic is not recorded", vnet.urn)
        elif not enabled:
            report(f"VNet {vnet.name}'s flow logs are not enabled: its traffic is not recorded", vnet.urn)
        for log in enabled:
            retention = log.props.get("retentionPolicy") or {}
            if retention.get("enabled") is not True or not retention.get("days"):
                report(
                    f"flow log {log.name} has no retention policy (retentionPolicy.enabled with days): its "
                    "blobs are kept, and billed, forever",
                    log.urn,
                )
