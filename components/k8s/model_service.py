"""A served model: identity, one Deployment + Service + HPA + PDB per variant."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contract import POOL_LABEL, PoolContract
from components.handle import BucketAccess, SecretReference, SecretStore, WorkloadIdentity
from components.k8s.artifacts import ArtifactSource, artifact_mount, artifacts_directory
from components.k8s.gke_policies import gke_service_policies
from components.k8s.keda import INTERCEPTOR, WAKE_HEADER, wake_header_value
from components.k8s.pod import (
    ContainerResources,
    ContainerSpec,
    container,
    object_metadata,
    pod_spec,
    standard_labels,
    workload_service_account,
)
from components.k8s.secrets import secret_mount

COMPONENT = "model-server"
CONFIG_DIR = "/etc/model-config"
# Let load balancers stop sending before the server stops accepting (their deregistration lag).
PRESTOP_SECONDS = 10
VARIANT_LABEL = "mlplatform.io/variant"
PRIMARY = "primary"
SERVICE_PORT = 80
# DCGM exporter's utilisation gauge, served per pod by the metrics adapter.
GPU_UTIL_METRIC = "DCGM_FI_DEV_GPU_UTIL"


# Where the preview finds a request-scaled variant's cold start from zero.
COLD_START_ANNOTATION = "mlplatform.io/cold-start"


@dataclass(frozen=True)
class DemandScaling:
    """Scale on the server's own demand metric, read from Prometheus by KEDA."""

    prometheus_url: str
    # PromQL: the variant's total demand (KEDA divides by `target` for the replica count).
    query: str
    target: float
    # Seconds without demand before KEDA scales to `min` 0 (cooldownPeriod).
    idle_seconds: int
    # What a replica's first answer costs from zero (node boot, weights loading), for the preview.
    cold_start: str | None = None
    # With min 0: the replicas kept while there is demand.
    serving_min: int = 1


@dataclass(frozen=True)
class Autoscaling:
    min: int
    max: int
    cpu: int | None = None
    memory: int | None = None
    gpu_util: int | None = None
    # Set: a KEDA ScaledObject (which owns the HPA) instead of a plain HPA.
    demand: DemandScaling | None = None


@dataclass(frozen=True)
class ModelVariant:
    name: str
    image: pulumi.Input[str]
    weight: int
    autoscaling: Autoscaling


@dataclass(frozen=True)
class Wake:
    """Scale from zero on the first request: the entry route sends the model's traffic through
    the KEDA HTTP add-on's interceptor, which counts it for KEDA and holds it until a replica is
    ready (http-add-on v0.15.0)."""

    # Host names and the path prefix the interceptor sees (after the route's prefix handling).
    hosts: tuple[str, ...]
    path_prefix: str
    # The interceptor's wait for the response headers: the model's request budget, seconds.
    response_timeout_seconds: int


@dataclass(frozen=True)
class Backend:
    """A Service the fanout routes to, with its share of the model's traffic."""

    service: str
    port: int
    weight: int
    # Set: the Service lives in this namespace, not the route's (the wake interceptor).
    namespace: str | None = None
    # Request headers the route sets for this backend.
    request_headers: dict[str, str] = field(default_factory=dict)


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
    # Weights loading: the startup probe's budget.
    startup_seconds: int = 300
    liveness_timeout_seconds: int = 10
    metrics_port: int | None = None
    metrics_path: str | None = None
    # The longest request the server must finish: load balancer timeout and shutdown grace.
    request_timeout_seconds: int | None = None
    # Writable cache (emptyDir sized by resources.cache_size) and HOME.
    cache_dir: str | None = None
    # Non-secret settings: a ConfigMap named by its content, mounted read-only at CONFIG_DIR.
    config: dict[str, str] = field(default_factory=dict)
    # Non-secret settings exposed as environment variables (a second content-named ConfigMap).
    config_env: dict[str, str] = field(default_factory=dict)
    # Env-style name -> secret manager reference: files under SECRETS_DIR, fetched by the
    # Secrets Store CSI driver as the model's identity (which may read exactly these).
    secrets: dict[str, SecretReference] = field(default_factory=dict)
    secret_store: SecretStore | None = None
    # The weights: mounted read-only from the cluster's bucket (or downloaded into the cache).
    artifacts: ArtifactSource | None = None
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
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
    # KEDA (its CRDs and webhooks): the ScaledObjects of variants scaling on demand wait for it.
    keda_depend_on: list[pulumi.Resource] = field(default_factory=list)
    # Set for a model at min 0 (one variant): woken through the HTTP add-on's interceptor.
    wake: Wake | None = None


