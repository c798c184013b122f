"""AKS workload identity: a Kubernetes ServiceAccount acts as a user-assigned managed identity,
federated with the cluster's OIDC issuer, with a data-plane role on exactly its containers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization, managedidentity

from components.azure.roles import (
    BLOB_ROLE_BY_ACCESS,
    KEY_VAULT_SECRETS_USER,
    SERVICE_PRINCIPAL,
    role_definition_id,
)
from components.handle import BucketAccess, IdentityBinding, SecretProvider, SecretReference

# The audience AKS's projected service-account tokens carry for Entra ID token exchange.
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
# The AKS webhook only injects the token volume and AZURE_* variables into labelled pods.
USE_LABEL = "azure.workload.identity/use"


@dataclass(frozen=True)
class WorkloadIdentityBindingArgs:
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]
    namespace: str
    service_account: str
    # Config bucket name -> (container resource id, access).
    containers: dict[str, tuple[pulumi.Input[str], BucketAccess]]
    # Key Vault secret resource ids (<vault id>/secrets/<name>) the identity may read.
    secret_ids: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class WorkloadIdentityBinding(pulumi.ComponentResource):
    identity: managedidentity.UserAssignedIdentity
    client_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkloadIdentityBindingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mlplatform:azure:WorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags={**args.tags, "kubernetes-service-account": f"{args.namespace}.{args.service_account}"},
            opts=child,
        )
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=args.resource_group_name,
            resource_name_=self.identity.name,
            issuer=args.oidc_issuer_url,
            subject=service_account_subject(args.namespace, args.service_account),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        self.grants = {
            bucket: authorization.RoleAssignment(
                f"{name}-{bucket}",
                principal_id=self.identity.principal_id,
                principal_type=SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(args.subscription_id, BLOB_ROLE_BY_ACCESS[access]),
                # The container, not the account: a model reaches only the buckets it names.
                scope=container_id,
                description=f"{args.namespace}/{args.service_account} {access}s bucket {bucket}",
                opts=child,
            )
            for bucket, (container_id, access) in args.containers.items()
        }
        # Key Vault Secrets User on each named secret, not the vault (Key Vault RBAC scopes down to
        # an individual secret: learn.microsoft.com/azure/key-vault/general/rbac-guide, "Secret
        # scope role assignment").
        self.secret_grants = {
            secret: authorization.RoleAssignment(
                f"{name}-secret-{secret}",
                principal_id=self.identity.principal_id,
                principal_type=SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(args.subscription_id, KEY_VAULT_SECRETS_USER),
                scope=secret_id,
                description=f"{args.namespace}/{args.service_account} reads secret {secret}",
                opts=child,
            )
            for secret, secret_id in sorted(args.secret_ids.items())
        }
        self.client_id = self.identity.client_id
        self.register_outputs({"clientId": self.client_id, "principalId": self.identity.principal_id})


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass(frozen=True)
class AksWorkloadIdentity:
    """The `WorkloadIdentity` of one AKS cluster (components.handle)."""

    provider: azure_native.Provider
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]
    # Config bucket name -> blob container resource id.
    container_ids: dict[str, pulumi.Input[str]]
    # The Key Vault models read secrets from (resource id), if any.
    key_vault_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def bind(
        self,
        name: str,
        namespace: str,
        service_account: str,
        buckets: dict[str, BucketAccess],
        parent: pulumi.Resource,
        secrets: tuple[SecretReference, ...] = (),
    ) -> IdentityBinding:
        unknown = sorted(set(buckets) - set(self.container_ids))
        if unknown:
            raise ValueError(
                f"{namespace}/{service_account} asks for bucket(s) {', '.join(unknown)}, "
                f"which the cluster does not have ({', '.join(sorted(self.container_ids)) or 'none'})"
            )
        binding = WorkloadIdentityBinding(
            name,
            WorkloadIdentityBindingArgs(
                subscription_id=self.subscription_id,
                resource_group_name=self.resource_group_name,
                location=self.location,
                oidc_issuer_url=self.oidc_issuer_url,
                namespace=namespace,
                service_account=service_account,
                containers={
                    bucket: (self.container_ids[bucket], access) for bucket, access in buckets.items()
                },
                secret_ids={s.name: f"{self.key_vault_id}/secrets/{s.name}" for s in secrets},
                tags=self.tags,
            ),
            # The parent is a Kubernetes component: the Azure provider must be given explicitly.
            opts=pulumi.ResourceOptions(parent=parent, providers={"azure-native": self.provider}),
        )
        return IdentityBinding(
            service_account_annotations={CLIENT_ID_ANNOTATION: binding.client_id},
            pod_labels={USE_LABEL: "true"},
            client_id=binding.client_id,
        )


@dataclass(frozen=True)
class AksSecretStore:
    """Key Vault through AKS's Key Vault provider add-on (azureKeyvaultSecretsProvider), as the
    pod's workload identity (Azure/secrets-store-csi-driver-provider-azure@d5f7cf5,
    website/.../identity-access-modes/workload-identity-mode.md: usePodIdentity "false",
    clientID, keyvaultName, tenantID, `objects.array` of objectName/objectType/objectVersion,
    objectAlias for the file name)."""

    key_vault_name: str
    tenant_id: str
    ready: tuple[pulumi.Resource, ...] = ()

    def provider(self, files: dict[str, SecretReference], binding: IdentityBinding) -> SecretProvider:
        assert binding.client_id is not None  # every AKS binding has an identity
        # The documented layout: `array` of block strings, each one object's YAML.
        lines = ["array:"]
        for alias, s in files.items():
            lines.append("  - |")
            fields = {
                "objectName": s.name,
                "objectType": "secret",
                "objectAlias": alias,
                # Empty: the current version.
                "objectVersion": "" if s.version == "latest" else s.version,
            }
            lines.extend(f"    {key}: {json.dumps(value)}" for key, value in fields.items())
        return SecretProvider(
            csi_driver="secrets-store.csi.k8s.io",
            provider="azure",
            parameters={
                "usePodIdentity": "false",
                "clientID": binding.client_id,
                "keyvaultName": self.key_vault_name,
                "tenantID": self.tenant_id,
                "objects": "\n".join(lines) + "\n",
            },
        )
