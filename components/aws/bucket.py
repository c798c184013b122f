"""S3 bucket: owner-enforced (no ACLs), public access blocked, KMS-encrypted, TLS only."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.arns import bucket_arns

# Parts of failed multipart uploads are billed like objects until removed.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


def tls_only_policy(region: str, bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": list(bucket_arns(region, bucket)),
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


@dataclass(frozen=True)
class S3BucketArgs:
    # Globally unique physical name.
    bucket_name: str
    region: str
    versioning: bool = True
    noncurrent_retention_days: int = 30


class S3Bucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    name: pulumi.Output[str]

    def __init__(self, name: str, args: S3BucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Bucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, bucket=args.bucket_name, force_destroy=False, opts=child)
        aws.s3.BucketOwnershipControls(
            name,
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            name,
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # The AWS managed key: any role of the account allowed on the bucket can use
                    # it, and the bucket key keeps KMS request charges low.
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        lifecycle_rules = [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="abort-incomplete-uploads",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS
                ),
            )
        ]
        versioning: list[pulumi.Resource] = []
        if args.versioning:
            versioning.append(
                aws.s3.BucketVersioning(
                    name,
                    bucket=self.bucket.id,
                    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                        status="Enabled"
                    ),
                    opts=child,
                )
            )
            # Old versions are a recovery window, not an archive: they expire.
            lifecycle_rules.append(
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_retention_days
                    ),
                )
            )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=lifecycle_rules,
            # Noncurrent-version rules act on a versioned bucket.
            opts=pulumi.ResourceOptions(parent=self, depends_on=versioning),
        )
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=tls_only_policy(args.region, args.bucket_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        self.name = self.bucket.bucket
        self.register_outputs({"name": self.name, "arn": self.bucket.arn})
