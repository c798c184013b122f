"""Deletion protection: a `pulumi destroy` or a replacement must not silently take a
cluster, a bucket of data or a registry of images with it."""

from __future__ import annotations

from pulumi_policy import Severity

from .base import ADVISORY, resource_rule

# type -> (property, the value that protects, the provider's default when unset)
PROTECTING = {
    "gcp:container/cluster:Cluster": ("deletionProtection", True, True),
    "aws:eks/cluster:Cluster": ("deletionProtection", True, False),
    "gcp:storage/bucket:Bucket": ("forceDestroy", False, False),
    "aws:s3/bucket:Bucket": ("forceDestroy", False, False),
    "aws:s3/bucketV2:BucketV2": ("forceDestroy", False, False),
    "aws:ecr/repository:Repository": ("forceDelete", False, False),
}


@resource_rule(
    "deletion-protection",
    family="posture",
    types=tuple(PROTECTING),
    description="Clusters are deletion-protected and buckets/registries are never force-deleted with their "
    "contents.",
    remediation="Set deletionProtection: true on clusters (clusters.<name>.deletionProtection) and leave "
    "forceDestroy/forceDelete false; to retire one, turn protection off in a reviewed change first.",
    enforcement=ADVISORY,
    severity=Severity.HIGH,
)
def deletion_protection(args, report, config):
    key, protecting, default = PROTECTING[args.resource_type]
    value = args.props.get(key)
    if (default if value is None else value) is not protecting:
        shown = "unset (" + str(default).lower() + ")" if value is None else str(value).lower()
        report(f"{key} is {shown}; it must be {str(protecting).lower()}")
