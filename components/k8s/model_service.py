"""A served model: identity, one Deployment + Service + HPA + PDB per variant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contract import POOL_LABEL, PoolContract
from components.handle import BucketAccess, WorkloadIdentity
from components.k8s.pod import (
    ContainerResources,
    ContainerSpec,
    container,
    object_metadata,
    pod_spec,
    standard_labels,
    workload_service_account,
)

COMPONENT = "model-server"
VARIANT_LABEL = "mlplatform.io/variant"
PRIMARY = "primary"
SERVICE_PORT = 80
# DCGM exporter's utilisation gauge, served per pod by the metrics adapter.
GPU_UTIL_METRIC = "DCGM_FI_DEV_GPU_UTIL"


@dataclass(frozen=True)
class Autoscaling:
    min: int
    max: int
    cpu: int | None = None
    memory: int | None = None
    gpu_util: int | None = None


@dataclass(frozen=True)
class ModelVariant:
    name: str
    image: pulumi.Input[str]
    weight: int
    autoscaling: Autoscaling


@dataclass(frozen=True)
class Backend:
    """A Service the fanout routes to, with its share of the model's traffic."""

    service: str
    port: int
    weight: int


@dataclass(frozen=True)
class ModelServiceArgs:
    model: str
    namespace: str
    pool: PoolContract
    port: int
    resources: ContainerResources
    # The first variant is the primary; its objects carry the model's own name.
    variants: list[ModelVariant]
    liveness_path: str = "/healthz"
    readiness_path: str = "/ready"
    startup_seconds: int = 300
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, BucketAccess] = field(default_factory=dict)
    identity: WorkloadIdentity | None = None
    # How the cloud's load balancer learns the readiness path.
    health_check: Literal["gke-policy", "alb-annotation"] | None = None
    # What every object of the model waits for (its namespace).
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # What the pods need before they can start: their pool and the add-ons serving it.
    pods_depend_on: list[pulumi.Resource] = field(default_factory=list)
    # What serves the GPU utilisation metric: the HPAs of variants scaling on it wait for it.
    gpu_metrics_depend_on: list[pulumi.Resource] = field(default_factory=list)


