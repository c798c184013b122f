"""AKS workload identity: a Kubernetes ServiceAccount acts as a user-assigned managed identity,
federated with the cluster's OIDC issuer, with a data-plane role on exactly its containers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import authorization, managedidentity

from components.azure.roles import BLOB_ROLE_BY_ACCESS, SERVICE_PRINCIPAL, role_definition_id
from components.handle import BucketAccess, IdentityBinding

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
    tags: dict[str, str] = field(default_factory=dict)

    def bind(
        self,
        name: str,
        namespace: str,
        service_account: str,
        buckets: dict[str, BucketAccess],
        parent: pulumi.Resource,
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
