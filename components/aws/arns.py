"""ARNs built from the configured account and region, so no lookup is needed."""

from __future__ import annotations


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy(region: str, name: str) -> str:
    """An AWS managed IAM policy, e.g. AmazonEKSClusterPolicy."""
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def bucket_arns(region: str, bucket: str) -> tuple[str, str]:
    """The bucket itself (for ListBucket) and every object in it."""
    arn = f"arn:{partition(region)}:s3:::{bucket}"
    return arn, f"{arn}/*"