class ModelService(pulumi.ComponentResource):
    backends: list[Backend]

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:ModelService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        labels = standard_labels(args.model, COMPONENT, args.labels)

        binding = workload_service_account(
            name,
            args.model,
            args.namespace,
            labels,
            args.buckets,
            args.identity,
            self,
            args.depends_on,
            secrets=tuple(args.secrets[key] for key in sorted(args.secrets)),
        )
        pod_labels = dict(binding.pod_labels)

        volumes: list[dict] = []
        mounts: list[dict] = []
        if args.cache_dir is not None:
            volumes.append({"name": "cache", "emptyDir": {"sizeLimit": args.resources.cache_size or "1Gi"}})
            mounts.append({"name": "cache", "mountPath": args.cache_dir})
        pods_wait_for = [*args.depends_on, *args.pods_depend_on]
        self.artifacts = None
        if args.artifacts is not None:
            self.artifacts = artifact_mount(
                name, args.model, args.namespace, args.artifacts, binding, args.pool, args.cache_dir, self
            )
            volumes.extend(self.artifacts.volumes)
            if self.artifacts.volume_mount is not None:
                mounts.append(self.artifacts.volume_mount)
            pods_wait_for.extend(self.artifacts.depends_on)
        self.config_maps: dict[str, k8s.core.v1.ConfigMap] = {}
        if args.config:
            config_name = self._config_map(name, args, "config", args.config, labels, child)
            pods_wait_for.append(self.config_maps["config"])
            volumes.append({"name": "model-config", "configMap": {"name": config_name}})
            mounts.append({"name": "model-config", "mountPath": CONFIG_DIR, "readOnly": True})
        self.env_config_maps = []
        if args.config_env:
            self.env_config_maps.append(self._config_map(name, args, "env", args.config_env, labels, child))
            pods_wait_for.append(self.config_maps["env"])
        self.secret_env: dict[str, str] = {}
        if args.secrets:
            assert args.secret_store is not None  # the config refuses secrets on such clusters
            secrets = secret_mount(
                name, args.model, args.namespace, args.secret_store, args.secrets, binding, labels, self
            )
            volumes.append(secrets.volume)
            mounts.append(secrets.volume_mount)
            pods_wait_for.extend(secrets.depends_on)
            self.secret_env = secrets.env

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
                        "metadata": _pod_metadata(
                            {**variant_labels, **pod_labels, POOL_LABEL: args.pool.name},
                            args,
                            self.artifacts.pod_annotations if self.artifacts else {},
                        ),
                        "spec": pod_spec(
                            [container(self._server(args, variant, mounts), args.pool)],
                            args.pool,
                            args.model,
                            shm_size=args.resources.shm_size,
                            # In-flight requests finish after preStop (and the 30 s floor of old).
                            termination_grace_seconds=PRESTOP_SECONDS
                            + max(30, args.request_timeout_seconds or 0),
                            topology_spread_labels=selector,
                            volumes=volumes,
                            init_containers=self.artifacts.init_containers if self.artifacts else None,
                        ),
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=pods_wait_for),
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
                    "ports": _service_ports(args),
                },
                opts=child,
            )
            # Woken models sit behind the interceptor: the load balancer never sees their Service.
            if args.health_check == "gke-policy" and args.wake is None:
                gke_service_policies(
                    prefix,
                    object_name,
                    args.namespace,
                    variant_labels,
                    args.port,
                    args.readiness_path,
                    args.request_timeout_seconds,
                    child,
                )
            if variant.autoscaling.demand is None:
                k8s.autoscaling.v2.HorizontalPodAutoscaler(
                    f"{prefix}-hpa",
                    metadata=object_metadata(object_name, args.namespace, variant_labels),
                    spec={
                        "scaleTargetRef": _scale_target(object_name),
                        "minReplicas": variant.autoscaling.min,
                        "maxReplicas": variant.autoscaling.max,
                        "metrics": _hpa_metrics(variant.autoscaling),
                        "behavior": SCALING_BEHAVIOR,
                    },
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[
                            deployment,
                            *(args.gpu_metrics_depend_on if variant.autoscaling.gpu_util is not None else []),
                        ],
                    ),
                )
            else:
                demand = variant.autoscaling.demand
                if args.wake is not None:
                    k8s.apiextensions.CustomResource(
                        f"{prefix}-http-scaler",
                        api_version="http.keda.sh/v1alpha1",
                        kind="HTTPScaledObject",
                        metadata=object_metadata(
                            object_name, args.namespace, variant_labels, {SKIP_SCALED_OBJECT: "true"}
                        ),
                        spec=_http_scaled_object_spec(
                            object_name, args.namespace, args.model, variant.autoscaling, demand, args.wake
                        ),
                        opts=pulumi.ResourceOptions(
                            parent=self, depends_on=[deployment, *args.keda_depend_on]
                        ),
                    )
                k8s.apiextensions.CustomResource(
                    f"{prefix}-scaler",
                    api_version="keda.sh/v1alpha1",
                    kind="ScaledObject",
                    metadata=object_metadata(
                        object_name,
                        args.namespace,
                        variant_labels,
                        {COLD_START_ANNOTATION: demand.cold_start} if demand.cold_start else None,
                    ),
                    spec=_scaled_object_spec(object_name, variant.autoscaling, demand, args.wake is not None),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment, *args.keda_depend_on]),
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
            if args.wake is None:
                self.backends.append(Backend(object_name, SERVICE_PORT, variant.weight))
            else:
                self.backends.append(
                    Backend(
                        INTERCEPTOR.service,
                        INTERCEPTOR.port,
                        variant.weight,
                        namespace=INTERCEPTOR.namespace,
                        request_headers={WAKE_HEADER: wake_header_value(args.namespace, args.model)},
                    )
                )

        self.register_outputs({"backends": [b.service for b in self.backends]})

    def _config_map(
        self,
        name: str,
        args: ModelServiceArgs,
        kind: str,
        data: dict[str, str],
        labels: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> str:
        """An immutable ConfigMap whose name carries its content hash: a change makes a new one
        and rolls the Deployments (one edited in place reaches running pods only eventually)."""
        config_name = config_map_name(args.model, data, kind)
        self.config_maps[kind] = k8s.core.v1.ConfigMap(
            f"{name}-{kind}",
            metadata=object_metadata(config_name, args.namespace, labels),
            data=dict(sorted(data.items())),
            immutable=True,
            opts=opts,
        )
        return config_name

    def _server(self, args: ModelServiceArgs, variant: ModelVariant, mounts: list[dict]) -> ContainerSpec:
        http = {"port": "http"}
        env = {**args.env, **self.secret_env, "MODEL_NAME": args.model, "MODEL_VARIANT": variant.name}
        if args.cache_dir is not None:
            # The root filesystem is read-only: libraries that write under ~ need a writable HOME.
            env["HOME"] = args.cache_dir
        if args.config:
            env["MODEL_CONFIG_DIR"] = CONFIG_DIR
        if args.artifacts is not None:
            # The server's `--model $(MODEL_DIR)` (or its own flag) reads the weights from here.
            env["MODEL_DIR"] = artifacts_directory(args.artifacts, args.cache_dir)
        return ContainerSpec(
            name="server",
            image=variant.image,
            resources=args.resources,
            args=args.args,
            env=env,
            port=args.port,
            ports=_metrics_ports(args),
            volume_mounts=mounts,
            env_config_maps=self.env_config_maps,
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
                    "timeoutSeconds": 5,
                },
                # A pod busy with long generations answers late; only a hung one fails this.
                "livenessProbe": {
                    "httpGet": {**http, "path": args.liveness_path},
                    "periodSeconds": 15,
                    "failureThreshold": 4,
                    "timeoutSeconds": args.liveness_timeout_seconds,
                },
                "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}},
            },
        )


