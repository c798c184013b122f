"""The workloads section of `plan preview`: models, routes, jobs and the pool each lands on."""

from __future__ import annotations

import json
from typing import Any

from components.contract import POOL_LABEL
from components.k8s.model_service import COLD_START_ANNOTATION
from plan.record import PlanRecord, ResourceRecord
from policies.rules.kubernetes import PodTemplate, pod_template

K8S = "kubernetes:"


def _pool(template: PodTemplate | None) -> str:
    return template.labels.get(POOL_LABEL, "?") if template else "?"


def _where(resource: ResourceRecord) -> str:
    metadata = resource.inputs.get("metadata", {})
    return f"{metadata.get('namespace', '?')}/{metadata.get('name', resource.name)}"


def _accelerators(template: PodTemplate | None) -> str:
    containers = (template.spec.get("containers") if template else None) or [{}]
    limits = containers[0].get("resources", {}).get("limits", {})
    extended = [f"{v} {k}" for k, v in sorted(limits.items()) if "/" in k]
    return f", {', '.join(extended)}" if extended else ""


def _target(resource: ResourceRecord) -> tuple[str | None, str]:
    return resource.inputs["metadata"].get("namespace"), resource.inputs["spec"]["scaleTargetRef"]["name"]


def render_workloads(record: PlanRecord) -> str:
    hpas = {
        _target(r): r.inputs["spec"] for r in record.of_type(f"{K8S}autoscaling/v2:HorizontalPodAutoscaler")
    }
    scalers = {_target(r): r.inputs for r in record.of_type(f"{K8S}keda.sh/v1alpha1:ScaledObject")}
    lines: list[str] = []
    for deployment in sorted(record.of_type(f"{K8S}apps/v1:Deployment"), key=_where):
        metadata = deployment.inputs.get("metadata", {})
        template = pod_template(deployment.type, deployment.inputs)
        key = (metadata.get("namespace"), metadata.get("name"))
        if key in scalers:
            spec = scalers[key]["spec"]
            low = spec.get("idleReplicaCount", spec.get("minReplicaCount", "?"))
            bounds = f"{low}..{spec.get('maxReplicaCount', '?')}"
            if "idleReplicaCount" in spec:
                bounds += f" (at least {spec.get('minReplicaCount')} while serving)"
            metrics = ", ".join(_trigger(t) for t in spec.get("triggers", [])) + " (KEDA)"
        else:
            hpa = hpas.get(key, {})
            bounds = f"{hpa.get('minReplicas', '?')}..{hpa.get('maxReplicas', '?')}"
            metrics = ", ".join(_metric(m) for m in hpa.get("metrics", [])) or "none"
        lines.append(
            f"  model   {_where(deployment):<36} pool {_pool(template):<10} "
            f"replicas {bounds} on {metrics}{_accelerators(template)}"
        )
        cold_start = (
            scalers.get(key, {}).get("metadata", {}).get("annotations", {}).get(COLD_START_ANNOTATION)
        )
        if cold_start:
            lines.append(f"          cold start: {cold_start}")
    for kind in ("CronJob", "Job"):
        for job in sorted(record.of_type(f"{K8S}batch/v1:{kind}"), key=_where):
            template = pod_template(job.type, job.inputs)
            spec = job.inputs.get("spec", {})
            when = (
                f"schedule '{spec.get('schedule')}' {spec.get('timeZone', 'UTC')}"
                if kind == "CronJob"
                else "run once"
            )
            where = f"{kind.lower():<7} {_where(job):<36} pool {_pool(template):<10}"
            lines.append(f"  {where} {when}{_accelerators(template)}")
    routes = _routes(record)
    if not lines and not routes:
        return ""
    return "\n".join(["Workloads:", *lines, *(["Routes:", *routes] if routes else [])])


def _trigger(trigger: dict[str, Any]) -> str:
    metadata = trigger.get("metadata", {})
    if trigger.get("type") == "prometheus":
        return f"{metadata.get('query')} / {metadata.get('threshold')} per replica"
    if trigger.get("type") == "external-push":
        # The HTTP add-on's scaler: requests held at its interceptor (wake on the first one).
        return f"requests held at the interceptor (HTTPScaledObject {metadata.get('httpScaledObject')})"
    return f"{trigger.get('type')} {metadata.get('value')}%"


def _namespaced(backend: dict[str, Any]) -> str:
    """A backend in another namespace (the wake interceptor) shows it."""
    return f"{backend['namespace']}/{backend['name']}" if "namespace" in backend else backend["name"]


def _metric(metric: dict[str, Any]) -> str:
    if metric.get("type") == "Resource":
        return f"{metric['resource']['name']} {metric['resource']['target'].get('averageUtilization')}%"
    return f"{metric['pods']['metric']['name']} {metric['pods']['target'].get('averageValue')}"


def _routes(record: PlanRecord) -> list[str]:
    lines = []
    for route in record.of_type(f"{K8S}gateway.networking.k8s.io/v1:HTTPRoute"):
        for rule in route.inputs.get("spec", {}).get("rules", []):
            # A rule without matches matches every path (the HTTPRoute CRD's default).
            path = (rule.get("matches") or [{"path": {"value": "/"}}])[0]["path"]["value"]
            redirect = next(
                (f["requestRedirect"] for f in rule.get("filters", []) if "requestRedirect" in f), None
            )
            if redirect is not None:
                target = f"redirect to {redirect.get('scheme', 'the same scheme')}"
            else:
                target = " + ".join(
                    f"{_namespaced(b)} {b.get('weight', 1)}%" for b in rule.get("backendRefs", [])
                )
            lines.append(f"  {path:<20} -> {target}  (Gateway API)")
    for ingress in record.of_type(f"{K8S}networking.k8s.io/v1:Ingress"):
        annotations = ingress.inputs.get("metadata", {}).get("annotations", {})
        for rule in ingress.inputs.get("spec", {}).get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                service = path["backend"]["service"]
                action = annotations.get(f"alb.ingress.kubernetes.io/actions.{service['name']}")
                target = _alb_split(action) if action else service["name"]
                lines.append(f"  {path['path']:<20} -> {target}  (Ingress)")
    # An Ingress lists its paths once per host.
    return sorted(set(lines))


def _alb_split(action: str) -> str:
    groups = json.loads(action).get("forwardConfig", {}).get("targetGroups", [])
    return " + ".join(f"{g['serviceName']} {g.get('weight', 1)}%" for g in groups)
