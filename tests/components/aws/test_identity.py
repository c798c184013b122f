"""IRSA for workloads: one role per ServiceAccount, trusted by the cluster's OIDC provider for
exactly that ServiceAccount, allowed exactly the buckets the config grants."""

from __future__ import annotations

import json

import pytest

from components.aws.identity import role_name, workload_access_policy

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def _statements(plan, name: str) -> dict[str, dict]:
    policy = json.loads(plan.custom(POLICY)[f"{name}-access"]["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def _bucket(plan, name: str) -> str:
    return plan.custom("aws:s3/bucket:Bucket")[f"main-{name}"]["bucket"]


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("main-sentiment-aws", "system:serviceaccount:ml:sentiment"),
        ("main-nightly-batch-aws", "system:serviceaccount:ml:nightly-batch"),
    ],
)
def test_workload_role_trusts_only_its_service_account(eks, role, subject):
    trust = json.loads(eks.custom(ROLE)[role]["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    provider = next(r for r in eks.record.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"))
    issuer = provider.inputs["url"].removeprefix("https://")
    assert statement["Principal"] == {"Federated": provider.id}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}
    }


def test_reader_gets_list_and_get_on_exactly_its_bucket(eks):
    artifacts = _bucket(eks, "artifacts")
    statements = _statements(eks, "main-sentiment-aws")
    assert set(statements) == {"ListBuckets", "ReadObjects"}
    assert statements["ListBuckets"]["Resource"] == [f"arn:aws:s3:::{artifacts}"]
    assert statements["ReadObjects"]["Resource"] == [f"arn:aws:s3:::{artifacts}/*"]
    assert statements["ReadObjects"]["Action"] == ["s3:GetObject"]


def test_writer_can_write_only_where_it_was_given_write(eks):
    artifacts, datasets = _bucket(eks, "artifacts"), _bucket(eks, "datasets")
    statements = _statements(eks, "main-nightly-batch-aws")
    assert set(statements["ReadObjects"]["Resource"]) == {
        f"arn:aws:s3:::{artifacts}/*",
        f"arn:aws:s3:::{datasets}/*",
    }
    assert statements["WriteObjects"]["Resource"] == [f"arn:aws:s3:::{artifacts}/*"]
    assert set(statements["WriteObjects"]["Action"]) == {
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }


def test_service_account_carries_the_role_arn(eks):
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in eks.record.of_type(SERVICE_ACCOUNT)}
    annotations = accounts["sentiment"]["metadata"]["annotations"]
    assert annotations == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dev-main-ml-sentiment"
    }


def test_workload_roles_use_the_aws_provider_under_a_kubernetes_parent(eks):
    role = next(r for r in eks.record.of_type(ROLE) if r.name == "main-sentiment-aws")
    assert role.provider.endswith("pulumi:providers:aws::main-aws")
    assert "mlplatform:k8s:ModelService" in role.parent


def test_a_workload_without_buckets_gets_no_aws_role(eks_variant):
    assert "main-embeddings-aws" not in eks_variant.custom(ROLE)
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in eks_variant.record.of_type(SERVICE_ACCOUNT)}
    assert "annotations" not in accounts["embeddings"]["metadata"]


def test_bucket_policy_document_and_role_names():
    policy = json.loads(workload_access_policy("cn-north-1", "123456789012", {"b": "read"}))
    assert [s["Sid"] for s in policy["Statement"]] == ["ListBuckets", "ReadObjects"]
    assert policy["Statement"][0]["Resource"] == ["arn:aws-cn:s3:::b"]
    long = role_name("production-west", "inference-platform-team", "a-very-long-service-account-name")
    assert len(long) == 64 and long.startswith("production-west-inference-platform-team-")
    assert role_name("dev-main", "ml", "sentiment") == "dev-main-ml-sentiment"
