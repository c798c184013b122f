"""Least-privilege Google service accounts for nodes (and, later, workloads)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.handle import BucketAccess, IdentityBinding

# What a GKE node needs and nothing more (GKE hardening guide); image pulls are granted on
# the registry repository itself, not project-wide.
NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
)


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
        for role in NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-{role.split('/')[1].replace('.', '-').lower()}",
                project=args.project,
                role=role,
                member=self.member,
                opts=child,
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
    ):
        self.project = project
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
            opts=opts,
        )
        for bucket, access in sorted(buckets.items()):
            gcp.storage.BucketIAMMember(
                f"{name}-{bucket}-{access}",
                bucket=self.buckets[bucket],
                role=BUCKET_ROLES[access],
                member=account.member,
                opts=opts,
            )
        return IdentityBinding(service_account_annotations={"iam.gke.io/gcp-service-account": account.email})
