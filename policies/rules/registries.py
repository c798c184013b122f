"""Container registries: tags that cannot be overwritten (or images scanned on push), no
shared admin credentials, no anonymous pulls."""

from __future__ import annotations

import json

from pulumi_policy import Severity

from .base import dig, is_mapping, is_sequence, resource_rule

ARTIFACT_REGISTRY = "gcp:artifactregistry/repository:Repository"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ACR = "azure-native:containerregistry:Registry"


@resource_rule(
    "registry-immutable-or-scanned",
    family="posture",
    types=(ARTIFACT_REGISTRY, ECR_REPOSITORY),
    description="Image tags cannot be overwritten, or every pushed image is scanned for vulnerabilities.",
    remediation="Artifact Registry: dockerConfig.immutableTags: true. ECR: imageTagMutability: IMMUTABLE "
    "(or imageScanningConfiguration.scanOnPush: true).",
    severity=Severity.HIGH,
)
def registry_immutable_or_scanned(args, report, config):
    if args.resource_type == ARTIFACT_REGISTRY:
        if args.props.get("format") not in (None, "DOCKER"):
            return
        if dig(args.props, "dockerConfig.immutableTags") is not True:
            report("dockerConfig.immutableTags is not true: a tag can be re-pointed at a different image")
        return
    immutable = str(args.props.get("imageTagMutability") or "MUTABLE").startswith("IMMUTABLE")
    scanned = dig(args.props, "imageScanningConfiguration.scanOnPush") is True
    if not immutable and not scanned:
        report("tags are MUTABLE and images are not scanned on push")


@resource_rule(
    "registry-no-admin-user",
    family="posture",
    types=(ACR,),
    description="Container registries have no shared admin user; pulls and pushes use identities.",
    remediation="Set adminUserEnabled: false and grant AcrPull/AcrPush to the kubelet and CI identities.",
    severity=Severity.HIGH,
)
def registry_no_admin_user(args, report, config):
    if args.props.get("adminUserEnabled") is True:
        report("adminUserEnabled is true: a shared username/password can push and pull every image")


@resource_rule(
    "registry-not-public",
    family="posture",
    types=(ACR, ECR_REPOSITORY_POLICY),
    description="Container registries do not allow anonymous access.",
    remediation="ACR: anonymousPullEnabled: false. ECR: repository policies name accounts or roles, never "
    'Principal "*".',
    severity=Severity.CRITICAL,
)
def registry_not_public(args, report, config):
    if args.resource_type == ACR:
        if args.props.get("anonymousPullEnabled") is True:
            report("anonymousPullEnabled is true: anyone can pull the images")
        return
    for statement in _statements(args.props.get("policy")):
        if statement.get("Effect") == "Allow" and _principal_is_anyone(statement.get("Principal")):
            report('the repository policy allows Principal "*"')


def _statements(policy):
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    if not is_mapping(policy):
        return []
    statements = policy.get("Statement")
    if is_mapping(statements):
        return [statements]
    return [s for s in statements if is_mapping(s)] if is_sequence(statements) else []


def _principal_is_anyone(principal) -> bool:
    if principal == "*":
        return True
    if is_mapping(principal):
        aws = principal.get("AWS")
        return aws == "*" or (is_sequence(aws) and "*" in aws)
    return False
