"""Least-privilege Google service accounts for nodes (and, later, workloads)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import yaml

from components.handle import BucketAccess, IdentityBinding, SecretProvider, SecretReference

# GKE's one predefined role for node service accounts (logging, monitoring, autoscaling
# metrics), replacing the five legacy roles ("Use least privilege IAM service accounts",
# cloud.google.com/kubernetes-engine/docs/how-to/service-accounts); image pulls are granted on
# the registry repository itself, not project-wide.
NODE_ROLE = "roles/container.defaultNodeServiceAccount"


def account_id(*parts: str) -> str:
    """A service-account id (6-30 chars, unique per project) that still says what it is."""
    readable = "-".join(parts)
    digest = hashlib.sha256(readable.encode()).hexdigest()[:6]
    return f"{readable[:23].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class NodeIdentityArgs:
    project: str
    account_id: str
    display_name: str


class NodeIdentity(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account
    email: pulumi.Output[str]

    def __init__(self, name: str, args: NodeIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:NodeIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            name, account_id=args.account_id, display_name=args.display_name, opts=child
        )
        self.email = self.account.email
        self.member = self.account.member  # "serviceAccount:<email>"
        # The five legacy role grants this replaces are deleted, not aliased: different roles.
        self.role = gcp.projects.IAMMember(
            f"{name}-default-node-role", project=args.project, role=NODE_ROLE, member=self.member, opts=child
        )
        self.register_outputs({"email": self.email})


# Bucket access -> the narrowest predefined role that allows it.
BUCKET_ROLES = {"read": "roles/storage.objectViewer", "write": "roles/storage.objectUser"}


class GkeWorkloadIdentity:
    """Workload Identity for GKE: a Google service account per Kubernetes ServiceAccount,
    bound with roles/iam.workloadIdentityUser and granted exactly its buckets."""

    def __init__(
        self,
        project: str,
        prefix: str,
        provider: pulumi.ProviderResource,
        buckets: dict[str, pulumi.Output[str]],
        cluster: pulumi.Resource,
    ):
        self.project = project
        # The project's identity pool (<project>.svc.id.goog) exists only once a Workload
        # Identity cluster does; a binding to it before then fails
        # (terraform-google-kubernetes-engine#916), so every binding waits for the cluster.
        self.cluster = cluster
        self.prefix = prefix
        self.provider = provider
        self.buckets = buckets

    def bind(
        self,
        name: str,
        namespace: str,
        service_account: str,
        buckets: dict[str, BucketAccess],
        parent: pulumi.Resource,
        secrets: tuple[SecretReference, ...] = (),
    ) -> IdentityBinding:
        opts = pulumi.ResourceOptions(parent=parent, provider=self.provider)
        account = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=account_id(self.prefix, namespace, service_account),
            display_name=f"Workload {namespace}/{service_account}",
            opts=opts,
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            service_account_id=account.name,
            role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{self.project}.svc.id.goog[{namespace}/{service_account}]",
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.cluster])),
        )
        for bucket, access in sorted(buckets.items()):
            gcp.storage.BucketIAMMember(
                f"{name}-{bucket}-{access}",
                bucket=self.buckets[bucket],
                role=BUCKET_ROLES[access],
                member=account.member,
                opts=opts,
            )
        for secret in secrets:
            # Read access to this secret only (roles/secretmanager.secretAccessor on the secret,
            # cloud.google.com/secret-manager/docs/access-control); the secret itself is managed
            # outside the stack, so is its value.
            gcp.secretmanager.SecretIamMember(
                f"{name}-secret-{secret.name}",
                project=self.project,
                secret_id=secret.name,
                role="roles/secretmanager.secretAccessor",
                member=account.member,
                opts=opts,
            )
        return IdentityBinding(service_account_annotations={"iam.gke.io/gcp-service-account": account.email})


@dataclass(frozen=True)
class GkeSecretStore:
    """GKE's Secret Manager add-on (cluster secretManagerConfig): its own CSI driver and the
    `gke` provider, which authenticates as the pod's Workload Identity (GKE docs, "Use Secret
    Manager add-on with Google Kubernetes Engine": SecretProviderClass `provider: gke`,
    `parameters.secrets` of resourceName + path, driver secrets-store-gke.csi.k8s.io)."""

    project: str
    ready: tuple[pulumi.Resource, ...] = ()

    def provider(self, files: dict[str, SecretReference], binding: IdentityBinding) -> SecretProvider:
        entries = [
            {"resourceName": f"projects/{self.project}/secrets/{s.name}/versions/{s.version}", "path": path}
            for path, s in files.items()
        ]
        return SecretProvider(
            csi_driver="secrets-store-gke.csi.k8s.io",
            provider="gke",
            parameters={"secrets": yaml.safe_dump(entries, sort_keys=False)},
        )