def config_map_name(model: str, config: dict[str, str], kind: str = "config") -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    return f"{model}-{kind}-{digest}"


def _metrics_ports(args: ModelServiceArgs) -> dict[str, int]:
    return {"metrics": args.metrics_port} if args.metrics_port not in (None, args.port) else {}


def _service_ports(args: ModelServiceArgs) -> list[dict]:
    ports = [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}]
    if _metrics_ports(args):
        ports.append(
            {"name": "metrics", "port": args.metrics_port, "targetPort": "metrics", "protocol": "TCP"}
        )
    return ports


def _pod_metadata(labels: dict[str, str], args: ModelServiceArgs, annotations: dict[str, str]) -> dict:
    """Pods carry the variant label, so scraped request counts compare per variant; the
    prometheus.io annotations tell annotation-based scrapers where the metrics are; the
    artifacts' driver may ask for more (`annotations`)."""
    metadata: dict = {"labels": labels}
    annotations = dict(annotations)
    if args.metrics_path is not None:
        annotations.update(
            {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(args.metrics_port or args.port),
                "prometheus.io/path": args.metrics_path,
            }
        )
    if annotations:
        metadata["annotations"] = annotations
    return metadata


# Scale out fast, scale in slowly: accelerator nodes are slow to come back.
SCALING_BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
    },
}


