"""The EKS platform as a whole: explicit providers, ownership tags, and what it offers the
workloads (pool contracts, ALB routing, serving sources)."""

from __future__ import annotations

import json

from components.aws.network import subnet_plan


def test_every_cloud_resource_goes_through_the_explicit_providers(eks):
    for resource in eks.record.resources:
        if resource.custom and not resource.is_provider:
            assert resource.provider, f"{resource.type} {resource.name} has no provider"
            package = resource.type.split(":")[0]
            expected = {
                "aws": "pulumi:providers:aws::main-aws",
                "kubernetes": "pulumi:providers:kubernetes::main-k8s",
            }
            assert resource.provider.endswith(expected[package]), resource.name


def test_aws_provider_is_pinned_to_the_account_region_and_tags(eks):
    (provider,) = eks.record.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["123456789012"]
    assert json.loads(provider.inputs["defaultTags"])["tags"] == {
        "owner": "ml-platform",
        "environment": "dev",
        "cost-center": "cc-1042",
        "managed-by": "pulumi",
        "mlplatform-cluster": "main",
    }


def test_fanout_is_one_internet_facing_alb_with_a_weighted_split(eks):
    (ingress,) = eks.record.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    annotations = ingress.inputs["metadata"]["annotations"]
    assert ingress.inputs["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert annotations["alb.ingress.kubernetes.io/group.name"] == "dev-main"
    assert "cost-center=cc-1042" in annotations["alb.ingress.kubernetes.io/tags"]
    split = json.loads(annotations["alb.ingress.kubernetes.io/actions.split-sentiment"])
    assert [g["weight"] for g in split["forwardConfig"]["targetGroups"]] == [90, 10]
    services = {
        s.inputs["metadata"]["name"]: s.inputs for s in eks.record.of_type("kubernetes:core/v1:Service")
    }
    assert (
        services["sentiment"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"]
        == "/ready"
    )


def test_model_pods_accept_serving_traffic_only_from_the_alb_subnets(eks):
    policies = {
        p.inputs["metadata"]["name"]: p.inputs
        for p in eks.record.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    sources = [peer["ipBlock"]["cidr"] for peer in policies["allow-serving"]["spec"]["ingress"][0]["from"]]
    assert sources == [plan.public_cidr for plan in subnet_plan("10.30.0.0/16", ["a", "b", "c"])]


def test_gpu_model_lands_on_the_spot_gpu_pool(eks):
    deployments = {
        d.inputs["metadata"]["name"]: d.inputs for d in eks.record.of_type("kubernetes:apps/v1:Deployment")
    }
    spec = deployments["embeddings"]["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {
        "eks.amazonaws.com/capacityType": "SPOT",
        "mlplatform.io/pool": "gpu-a10g",
    }
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
