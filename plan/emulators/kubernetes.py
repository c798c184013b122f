"""Outputs the Kubernetes API server (and Helm) would fill in."""

from __future__ import annotations

from typing import Any

from plan.emulators import RESOURCES, Emulated, stable_hex, stable_ip

CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "GatewayClass",
    "IngressClass",
    "APIService",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


def kubernetes_object(r: Emulated) -> dict[str, Any]:
    metadata = dict(r.get("metadata") or {})
    metadata.setdefault("name", r.autoname)
    kind = r.typ.split(":")[-1]
    if kind not in CLUSTER_SCOPED_KINDS:
        metadata.setdefault("namespace", "default")
    metadata["uid"] = _uid(r.urn)
    return {"metadata": metadata}


def ingress(r: Emulated) -> dict[str, Any]:
    """An Ingress once its controller has a load balancer (the provider's await waits for it):
    the ALB's DNS name when the ALB controller serves it, else an IP."""
    state = kubernetes_object(r)
    annotations = state["metadata"].get("annotations") or {}
    group = annotations.get("alb.ingress.kubernetes.io/group.name")
    if group:
        entry = {"hostname": f"k8s-{group[:15]}-{stable_hex(r.urn, 10)}.elb.amazonaws.com"}
    else:
        entry = {"ip": stable_ip(r.urn)}
    return {**state, "status": {"loadBalancer": {"ingress": [entry]}}}


def helm_release(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {
        "name": name,
        "status": {
            "name": name,
            "namespace": r.get("namespace") or "default",
            "chart": r.get("chart"),
            "version": r.get("version"),
            "status": "deployed",
            "revision": 1,
        },
    }


def _uid(seed: str) -> str:
    h = stable_hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def emulate(r: Emulated) -> dict[str, Any] | None:
    """Kubernetes types are open-ended (CRDs): match by package rather than a fixed table."""
    if r.typ in RESOURCES:
        return RESOURCES[r.typ](r)
    if r.typ.startswith("kubernetes:helm.sh/"):
        return helm_release(r)
    if r.typ == "kubernetes:networking.k8s.io/v1:Ingress":
        return ingress(r)
    if r.typ.startswith("kubernetes:") and not r.typ.startswith("kubernetes:index:"):
        return kubernetes_object(r)
    return None
