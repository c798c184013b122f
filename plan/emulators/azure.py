"""Outputs the Azure Native provider (Azure Resource Manager) computes."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import yaml

from plan.emulators import Emulated, call, fake_certificate, resource, stable_hex, stable_ip

EMULATED_TENANT = "00000000-0000-4000-8000-0000000000aa"


def stable_guid(seed: str) -> str:
    """A GUID (object ids, client ids, role assignment names) that is the same on every run."""
    return str(uuid.UUID(stable_hex(seed, 32), version=4))


def _subscription(r: Emulated) -> str:
    return r.provider.get("subscriptionId") or "00000000-0000-4000-8000-000000000000"


def _location(r: Emulated) -> str:
    return r.get("location") or r.provider.get("location") or "westeurope"


def _name(r: Emulated, key: str) -> str:
    """The resource's name property, or the provider's autoname (logical name + suffix)."""
    return r.get(key) or f"{r.name}{r.digest(8)}"


def _group_id(r: Emulated) -> str:
    return f"/subscriptions/{_subscription(r)}/resourceGroups/{r.get('resourceGroupName')}"


def _resource_id(r: Emulated, provider_path: str) -> str:
    return f"{_group_id(r)}/providers/{provider_path}"


@resource("azure-native:resources:ResourceGroup")
def _resource_group(r: Emulated) -> dict[str, Any]:
    name = _name(r, "resourceGroupName")
    return {
        "name": name,
        "id": f"/subscriptions/{_subscription(r)}/resourceGroups/{name}",
        "location": _location(r),
    }


@resource("azure-native:network:VirtualNetwork")
def _virtual_network(r: Emulated) -> dict[str, Any]:
    name = _name(r, "virtualNetworkName")
    return {"name": name, "id": _resource_id(r, f"Microsoft.Network/virtualNetworks/{name}")}


@resource("azure-native:network:Subnet")
def _subnet(r: Emulated) -> dict[str, Any]:
    name = _name(r, "subnetName")
    path = f"Microsoft.Network/virtualNetworks/{r.get('virtualNetworkName')}/subnets/{name}"
    return {"name": name, "id": _resource_id(r, path)}


@resource("azure-native:network:NatGateway")
def _nat_gateway(r: Emulated) -> dict[str, Any]:
    name = _name(r, "natGatewayName")
    return {"name": name, "id": _resource_id(r, f"Microsoft.Network/natGateways/{name}")}


@resource("azure-native:network:PublicIPAddress")
def _public_ip(r: Emulated) -> dict[str, Any]:
    name = _name(r, "publicIpAddressName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.Network/publicIPAddresses/{name}"),
        "ipAddress": stable_ip(r.urn, prefix="20"),
    }


@resource("azure-native:managedidentity:UserAssignedIdentity")
def _user_assigned_identity(r: Emulated) -> dict[str, Any]:
    name = _name(r, "resourceName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"),
        "principalId": stable_guid(r.urn + "/principal"),
        "clientId": stable_guid(r.urn + "/client"),
        "tenantId": EMULATED_TENANT,
    }


@resource("azure-native:managedidentity:FederatedIdentityCredential")
def _federated_identity_credential(r: Emulated) -> dict[str, Any]:
    name = _name(r, "federatedIdentityCredentialResourceName")
    identity = r.get("resourceName")
    path = f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}/federatedIdentityCredentials/{name}"
    return {"name": name, "id": _resource_id(r, path)}


@resource("azure-native:authorization:RoleAssignment")
def _role_assignment(r: Emulated) -> dict[str, Any]:
    name = r.get("roleAssignmentName") or stable_guid(r.urn)
    return {"name": name, "id": f"{r.get('scope')}/providers/Microsoft.Authorization/roleAssignments/{name}"}


@resource("azure-native:containerservice:ManagedCluster")
def _managed_cluster(r: Emulated) -> dict[str, Any]:
    name = _name(r, "resourceName")
    location = _location(r)
    node_group = f"MC_{r.get('resourceGroupName')}_{name}_{location}"
    kubelet = f"{name}-agentpool"
    private = bool((r.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"))
    issuer = stable_guid(r.urn + "/oidc")
    fqdn = f"{r.get('dnsPrefix')}-{r.digest(8)}.hcp.{location}.azmk8s.io"
    return {
        "name": name,
        "identity": _identity_output(r),
        "id": _resource_id(r, f"Microsoft.ContainerService/managedClusters/{name}"),
        "fqdn": fqdn,
        "privateFQDN": f"{r.get('dnsPrefix')}-{r.digest(8)}.privatelink.{location}.azmk8s.io"
        if private
        else None,
        "nodeResourceGroup": node_group,
        "kubernetesVersion": r.get("kubernetesVersion") or "1.33",
        "currentKubernetesVersion": f"{r.get('kubernetesVersion') or '1.33'}.3",
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{EMULATED_TENANT}/{issuer}/",
        },
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": f"/subscriptions/{_subscription(r)}/resourceGroups/{node_group}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{kubelet}",
                "clientId": stable_guid(r.urn + "/kubelet-client"),
                "objectId": stable_guid(r.urn + "/kubelet-object"),
            }
        },
    }


def _identity_output(r: Emulated) -> dict[str, Any] | None:
    """Identities go in as a list of ids and come back as a map of id -> principal/client ids."""
    identity = r.get("identity")
    if not identity:
        return None
    output = {"type": identity.get("type"), "tenantId": EMULATED_TENANT}
    if "userAssigned" in (identity.get("type") or "").lower().replace(" ", ""):
        output["userAssignedIdentities"] = {
            resource_id: {
                "principalId": stable_guid(f"{resource_id}/principal"),
                "clientId": stable_guid(f"{resource_id}/client"),
            }
            for resource_id in identity.get("userAssignedIdentities") or []
        }
    else:
        output["principalId"] = stable_guid(r.urn + "/system-identity")
    return output


@resource("azure-native:containerservice:AgentPool")
def _agent_pool(r: Emulated) -> dict[str, Any]:
    name = _name(r, "agentPoolName")
    path = f"Microsoft.ContainerService/managedClusters/{r.get('resourceName')}/agentPools/{name}"
    return {"name": name, "id": _resource_id(r, path)}


@resource("azure-native:operationalinsights:Workspace")
def _log_analytics_workspace(r: Emulated) -> dict[str, Any]:
    name = _name(r, "workspaceName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.OperationalInsights/workspaces/{name}"),
        "customerId": stable_guid(f"workspace/{r.urn}"),
    }


@resource("azure-native:monitor:DiagnosticSetting")
def _diagnostic_setting(r: Emulated) -> dict[str, Any]:
    # An extension resource: its id lives under the resource it watches.
    name = _name(r, "name")
    return {
        "name": name,
        "id": f"{r.get('resourceUri')}/providers/Microsoft.Insights/diagnosticSettings/{name}",
    }


# Resources whose only outputs are their name (from the input named first, else autonamed) and
# an id under the resource group; the path may name other inputs ({privateZoneName}).
_NAMED_RESOURCES = {
    "azure-native:privatedns:PrivateZone": ("privateZoneName", "Microsoft.Network/privateDnsZones/{name}"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "virtualNetworkLinkName",
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{name}",
    ),
    "azure-native:network:PrivateEndpoint": (
        "privateEndpointName",
        "Microsoft.Network/privateEndpoints/{name}",
    ),
    "azure-native:network:NetworkWatcher": ("networkWatcherName", "Microsoft.Network/networkWatchers/{name}"),
    # A flow log is a child of the Network Watcher, in the watcher's resource group.
    "azure-native:network:FlowLog": (
        "flowLogName",
        "Microsoft.Network/networkWatchers/{networkWatcherName}/flowLogs/{name}",
    ),
    "azure-native:network:PrivateDnsZoneGroup": (
        "privateDnsZoneGroupName",
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{name}",
    ),
}


def _named_resource(name_key: str, path: str):
    def emulate(r: Emulated) -> dict[str, Any]:
        name = _name(r, name_key)
        references = {key: r.get(key) for key in re.findall(r"{(\w+)}", path) if key != "name"}
        return {"name": name, "id": _resource_id(r, path.format(name=name, **references))}

    return emulate


for _type, (_key, _path) in _NAMED_RESOURCES.items():
    resource(_type)(_named_resource(_key, _path))


@resource("azure-native:containerregistry:Registry")
def _registry(r: Emulated) -> dict[str, Any]:
    name = _name(r, "registryName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.ContainerRegistry/registries/{name}"),
        "loginServer": f"{name.lower()}.azurecr.io",
    }


@resource("azure-native:storage:StorageAccount")
def _storage_account(r: Emulated) -> dict[str, Any]:
    name = _name(r, "accountName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.Storage/storageAccounts/{name}"),
        "primaryEndpoints": {
            "blob": f"https://{name}.blob.core.windows.net/",
            "dfs": f"https://{name}.dfs.core.windows.net/",
        },
    }


@resource("azure-native:storage:BlobContainer")
def _blob_container(r: Emulated) -> dict[str, Any]:
    name = _name(r, "containerName")
    path = f"Microsoft.Storage/storageAccounts/{r.get('accountName')}/blobServices/default/containers/{name}"
    return {"name": name, "id": _resource_id(r, path)}


@resource("azure-native:storage:BlobServiceProperties")
def _blob_service(r: Emulated) -> dict[str, Any]:
    path = f"Microsoft.Storage/storageAccounts/{r.get('accountName')}/blobServices/default"
    return {"name": "default", "id": _resource_id(r, path)}


@resource("azure-native:storage:ManagementPolicy")
def _management_policy(r: Emulated) -> dict[str, Any]:
    path = f"Microsoft.Storage/storageAccounts/{r.get('accountName')}/managementPolicies/default"
    return {"name": "default", "id": _resource_id(r, path)}


@resource("azure-native:servicenetworking:TrafficControllerInterface")
def _traffic_controller(r: Emulated) -> dict[str, Any]:
    """Application Gateway for Containers."""
    name = _name(r, "trafficControllerName")
    return {
        "name": name,
        "id": _resource_id(r, f"Microsoft.ServiceNetworking/trafficControllers/{name}"),
        "configurationEndpoints": [f"{stable_hex(r.urn + '/config', 16)}.appgw.trafficcontroller.azure.net"],
        "provisioningState": "Succeeded",
    }


def _traffic_controller_child(r: Emulated, collection: str, key: str) -> tuple[str, str]:
    name = _name(r, key)
    path = (
        f"Microsoft.ServiceNetworking/trafficControllers/{r.get('trafficControllerName')}/{collection}/{name}"
    )
    return name, _resource_id(r, path)


@resource("azure-native:servicenetworking:FrontendsInterface")
def _agc_frontend(r: Emulated) -> dict[str, Any]:
    """An AGC frontend: the FQDN clients reach (CNAME a host name to it)."""
    name, resource_id = _traffic_controller_child(r, "frontends", "frontendName")
    fqdn = f"{stable_hex(r.urn, 16)}.{stable_hex(r.urn + '/region', 4)}.alb.azure.com"
    return {"name": name, "id": resource_id, "fqdn": fqdn, "provisioningState": "Succeeded"}


@resource("azure-native:servicenetworking:AssociationsInterface")
def _agc_association(r: Emulated) -> dict[str, Any]:
    name, resource_id = _traffic_controller_child(r, "associations", "associationName")
    return {"name": name, "id": resource_id, "provisioningState": "Succeeded"}


@call("azure-native:containerservice:listManagedClusterUserCredentials")
def _user_credentials(args: dict[str, Any]) -> dict[str, Any]:
    """What AKS returns for an Entra ID cluster: a kubeconfig whose user runs kubelogin."""
    cluster = args.get("resourceName", "cluster")
    group = args.get("resourceGroupName", "group")
    seed = f"{group}/{cluster}"
    server = f"https://{cluster}-{stable_hex(seed, 8)}.hcp.westeurope.azmk8s.io:443"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": fake_certificate(seed)},
            }
        ],
        "contexts": [
            {"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{group}_{cluster}"}}
        ],
        "current-context": cluster,
        "users": [
            {
                "name": f"clusterUser_{group}_{cluster}",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": [
                            "get-token",
                            "--login",
                            "devicecode",
                            "--server-id",
                            "6dae42f8-4368-4678-94ff-3960e28e3630",
                        ],
                    }
                },
            }
        ],
    }
    value = base64.b64encode(yaml.safe_dump(document).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}


@call("azure-native:network:getNetworkWatcher")
def _network_watcher(args: dict[str, Any]) -> dict[str, Any]:
    """A subscription with a VNet in the region already: Azure's watcher is there (a test may
    emulate a fresh region, whose lookup fails with ResourceNotFound)."""
    return {
        "name": args.get("networkWatcherName"),
        "location": args.get("location") or "",
        "provisioningState": "Succeeded",
        "type": "Microsoft.Network/networkWatchers",
    }
