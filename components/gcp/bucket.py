"""GCS bucket: uniform access, public access prevented, optional versioning."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class GcsBucketArgs:
    location: str
    versioning: bool = True
    noncurrent_retention_days: int = 30
    labels: dict[str, str] = field(default_factory=dict)


class GcsBucket(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    name: pulumi.Output[str]

    def __init__(self, name: str, args: GcsBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:Bucket", name, None, opts)
        lifecycle_rules = []
        if args.versioning:
            # Old versions are a recovery window, not an archive: they expire.
            lifecycle_rules.append(
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=args.noncurrent_retention_days, with_state="ARCHIVED"
                    ),
                )
            )
        self.bucket = gcp.storage.Bucket(
            name,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=args.versioning),
            lifecycle_rules=lifecycle_rules,
            force_destroy=False,
            labels=args.labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.bucket.name
        self.register_outputs({"name": self.name, "url": self.bucket.url})
