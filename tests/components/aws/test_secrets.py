"""Secrets on EKS: the Secrets Store CSI driver with the AWS provider (pinned chart), a
SecretProviderClass per model, and an IRSA role that reads exactly the named secrets."""

from __future__ import annotations

import json

import yaml

RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DEPLOYMENT = ("kubernetes:apps/v1:Deployment", "main-embeddings-deployment")


def test_the_aws_provider_chart_runs_on_every_node(eks):
    release = eks.custom(RELEASE)["main-addons-secrets-store"]
    assert release["chart"] == "secrets-store-csi-driver-provider-aws" and release["version"] == "3.1.1"
    assert release["values"]["tolerations"] == [{"operator": "Exists"}]
    assert release["values"]["awsRegion"] == "eu-west-1"


def test_the_secret_provider_class_names_the_secret_and_its_file(eks):
    (provider_class,) = eks.custom(PROVIDER_CLASS).values()
    assert provider_class["spec"]["provider"] == "aws"
    assert yaml.safe_load(provider_class["spec"]["parameters"]["objects"]) == [
        {"objectName": "ml/embeddings-api-key", "objectType": "secretsmanager", "objectAlias": "API_KEY"}
    ]
    pod = eks.resource(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "model-secrets")
    assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert eks.waits_for(DEPLOYMENT, (RELEASE, "main-addons-secrets-store"))


def test_the_models_role_reads_exactly_its_secret(eks):
    policy = json.loads(eks.custom("aws:iam/rolePolicy:RolePolicy")["main-embeddings-aws-access"]["policy"])
    (statement,) = (s for s in policy["Statement"] if s["Sid"] == "ReadSecrets")
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert statement["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ml/embeddings-api-key-??????"
    ]
