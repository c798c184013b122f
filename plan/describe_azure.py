"""One-line summaries of AKS resources in `plan preview`."""

from __future__ import annotations

from typing import Any

from components.azure.roles import ROLE_NAMES
from plan.preview import describes


def _pool(profile: dict[str, Any]) -> str:
    parts = [
        f"{profile.get('mode', '?').lower()} {profile.get('vmSize', '?')}",
        f"{profile.get('minCount')}..{profile.get('maxCount')} nodes",
    ]
    if profile.get("scaleSetPriority") == "Spot":
        price = profile.get("spotMaxPrice")
        parts.append("spot" if price in (None, -1) else f"spot <= ${price}/h")
    taints = profile.get("nodeTaints") or []
    if taints:
        parts.append("taints " + " ".join(taints))
    return ", ".join(parts)


@describes("azure-native:containerservice:AgentPool")
def _agent_pool(inputs: dict[str, Any]) -> str:
    return _pool(inputs)


@describes("azure-native:containerservice:ManagedCluster")
def _managed_cluster(inputs: dict[str, Any]) -> str:
    access = inputs.get("apiServerAccessProfile") or {}
    network = inputs.get("networkProfile") or {}
    if access.get("enablePrivateCluster"):
        endpoint = "private API"
    else:
        endpoint = f"API from {', '.join(access.get('authorizedIPRanges') or [])}"
    version = inputs.get("kubernetesVersion") or "default"
    if inputs.get("supportPlan") == "AKSLongTermSupport":
        version += " (long-term support)"
    return "; ".join(
        [
            f"{inputs.get('location')}, {(inputs.get('sku') or {}).get('tier')} tier, k8s {version}",
            f"CNI {network.get('networkPluginMode')} + {network.get('networkDataplane')}",
            endpoint,
            *(_pool(profile) for profile in inputs.get("agentPoolProfiles") or []),
        ]
    )


@describes("azure-native:authorization:RoleAssignment")
def _role_assignment(inputs: dict[str, Any]) -> str:
    role = str(inputs.get("roleDefinitionId", "?")).rsplit("/", 1)[-1]
    scope = str(inputs.get("scope", "?")).rsplit("/", 2)
    return f"{ROLE_NAMES.get(role, role)} on {'/'.join(scope[-2:])}"


@describes("azure-native:network:Subnet")
def _subnet(inputs: dict[str, Any]) -> str:
    parts = [str(inputs.get("addressPrefix", "?"))]
    delegations = [d.get("serviceName", "?") for d in inputs.get("delegations") or []]
    if delegations:
        parts.append(f"delegated to {', '.join(delegations)}")
    if inputs.get("natGateway"):
        parts.append("egress via NAT gateway")
    return ", ".join(parts)


@describes("azure-native:network:FlowLog")
def _flow_log(inputs: dict[str, Any]) -> str:
    target = str(inputs.get("targetResourceId", "?")).rsplit("/", 1)[-1]
    retention = inputs.get("retentionPolicy") or {}
    kept = f"kept {retention.get('days')} days" if retention.get("enabled") else "kept forever"
    analytics = (inputs.get("flowAnalyticsConfiguration") or {}).get(
        "networkWatcherFlowAnalyticsConfiguration"
    )
    parts = [f"flows of {target}", kept, f"under {inputs.get('networkWatcherName', '?')}"]
    if (analytics or {}).get("enabled"):
        parts.append("traffic analytics")
    return ", ".join(parts)


@describes("azure-native:servicenetworking:AssociationsInterface")
def _agc_association(inputs: dict[str, Any]) -> str:
    subnet = str((inputs.get("subnet") or {}).get("id", "?")).rsplit("/", 1)[-1]
    return f"Application Gateway for Containers in subnet {subnet}"
