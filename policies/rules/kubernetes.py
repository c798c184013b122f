"""Kubernetes workload hygiene: images, resources, probes, security context, accelerator
scheduling, replicas, disruption budgets, jobs and network isolation."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import Severity

from .base import (
    ADVISORY,
    dig,
    is_mapping,
    items_of,
    mapping_of,
    number,
    resource_rule,
    resources_of,
    show,
    stack_rule,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
# KEDA's ScaledObject owns the HPA it creates (keda.sh/docs/2.20/reference/scaledobject-spec).
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

# Where each workload kind keeps its pod template ("" for a bare Pod: the object itself).
POD_TEMPLATE_PATH = {
    DEPLOYMENT: "spec.template",
    STATEFUL_SET: "spec.template",
    DAEMON_SET: "spec.template",
    REPLICA_SET: "spec.template",
    JOB: "spec.template",
    CRON_JOB: "spec.jobTemplate.spec.template",
    POD: "",
}
WORKLOADS = tuple(POD_TEMPLATE_PATH)
# Long-running, replicated servers (not run-to-completion jobs, not per-node agents).
SERVICES = (DEPLOYMENT, STATEFUL_SET, REPLICA_SET)

GPU_RESOURCE = "nvidia.com/gpu"
TPU_RESOURCE = "google.com/tpu"
# Taint keys accelerator nodes carry (FACTS.md): GKE and the EKS pools `nvidia.com/gpu`,
# AKS GPU pools the `sku=gpu` convention, TPU nodes `google.com/tpu`.
ACCELERATOR_TAINT_KEYS = {GPU_RESOURCE: ("nvidia.com/gpu", "sku"), TPU_RESOURCE: ("google.com/tpu",)}
# Node labels that pin a pod to accelerator nodes: the platform's pool label (every cloud)
# and the clouds' own accelerator labels.
POOL_LABEL = "mlplatform.io/pool"
ACCELERATOR_SELECTOR_LABELS = {
    GPU_RESOURCE: (POOL_LABEL, "cloud.google.com/gke-accelerator", "kubernetes.azure.com/accelerator"),
    TPU_RESOURCE: (POOL_LABEL, "cloud.google.com/gke-tpu-accelerator"),
}
# Labels NVIDIA GPU feature discovery puts on GPU nodes (existing clusters select pools by them).
GPU_FEATURE_LABEL_PREFIX = "nvidia.com/gpu."
# GKE places TPU pods only when both are selected.
TPU_REQUIRED_SELECTORS = ("cloud.google.com/gke-tpu-accelerator", "cloud.google.com/gke-tpu-topology")

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class PodTemplate:
    """The pod spec inside any workload kind, and the labels its pods carry."""

    spec: Mapping[str, Any]
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)

    def containers(self, include_init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """(description, container) for each container; init containers after the others."""
        kinds = ("containers", "initContainers") if include_init else ("containers",)
        for kind in kinds:
            for index, container in enumerate(items_of(self.spec.get(kind))):
                name = container.get("name") or f"#{index}"
                yield (f"container {name}" if kind == "containers" else f"init container {name}"), container

    def node_selector(self) -> dict[str, str]:
        """nodeSelector plus the keys of required node-affinity `In` terms (any term)."""
        selector = mapping_of(self.spec.get("nodeSelector"))
        terms = dig(
            self.spec,
            "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
        )
        for term in items_of(terms):
            for expression in items_of(term.get("matchExpressions")):
                if expression.get("operator") == "In" and items_of(expression.get("values")):
                    selector.setdefault(expression.get("key"), items_of(expression.get("values"))[0])
        return selector

    def toleration_keys(self) -> set[str]:
        keys = set()
        for toleration in items_of(self.spec.get("tolerations")):
            key = toleration.get("key")
            if key:
                keys.add(key)
            elif toleration.get("operator") == "Exists":
                keys.add("*")  # tolerates every taint
        return keys


def pod_template(resource_type: str, props: Mapping[str, Any]) -> PodTemplate | None:
    path = POD_TEMPLATE_PATH.get(resource_type)
    if path is None:
        return None
    template = dig(props, path) if path else props
    if not is_mapping(template) or not is_mapping(template.get("spec")):
        return None
    return PodTemplate(
        spec=template["spec"],
        labels=mapping_of(dig(template, "metadata.labels")),
        annotations=mapping_of(dig(template, "metadata.annotations")),
    )


def namespace_of(props: Mapping[str, Any]) -> str:
    return dig(props, "metadata.namespace") or "default"


def object_name(resource: Any) -> str:
    return dig(resource.props, "metadata.name") or resource.name


def image_tag(image: str) -> str | None:
    """The tag of an image reference; None when untagged (a registry's :port is not a tag)."""
    last = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.split(":", 1)[1] if ":" in last else None


def _effective(template: PodTemplate, container: Mapping[str, Any], key: str) -> Any:
    """A security-context field: the container's own value wins over the pod's."""
    value = dig(container, f"securityContext.{key}")
    return value if value is not None else dig(template.spec, f"securityContext.{key}")


# --- images, resources, probes -------------------------------------------------------------


@resource_rule(
    "k8s-image-pinned",
    family="kubernetes",
    types=WORKLOADS,
    description="Container images are pinned to a version tag or a digest, never `latest` or untagged.",
    remediation="Reference images as <repository>:<version> (e.g. sentiment:1.4.2) or "
    "<repository>@sha256:<digest>.",
    severity=Severity.HIGH,
    config={"forbiddenTags": {"type": "array", "items": {"type": "string"}, "default": ["latest"]}},
)
def image_pinned(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        image = container.get("image")
        if not isinstance(image, str) or not image:
            report(f"{where} has no image")
        elif _DIGEST.search(image):
            continue
        elif image_tag(image) is None:
            report(f"{where} image {image!r} has no tag, which means `latest`")
        elif image_tag(image) in config["forbiddenTags"]:
            report(f"{where} image {image!r} uses the moving tag {image_tag(image)!r}")


@resource_rule(
    "k8s-resources",
    family="kubernetes",
    types=WORKLOADS,
    description="Every container requests CPU and memory and sets the required limits.",
    remediation="Set resources.requests.cpu and .memory, and resources.limits (memory at least) on each "
    "container.",
    config={
        "requiredRequests": {"type": "array", "items": {"type": "string"}, "default": ["cpu", "memory"]},
        # CPU limits throttle latency-sensitive servers; memory limits keep a leak on one pod.
        "requiredLimits": {"type": "array", "items": {"type": "string"}, "default": ["memory"]},
    },
)
def resources_set(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        requests = mapping_of(dig(container, "resources.requests"))
        limits = mapping_of(dig(container, "resources.limits"))
        missing = [f"requests.{r}" for r in config["requiredRequests"] if r not in requests]
        missing += [f"limits.{r}" for r in config["requiredLimits"] if r not in limits]
        if missing:
            report(f"{where} has no {', '.join(missing)}")


@resource_rule(
    "k8s-probes",
    family="kubernetes",
    types=SERVICES,
    description="Serving containers have readiness and liveness probes.",
    remediation="Add readinessProbe and livenessProbe (and a startupProbe for slow model loads) to each "
    "container.",
    config={
        "requiredProbes": {
            "type": "array",
            "items": {"type": "string", "enum": ["readinessProbe", "livenessProbe", "startupProbe"]},
            "default": ["readinessProbe", "livenessProbe"],
        }
    },
)
def probes_set(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers(include_init=False):
        missing = [probe for probe in config["requiredProbes"] if not is_mapping(container.get(probe))]
        if missing:
            report(f"{where} has no {', '.join(missing)}")


# --- security context ----------------------------------------------------------------------


@resource_rule(
    "k8s-run-as-non-root",
    family="kubernetes",
    types=WORKLOADS,
    description="Containers run as a non-root user.",
    remediation="Set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the pod or each "
    "container.",
    severity=Severity.HIGH,
)
def run_as_non_root(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        user = number(_effective(template, container, "runAsUser"))
        if user == 0:
            report(f"{where} runs as user 0 (root)")
        elif _effective(template, container, "runAsNonRoot") is not True and not user:
            report(f"{where} may run as root: runAsNonRoot is not true and no non-zero runAsUser is set")


@resource_rule(
    "k8s-read-only-root-filesystem",
    family="kubernetes",
    types=WORKLOADS,
    description="Containers have a read-only root filesystem.",
    remediation="Set securityContext.readOnlyRootFilesystem: true; mount an emptyDir at /tmp (or caches) if "
    "the "
    "app writes.",
)
def read_only_root(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        if dig(container, "securityContext.readOnlyRootFilesystem") is not True:
            report(f"{where} has a writable root filesystem")


@resource_rule(
    "k8s-no-privilege-escalation",
    family="kubernetes",
    types=WORKLOADS,
    description="Containers are not privileged and cannot escalate privileges.",
    remediation="Set securityContext.allowPrivilegeEscalation: false and remove privileged: true.",
    severity=Severity.HIGH,
)
def no_privilege_escalation(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        if dig(container, "securityContext.privileged") is True:
            report(f"{where} is privileged")
        if dig(container, "securityContext.allowPrivilegeEscalation") is not False:
            report(f"{where} does not set allowPrivilegeEscalation: false")


@resource_rule(
    "k8s-drop-capabilities",
    family="kubernetes",
    types=WORKLOADS,
    description="Containers drop all Linux capabilities and add back only allowed ones.",
    remediation='Set securityContext.capabilities.drop: ["ALL"]; add back only what the pod needs (e.g. '
    "NET_BIND_SERVICE).",
    config={
        "allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": ["NET_BIND_SERVICE"]}
    },
)
def drop_capabilities(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        dropped = set(items_of(dig(container, "securityContext.capabilities.drop")))
        added = set(items_of(dig(container, "securityContext.capabilities.add")))
        if "ALL" not in dropped:
            report(f"{where} does not drop ALL capabilities")
        extra = sorted(added - set(config["allowedCapabilities"]))
        if extra:
            report(f"{where} adds capabilities {', '.join(extra)}")


@resource_rule(
    "k8s-seccomp",
    family="kubernetes",
    types=WORKLOADS,
    description="Pods run with the RuntimeDefault (or a Localhost) seccomp profile.",
    remediation="Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
)
def seccomp(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for where, container in template.containers():
        profile = _effective(template, container, "seccompProfile")
        if not is_mapping(profile) or profile.get("type") not in ("RuntimeDefault", "Localhost"):
            report(f"{where} runs without a RuntimeDefault or Localhost seccomp profile")


@resource_rule(
    "k8s-no-host-namespaces",
    family="kubernetes",
    types=WORKLOADS,
    description="Pods do not share the node's network, PID or IPC namespaces, mount host paths or bind host "
    "ports.",
    remediation="Remove hostNetwork/hostPID/hostIPC, hostPath volumes and hostPort; use a Service and "
    "volumes "
    "instead.",
    severity=Severity.HIGH,
)
def no_host_namespaces(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if template.spec.get(key) is True:
            report(f"the pod sets {key}: true")
    for volume in items_of(template.spec.get("volumes")):
        if is_mapping(volume.get("hostPath")):
            report(f"volume {volume.get('name')} mounts host path {dig(volume, 'hostPath.path')}")
    for where, container in template.containers():
        for port in items_of(container.get("ports")):
            if number(port.get("hostPort")):
                report(f"{where} binds host port {show(port.get('hostPort'))}")


@resource_rule(
    "k8s-no-default-namespace",
    family="kubernetes",
    types=(*WORKLOADS, SERVICE_ACCOUNT),
    description="Workloads live in their team's namespace, not `default`.",
    remediation="Set metadata.namespace to the namespace the platform created for the team.",
    enforcement=ADVISORY,
    severity=Severity.LOW,
)
def no_default_namespace(args, report, config):
    if namespace_of(args.props) == "default":
        report(f"{object_name(args)} is in the default namespace")


@resource_rule(
    "k8s-service-account-token",
    family="kubernetes",
    types=(SERVICE_ACCOUNT,),
    description="Service accounts do not automount API tokens into every pod.",
    remediation="Set automountServiceAccountToken: false on the ServiceAccount; opt in per pod where the "
    "API is "
    "needed.",
    enforcement=ADVISORY,
    severity=Severity.LOW,
)
def service_account_token(args, report, config):
    if args.props.get("automountServiceAccountToken") is not False:
        report(f"service account {object_name(args)} automounts its token")


# --- accelerators ----------------------------------------------------------------------------


def accelerator_requests(container: Mapping[str, Any]) -> dict[str, float]:
    """Extended accelerator resources a container asks for (limits, or requests)."""
    found: dict[str, float] = {}
    for section in ("limits", "requests"):
        for resource, amount in mapping_of(dig(container, f"resources.{section}")).items():
            if resource in ACCELERATOR_TAINT_KEYS:
                found.setdefault(resource, _quantity(amount))
    return found


def _quantity(value: Any) -> float:
    n = number(value)
    if n is not None:
        return n
    try:
        return float(str(value))
    except ValueError:
        return 0.0


def _selects_accelerator(resource: str, label: str) -> bool:
    if label in ACCELERATOR_SELECTOR_LABELS[resource]:
        return True
    return resource == GPU_RESOURCE and label.startswith(GPU_FEATURE_LABEL_PREFIX)


@resource_rule(
    "k8s-accelerator-scheduling",
    family="kubernetes",
    types=WORKLOADS,
    description="GPU/TPU requests come with the matching toleration and node selector; CPU-only pods do not "
    "tolerate accelerator taints.",
    remediation="Target the pool through its contract (pool.pod_scheduling()): nodeSelector on "
    "mlplatform.io/pool "
    "(plus the TPU labels) and the pool's tolerations; drop accelerator tolerations from CPU-only pods.",
    severity=Severity.HIGH,
)
def accelerator_scheduling(args, report, config):
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    selector = template.node_selector()
    tolerations = template.toleration_keys()
    wanted: set[str] = set()
    for where, container in template.containers():
        for resource, amount in accelerator_requests(container).items():
            if amount <= 0:
                continue
            wanted.add(resource)
            if resource not in mapping_of(dig(container, "resources.limits")):
                report(
                    f"{where} requests {resource} but does not set it in limits (extended resources "
                    "need limits)"
                )
    for resource in sorted(wanted):
        if not tolerations & {*ACCELERATOR_TAINT_KEYS[resource], "*"}:
            keys = " or ".join(ACCELERATOR_TAINT_KEYS[resource])
            report(f"requests {resource} without a toleration for the accelerator taint ({keys})")
        if not any(_selects_accelerator(resource, key) for key in selector):
            report(f"requests {resource} without a node selector for an accelerator pool ({POOL_LABEL})")
        if resource == TPU_RESOURCE:
            missing = [label for label in TPU_REQUIRED_SELECTORS if label not in selector]
            if missing:
                report(f"requests {resource} without the GKE TPU selectors {', '.join(missing)}")
    # Per-node agents (device plugins, exporters) legitimately tolerate accelerator taints.
    if args.resource_type != DAEMON_SET:
        for resource, keys in ACCELERATOR_TAINT_KEYS.items():
            tolerated = sorted(tolerations & set(keys))
            if tolerated and resource not in wanted:
                report(
                    f"tolerates the {resource} taint ({', '.join(tolerated)}) without requesting {resource}: "
                    "it could keep an accelerator node awake"
                )


# --- scaling and disruption ----------------------------------------------------------------


@resource_rule(
    "k8s-hpa-bounds",
    family="kubernetes",
    types=(HPA,),
    description="HorizontalPodAutoscalers have minReplicas <= maxReplicas, a target and at least one metric.",
    remediation="Set spec.minReplicas <= spec.maxReplicas, spec.scaleTargetRef and spec.metrics.",
)
def hpa_bounds(args, report, config):
    spec = args.props.get("spec") or {}
    low = number(spec.get("minReplicas"))
    low = 1.0 if low is None else low
    high = number(spec.get("maxReplicas"))
    if high is None:
        report("spec.maxReplicas is not set")
    elif low > high:
        report(f"minReplicas {show(low)} is greater than maxReplicas {show(high)}")
    if not is_mapping(spec.get("scaleTargetRef")):
        report("spec.scaleTargetRef is not set")
    if not items_of(spec.get("metrics")):
        report("spec.metrics is empty (the HPA would scale on nothing)")


@dataclass(frozen=True)
class Replicas:
    low: float
    high: float
    autoscaled: bool
    # What sets `low`: spec.replicas, an HPA's minReplicas or a ScaledObject's minReplicaCount.
    source: str = "spec.replicas"


def service_replicas(args) -> dict[tuple[str, str, str], tuple[Any, Replicas]]:
    """(kind, namespace, name) -> (resource, replica range), HPAs applied to their targets."""
    services: dict[tuple[str, str, str], tuple[Any, Replicas]] = {}
    for resource in resources_of(args, DEPLOYMENT, STATEFUL_SET):
        kind = resource.resource_type.rsplit(":", 1)[-1]
        fixed = number(dig(resource.props, "spec.replicas"))
        fixed = 1.0 if fixed is None else fixed
        key = (kind, namespace_of(resource.props), object_name(resource))
        services[key] = (resource, Replicas(fixed, fixed, autoscaled=False))
    for hpa in resources_of(args, HPA):
        target = dig(hpa.props, "spec.scaleTargetRef") or {}
        key = (target.get("kind"), namespace_of(hpa.props), target.get("name"))
        if key in services:
            low = number(dig(hpa.props, "spec.minReplicas"))
            high = number(dig(hpa.props, "spec.maxReplicas"))
            low = 1.0 if low is None else low
            services[key] = (
                services[key][0],
                Replicas(low, high if high is not None else low, autoscaled=True, source="HPA minReplicas"),
            )
    for scaler in resources_of(args, SCALED_OBJECT):
        target = dig(scaler.props, "spec.scaleTargetRef") or {}
        key = (target.get("kind") or "Deployment", namespace_of(scaler.props), target.get("name"))
        if key in services:
            # While serving, KEDA keeps minReplicaCount (default 0); idleReplicaCount 0 only
            # empties an idle workload, which then has no availability to keep.
            low = number(dig(scaler.props, "spec.minReplicaCount"))
            high = number(dig(scaler.props, "spec.maxReplicaCount"))
            low = 0.0 if low is None else low
            services[key] = (
                services[key][0],
                Replicas(
                    low,
                    100.0 if high is None else high,
                    autoscaled=True,
                    source="ScaledObject minReplicaCount",
                ),
            )
    return services


@stack_rule(
    "k8s-ha-replicas",
    family="kubernetes",
    description="Serving Deployments and StatefulSets keep at least the configured number of replicas (HPA "
    "minimum "
    "or spec.replicas).",
    remediation="Raise the model's autoscale.min (HPA minReplicas) or spec.replicas to the configured "
    "minimum.",
    config={"minReplicas": {"type": "integer", "minimum": 1, "default": 2}},
)
def ha_replicas(args, report, config):
    minimum = config["minReplicas"]
    for (kind, namespace, name), (resource, replicas) in sorted(service_replicas(args).items()):
        if replicas.low < minimum:
            report(
                f"{kind} {namespace}/{name} can run {show(replicas.low)} replica(s) ({replicas.source}); "
                f"this stack requires at least {show(minimum)}",
                resource.urn,
            )


@stack_rule(
    "k8s-hpa-owns-replicas",
    family="kubernetes",
    description="A workload scaled by a HorizontalPodAutoscaler leaves spec.replicas unset.",
    remediation="Remove spec.replicas from the Deployment/StatefulSet; the HPA's minReplicas sets the floor.",
)
def hpa_owns_replicas(args, report, config):
    # Otherwise every `pulumi up` resets the replica count the HPA chose (FACTS.md).
    targets = {
        (
            dig(h.props, "spec.scaleTargetRef.kind"),
            namespace_of(h.props),
            dig(h.props, "spec.scaleTargetRef.name"),
        )
        for h in resources_of(args, HPA)
    }
    for workload in resources_of(args, DEPLOYMENT, STATEFUL_SET):
        kind = workload.resource_type.rsplit(":", 1)[-1]
        key = (kind, namespace_of(workload.props), object_name(workload))
        if key in targets and number(dig(workload.props, "spec.replicas")) is not None:
            report(
                f"{kind} {key[1]}/{key[2]} sets spec.replicas {show(dig(workload.props, 'spec.replicas'))} "
                "although an HPA scales it: each update resets the HPA's choice",
                workload.urn,
            )


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and In/NotIn/Exists/DoesNotExist expressions) against labels."""
    if not is_mapping(selector):
        return False
    match_labels = mapping_of(selector.get("matchLabels"))
    expressions = items_of(selector.get("matchExpressions"))
    if not match_labels and not expressions:
        return True  # the empty selector selects every pod
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expression in expressions:
        key, operator = expression.get("key"), expression.get("operator")
        values = set(items_of(expression.get("values")))
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


class BudgetIndex:
    """PodDisruptionBudgets by namespace and by one label their selector requires.

    A stack with a thousand models has a thousand budgets: matching every replicated service
    against every budget's selector was quadratic (most of a 1000-model `plan preview`). A
    budget whose selector has matchLabels can only select pods carrying one chosen pair of them,
    so only budgets filed under a pair of the pod's labels (or with no matchLabels) are checked.
    """

    def __init__(self, budgets: Iterable[Any]) -> None:
        # namespace -> (label key, value) -> [(position, budget, selector)]; budgets without
        # matchLabels go under None. A selector that is not a mapping selects nothing.
        self.index: dict[str, dict[tuple[str, Any] | None, list[tuple[int, Any, Any]]]] = {}
        for position, pdb in enumerate(budgets):
            selector = dig(pdb.props, "spec.selector")
            if not is_mapping(selector):
                continue
            match_labels = sorted(mapping_of(selector.get("matchLabels")).items())
            key = match_labels[0] if match_labels else None
            if key is not None and not isinstance(key[1], Hashable):
                key = None
            by_label = self.index.setdefault(namespace_of(pdb.props), {})
            by_label.setdefault(key, []).append((position, pdb, selector))

    def matching(self, namespace: str, labels: Mapping[str, Any]) -> list[Any]:
        """The budgets of `namespace` whose selector selects pods with `labels`, in stack order."""
        by_label = self.index.get(namespace, {})
        candidates = list(by_label.get(None, []))
        for pair in labels.items():
            if isinstance(pair[1], Hashable):
                candidates.extend(by_label.get(pair, []))
        return [
            pdb
            for _, pdb, selector in sorted(candidates, key=lambda c: c[0])
            if selector_matches(selector, labels)
        ]


@stack_rule(
    "k8s-pod-disruption-budget",
    family="kubernetes",
    description="Every replicated service has a PodDisruptionBudget that still lets nodes drain.",
    remediation="Add a PodDisruptionBudget selecting the pods with maxUnavailable: 1 (or minAvailable below "
    "the "
    "minimum replicas).",
)
def pod_disruption_budget(args, report, config):
    budgets = BudgetIndex(resources_of(args, PDB))
    for (kind, namespace, name), (resource, replicas) in sorted(service_replicas(args).items()):
        if replicas.high <= 1:
            continue
        template = pod_template(resource.resource_type, resource.props)
        labels = template.labels if template else {}
        matching = budgets.matching(namespace, labels)
        if not matching:
            report(
                f"{kind} {namespace}/{name} runs up to {show(replicas.high)} replicas without a "
                "PodDisruptionBudget",
                resource.urn,
            )
            continue
        for pdb in matching:
            min_available = number(dig(pdb.props, "spec.minAvailable"))
            if min_available is not None and min_available >= replicas.low:
                report(
                    f"PodDisruptionBudget {object_name(pdb)} requires {show(min_available)} available "
                    "pods but "
                    f"{kind} {namespace}/{name} may run only {show(replicas.low)}: node drains would block",
                    pdb.urn,
                )
            if number(dig(pdb.props, "spec.maxUnavailable")) == 0:
                report(
                    f"PodDisruptionBudget {object_name(pdb)} allows 0 unavailable pods: node drains "
                    "would block",
                    pdb.urn,
                )


# --- jobs ------------------------------------------------------------------------------------


@resource_rule(
    "k8s-cronjob-limits",
    family="kubernetes",
    types=(CRON_JOB,),
    description="CronJobs set a concurrency policy, a starting deadline and bounded history limits.",
    remediation="Set concurrencyPolicy: Forbid (or Replace), startingDeadlineSeconds, "
    "successfulJobsHistoryLimit "
    "and failedJobsHistoryLimit.",
    config={
        "allowedConcurrencyPolicies": {
            "type": "array",
            "items": {"type": "string", "enum": ["Allow", "Forbid", "Replace"]},
            "default": ["Forbid", "Replace"],
        },
        "maxHistory": {"type": "integer", "minimum": 0, "default": 10},
    },
)
def cronjob_limits(args, report, config):
    spec = args.props.get("spec") or {}
    policy = spec.get("concurrencyPolicy")
    if policy is None:
        report("spec.concurrencyPolicy is not set (defaults to Allow: runs can pile up)")
    elif policy not in config["allowedConcurrencyPolicies"]:
        report(
            f"spec.concurrencyPolicy is {policy}; allowed: {', '.join(config['allowedConcurrencyPolicies'])}"
        )
    if number(spec.get("startingDeadlineSeconds")) is None:
        report("spec.startingDeadlineSeconds is not set (missed runs are counted without bound)")
    for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        value = number(spec.get(key))
        if value is None:
            report(f"spec.{key} is not set")
        elif value > config["maxHistory"]:
            report(f"spec.{key} is {show(value)}; at most {show(config['maxHistory'])}")


@resource_rule(
    "k8s-job-limits",
    family="kubernetes",
    types=(JOB, CRON_JOB),
    description="Jobs bound their retries and run time and restart only on failure.",
    # No ttlSecondsAfterFinished demand: a Job the TTL controller deletes is missing from the
    # cluster at the next `pulumi up`, which would create it, and run it, again.
    remediation="Set backoffLimit, activeDeadlineSeconds and restartPolicy Never or OnFailure.",
    config={"maxBackoffLimit": {"type": "integer", "minimum": 0, "default": 10}},
)
def job_limits(args, report, config):
    job = args.props.get("spec") or {}
    prefix = "spec"
    if args.resource_type == CRON_JOB:
        job, prefix = dig(args.props, "spec.jobTemplate.spec") or {}, "spec.jobTemplate.spec"
    backoff = number(job.get("backoffLimit"))
    if backoff is None:
        report(f"{prefix}.backoffLimit is not set")
    elif backoff > config["maxBackoffLimit"]:
        report(f"{prefix}.backoffLimit is {show(backoff)}; at most {show(config['maxBackoffLimit'])}")
    if number(job.get("activeDeadlineSeconds")) is None:
        report(f"{prefix}.activeDeadlineSeconds is not set (a hung run holds its nodes without limit)")
    restart = dig(job, "template.spec.restartPolicy")
    if restart not in ("Never", "OnFailure"):
        report(f"{prefix}.template.spec.restartPolicy is {restart or 'unset'}; use Never or OnFailure")


# --- network isolation -----------------------------------------------------------------------


def is_default_deny(props: Mapping[str, Any], direction: str) -> bool:
    """A NetworkPolicy selecting every pod and allowing nothing in `direction`."""
    spec = props.get("spec") or {}
    selector = spec.get("podSelector")
    if (
        not is_mapping(selector)
        or mapping_of(selector.get("matchLabels"))
        or items_of(selector.get("matchExpressions"))
    ):
        return False
    if direction not in items_of(spec.get("policyTypes")):
        return False
    return not items_of(spec.get(direction.lower()))


@stack_rule(
    "k8s-default-deny-network-policy",
    family="kubernetes",
    description="Every namespace that runs workloads has a default-deny NetworkPolicy.",
    remediation="Add a NetworkPolicy with podSelector: {} and the configured policyTypes and no rules, "
    "then allow only the traffic each service needs.",
    config={
        "policyTypes": {
            "type": "array",
            "items": {"type": "string", "enum": ["Ingress", "Egress"]},
            "default": ["Ingress", "Egress"],
        }
    },
)
def default_deny_network_policy(args, report, config):
    policies = [(namespace_of(p.props), p.props) for p in resources_of(args, NETWORK_POLICY)]
    seen: set[str] = set()
    for workload in resources_of(args, *WORKLOADS):
        namespace = namespace_of(workload.props)
        if namespace in seen:
            continue
        seen.add(namespace)
        missing = [
            direction
            for direction in config["policyTypes"]
            if not any(ns == namespace and is_default_deny(props, direction) for ns, props in policies)
        ]
        if missing:
            report(
                f"namespace {namespace} runs workloads (e.g. {object_name(workload)}) without a default-deny "
                f"NetworkPolicy for {', '.join(missing)}",
                workload.urn,
            )
