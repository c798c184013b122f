"""Image provenance: every workload's images come from what its cluster's admission control
admits (a ValidatingAdmissionPolicy with its binding on EKS, AKS and existing clusters; Binary
Authorization on GKE), and that admission control exists."""

from __future__ import annotations

import json

from pulumi_policy import Severity

from .base import dig, items_of, resources_of, stack_rule
from .kubernetes import WORKLOADS, object_name, pod_template

VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
# The VAP variable that lists the allowed prefixes as a CEL list of strings.
PREFIXES_VARIABLE = "allowedPrefixes"


def _provider_urn(resource) -> str | None:
    provider = getattr(resource, "provider", None)
    return provider.urn if provider is not None else None


def _vap_prefixes(policy) -> list[str] | None:
    for variable in items_of(dig(policy.props, "spec.variables")):
        if variable.get("name") == PREFIXES_VARIABLE:
            try:
                prefixes = json.loads(str(variable.get("expression")))
            except ValueError:
                return None
            return [str(p) for p in prefixes] if isinstance(prefixes, list) else None
    return None


def _admitted(args) -> dict[str, list[str]]:
    """Kubernetes provider URN -> image prefixes its cluster's admission control admits."""
    admitted: dict[str, list[str]] = {}
    bindings = list(resources_of(args, VAP_BINDING))
    for policy in resources_of(args, VAP):
        prefixes = _vap_prefixes(policy)
        name = dig(policy.props, "metadata.name")
        enforced = any(
            _provider_urn(b) == _provider_urn(policy)
            and dig(b.props, "spec.policyName") == name
            and "Deny" in items_of(dig(b.props, "spec.validationActions"))
            for b in bindings
        )
        if prefixes is not None and enforced and _provider_urn(policy):
            admitted.setdefault(_provider_urn(policy), []).extend(prefixes)
    # GKE: the cluster component holds the cluster, its Binary Authorization policy and the
    # Kubernetes provider; the cluster must enforce the project's policy.
    providers = list(resources_of(args, KUBERNETES_PROVIDER))
    clusters = list(resources_of(args, GKE_CLUSTER))
    for policy in resources_of(args, BINAUTHZ_POLICY):
        if policy.parent is None:
            continue
        enforced = any(
            c.parent is not None
            and c.parent.urn == policy.parent.urn
            and dig(c.props, "binaryAuthorization.evaluationMode") == "PROJECT_SINGLETON_POLICY_ENFORCE"
            for c in clusters
        )
        if dig(policy.props, "defaultAdmissionRule.evaluationMode") != "ALWAYS_DENY" or not enforced:
            continue
        prefixes = [
            str(p.get("namePattern")).rstrip("*")
            for p in items_of(policy.props.get("admissionWhitelistPatterns"))
        ]
        for provider in providers:
            if provider.parent is not None and provider.parent.urn == policy.parent.urn:
                admitted.setdefault(provider.urn, []).extend(prefixes)
    return admitted


@stack_rule(
    "image-provenance",
    family="kubernetes",
    description="Workloads run images only from the platform's registry or the stack's allow-list, and their "
    "cluster's admission control (Binary Authorization on GKE, a ValidatingAdmissionPolicy elsewhere) "
    "refuses any other.",
    remediation="Push the image to the cluster's registry (image.repository) or add its registry to "
    "mlplatform: imagePolicy.allowedRegistries; keep the platform's admission policy and binding.",
    severity=Severity.HIGH,
)
def image_provenance(args, report, config):
    admitted = _admitted(args)
    for workload in resources_of(args, *WORKLOADS):
        template = pod_template(workload.resource_type, workload.props)
        if template is None:
            continue
        prefixes = admitted.get(_provider_urn(workload) or "")
        if prefixes is None:
            report(
                f"{object_name(workload)} runs on a cluster whose admission control does not limit where "
                "images come from",
                workload.urn,
            )
            continue
        for where, container in template.containers():
            image = str(container.get("image") or "")
            if not any(image.startswith(prefix) for prefix in prefixes):
                report(
                    f"{where} of {object_name(workload)} runs {image!r}, outside the admitted registries "
                    f"({', '.join(sorted(set(prefixes)))})",
                    workload.urn,
                )
