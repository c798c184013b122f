"""Azure built-in roles the platform grants, by their fixed role-definition GUIDs (Azure built-in
roles reference, learn.microsoft.com/azure/role-based-access-control/built-in-roles)."""

from __future__ import annotations

from typing import Literal

from components.handle import BucketAccess

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
# Azure Kubernetes Service RBAC Cluster Admin: every Kubernetes action on the cluster it is
# assigned on (built-in roles, Containers); the deployer's, scoped to its cluster.
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER = "fbc52c3f-28ad-4303-a892-8a056630b8f1"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
# Read secret contents (learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
# listClusterUserCredential only: fetch a kubeconfig (Kubernetes RBAC decides the rest).
AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"

ROLE_NAMES = {
    ACR_PULL: "AcrPull",
    NETWORK_CONTRIBUTOR: "Network Contributor",
    AKS_RBAC_CLUSTER_ADMIN: "AKS RBAC Cluster Admin",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER: "AppGw for Containers Configuration Manager",
    READER: "Reader",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    AKS_CLUSTER_USER: "Azure Kubernetes Service Cluster User Role",
}

BLOB_ROLE_BY_ACCESS: dict[BucketAccess, str] = {
    "read": STORAGE_BLOB_DATA_READER,
    "write": STORAGE_BLOB_DATA_CONTRIBUTOR,
}

# Managed identities are service principals; saying so spares Azure a directory lookup that
# fails while a just-created identity is still replicating.
SERVICE_PRINCIPAL: Literal["ServicePrincipal"] = "ServicePrincipal"


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"
