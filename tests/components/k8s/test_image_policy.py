"""Image provenance at admission on EKS, AKS and existing clusters: a ValidatingAdmissionPolicy
in the team namespaces whose prefixes are the cluster's registry and the stack's allow-list."""

from __future__ import annotations

import json

import pytest
import yaml

from components.k8s.image_policy import (
    IMAGES,
    POD_SPEC,
    VALIDATION,
    image_allowed,
    registry_prefix,
)
from components.k8s.namespace import TEAM_NAMESPACE_LABEL
from plan.engine import PROJECT_DIR
from tests.helpers import one

VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
# The artifact downloaders the platform adds as init containers: one repository each, any tag.
HELPERS = ["gcr.io/google.com/cloudsdktool/google-cloud-cli:", "public.ecr.aws/aws-cli/aws-cli:"]
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


def _variables(policy) -> dict[str, str]:
    return {v["name"]: v["expression"] for v in policy["spec"]["variables"]}


def test_eks_admits_its_ecr_registry_in_team_namespaces_and_fails_closed(eks):
    policy = one(eks.record, VAP).inputs
    assert json.loads(_variables(policy)["allowedPrefixes"]) == sorted(
        ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/models/", *HELPERS]
    )
    assert policy["spec"]["failurePolicy"] == "Fail"
    matched = {
        (r["apiGroups"][0], r["resources"][0]) for r in policy["spec"]["matchConstraints"]["resourceRules"]
    }
    assert {("", "pods"), ("apps", "deployments"), ("batch", "jobs"), ("batch", "cronjobs")} <= matched
    (validation,) = policy["spec"]["validations"]
    assert validation["expression"] == VALIDATION
    binding = one(eks.record, BINDING).inputs["spec"]
    assert binding["policyName"] == policy["metadata"]["name"] and binding["validationActions"] == ["Deny"]
    assert binding["matchResources"]["namespaceSelector"] == {"matchLabels": {TEAM_NAMESPACE_LABEL: "true"}}


def test_an_existing_cluster_admits_the_stack_allow_list(plan_of):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    policy = one(plan_of(document), VAP).inputs
    assert json.loads(_variables(policy)["allowedPrefixes"]) == sorted(
        ["registry.lab.acme.example/", *HELPERS]
    )


def test_the_policy_reads_every_container_of_every_kind():
    # The CEL variables the validation rests on (checked with cel-python 0.x against Pod,
    # Deployment and CronJob objects while writing them; `join` is a Kubernetes CEL extension).
    assert (
        "object.spec.jobTemplate.spec.template.spec" in POD_SPEC and "object.spec.template.spec" in POD_SPEC
    )
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        assert f"variables.podSpec.{kind}.map(c, c.image)" in IMAGES
    assert VALIDATION == (
        "variables.images.all(image, variables.allowedPrefixes.exists(prefix, image.startsWith(prefix)))"
    )


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("registry.example/models/sentiment:1.4.2", True),
        ("registry.example/models/team/llm@sha256:" + "0" * 64, True),
        ("registry.example/models-evil/sentiment:1.4.2", False),
        ("registry.example/sentiment:1.4.2", False),
        ("docker.io/library/nginx:1.27", False),
    ],
)
def test_an_image_is_admitted_only_below_an_allowed_path(image, allowed):
    assert image_allowed(image, [registry_prefix("registry.example/models")]) is allowed
