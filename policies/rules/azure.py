"""AKS security posture: no local accounts, Entra ID with Azure RBAC, a restricted API
server, workload identity."""

from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from .base import dig, items_of, resource_rule

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