def _scale_target(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


# http-add-on v0.15.0 operator/controllers/http/app.go: with this annotation the operator leaves
# the ScaledObject to us (one per Deployment), and the interceptor still routes by the object.
SKIP_SCALED_OBJECT = "httpscaledobject.keda.sh/skip-scaledobject-creation"
# In-flight requests per replica at the interceptor before it asks for more replicas (the CRD's
# default scalingMetric.concurrency.targetValue): the server's own metric sizes the model, the
# interceptor's count wakes it.
WAKE_CONCURRENCY = 100


def _http_scaled_object_spec(
    name: str, namespace: str, model: str, autoscaling: Autoscaling, demand: DemandScaling, wake: Wake
) -> dict:
    """An HTTPScaledObject (http.keda.sh/v1alpha1, CRD at http-add-on v0.15.0,
    config/crd/bases/http.keda.sh_httpscaledobjects.yaml): what the interceptor routes to
    the model's Service (hosts, pathPrefixes and headers all match) and counts for the scaler."""
    spec: dict = {
        "pathPrefixes": [wake.path_prefix],
        "headers": [{"name": WAKE_HEADER, "value": wake_header_value(namespace, model)}],
        "scaleTargetRef": {**_scale_target(name), "service": name, "port": SERVICE_PORT},
        "replicas": {"min": 0, "max": autoscaling.max},
        "scaledownPeriod": demand.idle_seconds,
        "scalingMetric": {"concurrency": {"targetValue": WAKE_CONCURRENCY}},
        # The readiness wait stays disabled (the code default since v0.14.0): the first request
        # waits for the cold start; the response headers then get the request budget.
        "timeouts": {"responseHeader": f"{wake.response_timeout_seconds}s"},
    }
    if wake.hosts:
        spec["hosts"] = list(wake.hosts)
    return spec


def _scaled_object_spec(name: str, autoscaling: Autoscaling, demand: DemandScaling, wake: bool) -> dict:
    """A KEDA v2.20 ScaledObject (keda.sh/docs/2.20/reference/scaledobject-spec; prometheus trigger:
    keda.sh/docs/2.20/scalers/prometheus, metadata serverAddress/query/threshold, metricType
    AverageValue by default: replicas = ceil(query / threshold)). CPU and memory targets become
    KEDA's cpu/memory triggers: KEDA owns the HPA, a second HPA on the Deployment would fight it.
    A woken model adds the HTTP add-on's external-push trigger (the one the add-on would create:
    http-add-on v0.15.0 pkg/k8s/scaledobject.go, metadata scalerAddress and httpScaledObject):
    its requests count while no replica runs, so the first one wakes the model."""
    triggers: list[dict] = [
        {
            "type": "prometheus",
            "metadata": {
                "serverAddress": demand.prometheus_url,
                "query": demand.query,
                "threshold": f"{demand.target:g}",
                # Any demand at all wakes a variant at zero.
                "activationThreshold": "0",
            },
        }
    ]
    if wake:
        triggers.append(
            {
                "type": "external-push",
                "metadata": {"scalerAddress": INTERCEPTOR.scaler_address, "httpScaledObject": name},
            }
        )
    for resource, target in (("cpu", autoscaling.cpu), ("memory", autoscaling.memory)):
        if target is not None:
            triggers.append(
                {"type": resource, "metricType": "Utilization", "metadata": {"value": str(target)}}
            )
    bounds: dict = {"minReplicaCount": autoscaling.min, "maxReplicaCount": autoscaling.max}
    if autoscaling.min == 0:
        # Idle: no replica; any demand: at least serving_min (idleReplicaCount must be below
        # minReplicaCount, and 0 is its only supported value).
        bounds = {
            "idleReplicaCount": 0,
            "minReplicaCount": demand.serving_min,
            "maxReplicaCount": autoscaling.max,
        }
    return {
        "scaleTargetRef": _scale_target(name),
        **bounds,
        "pollingInterval": 15,
        "cooldownPeriod": demand.idle_seconds,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": SCALING_BEHAVIOR}},
        "triggers": triggers,
    }


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
