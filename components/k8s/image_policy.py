"""Image provenance in the team namespaces: a ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1,
GA in Kubernetes 1.30) and its binding, which refuse any pod or workload whose container images do
not start with one of the allowed prefixes (the platform's registry and the stack's allow-list).

GKE uses Binary Authorization instead (components/gcp/cluster.py); the offline rule
`image-provenance` (policies/rules/kubernetes.py) checks the plan against either."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.namespace import TEAM_NAMESPACE_LABEL

POLICY_NAME = "mlplatform-image-provenance"
# The variable that carries the allowed prefixes as a CEL list literal (JSON strings are CEL strings).
PREFIXES_VARIABLE = "allowedPrefixes"

# The pod spec of every kind the policy matches; a pod's own spec for a Pod.
POD_SPEC = (
    "object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? "
    "object.spec.jobTemplate.spec.template.spec : object.spec.template.spec"
)
IMAGES = (
    "variables.podSpec.containers.map(c, c.image)"
    " + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers.map(c, c.image) : [])"
    " + (has(variables.podSpec.ephemeralContainers) ? "
    "variables.podSpec.ephemeralContainers.map(c, c.image) : [])"
)
ALLOWED = "variables.allowedPrefixes.exists(prefix, image.startsWith(prefix))"
VALIDATION = f"variables.images.all(image, {ALLOWED})"
MESSAGE = (
    "'images must come from ' + variables.allowedPrefixes.join(', ') + '; not allowed: ' + "
    f"variables.images.filter(image, !({ALLOWED})).join(', ')"
)
# Pods and every controller that makes them (a refused Deployment fails at apply, not later
# in a ReplicaSet's events).
MATCHED = (("", "pods"), ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"))
MATCHED += (("apps", "replicasets"), ("batch", "jobs"), ("batch", "cronjobs"))


def registry_prefix(entry: str) -> str:
    """An allow-list entry as the prefix images are matched against: a path ends at a '/', so
    `registry.example/models` does not admit `registry.example/models-evil/x`."""
    return entry if entry.endswith("/") else entry + "/"


def image_allowed(image: str, prefixes: Sequence[str]) -> bool:
    """What the policy's CEL validation computes for one image (and the config and the offline
    rule check): it starts with an allowed prefix."""
    return any(image.startswith(prefix) for prefix in prefixes)


def prefixes_expression(prefixes: Sequence[str]) -> str:
    return json.dumps(sorted(set(prefixes)))


@dataclass(frozen=True)
class ImageAdmissionPolicyArgs:
    # Prefixes (each ending in "/") that images in team namespaces must start with.
    allowed_prefixes: list[pulumi.Input[str]]
    labels: dict[str, str]


class ImageAdmissionPolicy(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImageAdmissionPolicyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:ImageAdmissionPolicy", name, None, opts)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME, labels=args.labels)
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-policy",
            metadata=metadata,
            spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
                # An error evaluating the policy refuses the object: fail closed.
                failure_policy="Fail",
                match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(
                    resource_rules=[
                        k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                            api_groups=[group],
                            api_versions=["v1"],
                            operations=["CREATE", "UPDATE"],
                            resources=[resource],
                        )
                        for group, resource in MATCHED
                    ]
                ),
                variables=[
                    k8s.admissionregistration.v1.VariableArgs(
                        name=PREFIXES_VARIABLE,
                        expression=pulumi.Output.all(*args.allowed_prefixes).apply(prefixes_expression),
                    ),
                    k8s.admissionregistration.v1.VariableArgs(name="podSpec", expression=POD_SPEC),
                    k8s.admissionregistration.v1.VariableArgs(name="images", expression=IMAGES),
                ],
                validations=[
                    k8s.admissionregistration.v1.ValidationArgs(
                        expression=VALIDATION, message_expression=MESSAGE, reason="Forbidden"
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding",
            metadata=metadata,
            spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                policy_name=POLICY_NAME,
                validation_actions=["Deny"],
                # The team namespaces only: system add-ons run elsewhere, from their charts' images.
                match_resources=k8s.admissionregistration.v1.MatchResourcesArgs(
                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={TEAM_NAMESPACE_LABEL: "true"}
                    )
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"policy": POLICY_NAME})