class ModelService(pulumi.ComponentResource):
    backends: list[Backend]

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:ModelService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        labels = standard_labels(args.model, COMPONENT, args.labels)

        pod_labels = workload_service_account(
            name, args.model, args.namespace, labels, args.buckets, args.identity, self, args.depends_on
        )

        self.backends = []
        self.deployments: dict[str, k8s.apps.v1.Deployment] = {}
        for variant in args.variants:
            object_name = args.model if variant.name == PRIMARY else f"{args.model}-{variant.name}"
            prefix = name if variant.name == PRIMARY else f"{name}-{variant.name}"
            selector = {"app.kubernetes.io/name": args.model, VARIANT_LABEL: variant.name}
            variant_labels = {**labels, VARIANT_LABEL: variant.name}
            deployment = k8s.apps.v1.Deployment(
                f"{prefix}-deployment",
                metadata=object_metadata(object_name, args.namespace, variant_labels),
                spec={
                    # No `replicas`: the HPA owns it, so `pulumi up` never resets a scaled-out model.
                    "selector": {"matchLabels": selector},
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                    },
                    "revisionHistoryLimit": 5,
                    "minReadySeconds": 10,
                    "progressDeadlineSeconds": args.startup_seconds + 600,
                    "template": {
                        "metadata": {"labels": {**variant_labels, **pod_labels, POOL_LABEL: args.pool.name}},
                        "spec": pod_spec(
                            [container(self._server(args, variant), args.pool)],
                            args.pool,
                            args.model,
                            termination_grace_seconds=60,
                            topology_spread_labels=selector,
                        ),
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *args.pods_depend_on]),
            )
            self.deployments[variant.name] = deployment
            service_annotations = {}
            if args.health_check == "alb-annotation":
                service_annotations["alb.ingress.kubernetes.io/healthcheck-path"] = args.readiness_path
            k8s.core.v1.Service(
                f"{prefix}-service",
                metadata=object_metadata(
                    object_name, args.namespace, variant_labels, service_annotations or None
                ),
                spec={
                    "type": "ClusterIP",
                    "selector": selector,
                    "ports": [
                        {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
                    ],
                },
                opts=child,
            )
            if args.health_check == "gke-policy":
                k8s.apiextensions.CustomResource(
                    f"{prefix}-healthcheck",
                    api_version="networking.gke.io/v1",
                    kind="HealthCheckPolicy",
                    metadata=object_metadata(object_name, args.namespace, variant_labels),
                    spec={
                        "default": {
                            "config": {
                                "type": "HTTP",
                                # The CRD's CEL rules accept `port` only with USE_FIXED_PORT
                                # (GoogleCloudPlatform/gke-gateway-api@983ac3d,
                                # apis/networking/v1/healthcheck_types.go, CommonHealthCheck).
                                "httpHealthCheck": {
                                    "portSpecification": "USE_FIXED_PORT",
                                    "port": args.port,
                                    "requestPath": args.readiness_path,
                                },
                            }
                        },
                        "targetRef": {"group": "", "kind": "Service", "name": object_name},
                    },
                    opts=child,
                )
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{prefix}-hpa",
                metadata=object_metadata(object_name, args.namespace, variant_labels),
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_name},
                    "minReplicas": variant.autoscaling.min,
                    "maxReplicas": variant.autoscaling.max,
                    "metrics": _hpa_metrics(variant.autoscaling),
                    "behavior": {
                        # Scale out fast, scale in slowly: accelerator nodes are slow to come back.
                        "scaleUp": {
                            "stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}],
                        },
                        "scaleDown": {
                            "stabilizationWindowSeconds": 300,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                        },
                    },
                },
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        deployment,
                        *(args.gpu_metrics_depend_on if variant.autoscaling.gpu_util is not None else []),
                    ],
                ),
            )
            k8s.policy.v1.PodDisruptionBudget(
                f"{prefix}-pdb",
                metadata=object_metadata(object_name, args.namespace, variant_labels),
                spec={
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": selector},
                    # A crash-looping pod must not block node drains (and autoscaler scale-in).
                    "unhealthyPodEvictionPolicy": "AlwaysAllow",
                },
                opts=child,
            )
            self.backends.append(Backend(object_name, SERVICE_PORT, variant.weight))

        self.register_outputs({"backends": [b.service for b in self.backends]})

    @staticmethod
    def _server(args: ModelServiceArgs, variant: ModelVariant) -> ContainerSpec:
        http = {"port": "http"}
        return ContainerSpec(
            name="server",
            image=variant.image,
            resources=args.resources,
            args=args.args,
            env={**args.env, "MODEL_NAME": args.model, "MODEL_VARIANT": variant.name},
            port=args.port,
            extra={
                # Loading weights can take minutes; liveness only starts once this succeeds.
                "startupProbe": {
                    "httpGet": {**http, "path": args.readiness_path},
                    "periodSeconds": 10,
                    "failureThreshold": max(1, args.startup_seconds // 10),
                },
                "readinessProbe": {
                    "httpGet": {**http, "path": args.readiness_path},
                    "periodSeconds": 5,
                    "failureThreshold": 3,
                    "timeoutSeconds": 2,
                },
                "livenessProbe": {
                    "httpGet": {**http, "path": args.liveness_path},
                    "periodSeconds": 10,
                    "failureThreshold": 3,
                    "timeoutSeconds": 2,
                },
                # Let load balancers stop sending before the server stops accepting.
                "lifecycle": {"preStop": {"sleep": {"seconds": 10}}},
            },
        )


def _hpa_metrics(autoscaling: Autoscaling) -> list[dict]:
    metrics = []
    for resource, target in (("cpu", autoscaling.cpu), ("memory", autoscaling.memory)):
        if target is not None:
            metrics.append(
                {
                    "type": "Resource",
                    "resource": {
                        "name": resource,
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            )
    if autoscaling.gpu_util is not None:
        metrics.append(
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": GPU_UTIL_METRIC},
                    "target": {"type": "AverageValue", "averageValue": str(autoscaling.gpu_util)},
                },
            }
        )
    return metrics
