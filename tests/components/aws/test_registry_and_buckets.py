"""ECR repositories for the cluster's images and S3 buckets that are private, encrypted and
TLS-only, with noncurrent versions expiring."""

from __future__ import annotations

import json

from components.aws.registry import lifecycle_policy, registry_host
from components.naming import fitted_name

REPOSITORY = "aws:ecr/repository:Repository"


def test_one_immutable_scanned_repository_per_image_repository_of_the_workloads(eks):
    repositories = eks.custom(REPOSITORY)
    assert {r["name"] for r in repositories.values()} == {
        "models/sentiment",
        "models/tritonserver",
        "models/batch-scoring",
    }
    for repository in repositories.values():
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["forceDelete"] is False
    policies = eks.custom("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == 3
    rule = json.loads(policies["main-models-sentiment"]["policy"])["rules"][0]
    assert rule["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14,
    }


def test_workload_images_and_the_registry_output_point_at_ecr(eks):
    url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/models"
    assert eks.record.outputs["main"]["registry"] == url
    images = {
        c["image"]
        for d in eks.record.of_type("kubernetes:apps/v1:Deployment")
        for c in d.inputs["spec"]["template"]["spec"]["containers"]
    }
    assert images == {
        f"{url}/sentiment:1.4.2",
        f"{url}/sentiment:1.5.0",
        f"{url}/tritonserver:25.10-py3",
        f"{url}/tritonserver:25.11-py3",
    }


def test_registry_host_follows_the_partition():
    assert registry_host("123456789012", "cn-north-1") == "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert json.loads(lifecycle_policy(7))["rules"][0]["selection"]["countNumber"] == 7


def test_buckets_are_private_owner_enforced_and_kms_encrypted(eks):
    buckets = eks.custom("aws:s3/bucket:Bucket")
    assert set(buckets) == {"main-artifacts", "main-datasets"}
    for name, bucket in buckets.items():
        physical = bucket["bucket"]
        assert physical == eks.record.outputs["main"]["buckets"][name.removeprefix("main-")]
        assert bucket["forceDestroy"] is False
        block = eks.custom("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[name]
        assert all(
            block[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        ownership = eks.custom("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[name]
        assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        encryption = eks.custom(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )[name]
        assert encryption["rules"] == [
            {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}, "bucketKeyEnabled": True}
        ]
        policy = json.loads(eks.custom("aws:s3/bucketPolicy:BucketPolicy")[name]["policy"])
        (deny,) = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny["Resource"] == [f"arn:aws:s3:::{physical}", f"arn:aws:s3:::{physical}/*"]


def test_versioning_by_default_with_expiring_noncurrent_versions(eks, eks_variant):
    versioning = eks.custom("aws:s3/bucketVersioning:BucketVersioning")
    assert set(versioning) == {"main-artifacts", "main-datasets"}
    assert versioning["main-datasets"]["versioningConfiguration"] == {"status": "Enabled"}
    lifecycle = eks.custom("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    datasets = {rule["id"]: rule for rule in lifecycle["main-datasets"]["rules"]}
    assert datasets["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert datasets["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 7
    }
    # A bucket that opts out (versioning: false) gets no versioning and no noncurrent rule.
    assert set(eks_variant.custom("aws:s3/bucketVersioning:BucketVersioning")) == {"main-artifacts"}
    opted_out = eks_variant.custom("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert [rule["id"] for rule in opted_out["main-datasets"]["rules"]] == ["abort-incomplete-uploads"]


def test_bucket_names_fit_s3_and_are_unique_per_account():
    name = fitted_name("dev-main", "artifacts", max_length=63, salt="123456789012", unique=True)
    assert name.startswith("dev-main-artifacts-") and len(name) == len("dev-main-artifacts-") + 8
    assert name != fitted_name("dev-main", "artifacts", max_length=63, salt="210987654321", unique=True)
    long = fitted_name("production-west", "x" * 40, max_length=63, salt="1", unique=True)
    assert len(long) == 63
