"""The wiring of one stack: validated config in, components out.

Clusters first (one cloud platform component each), then on every cluster the workloads
placed on it: team namespaces, monitoring (Prometheus, DCGM exporter on the models' GPU
pools), the GPU metrics API if a model scales on GPU utilisation,
model services, the fanout entry point and batch jobs.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

import pulumi

from components.handle import ClusterHandle, SecretReference
from components.k8s.artifacts import ArtifactSource
from components.k8s.dashboards import ModelDashboard, series_selector
from components.k8s.fanout import Fanout, FanoutArgs, RouteSpec
from components.k8s.gpu_metrics import GpuMetrics, GpuMetricsArgs
from components.k8s.image_policy import ImageAdmissionPolicy, ImageAdmissionPolicyArgs, registry_prefix
from components.k8s.jobs import BatchJob, BatchJobArgs, Schedule
from components.k8s.keda import INTERCEPTOR, Keda, KedaArgs
from components.k8s.model_service import (
    PRIMARY,
    Autoscaling,
    DemandScaling,
    ModelService,
    ModelServiceArgs,
    ModelVariant,
    Wake,
)
from components.k8s.monitoring import NAMESPACE as MONITORING_NAMESPACE
from components.k8s.monitoring import PROMETHEUS_URL, Monitoring, MonitoringArgs
from components.k8s.namespace import QuotaLimits, TeamNamespace, TeamNamespaceArgs
from components.k8s.pod import Artifacts, ContainerResources, bucket_env
from components.k8s.servers import CUSTOM, PRESETS
from stacks.cold_start import node_boot_seconds
from stacks.config import StackConfig
from stacks.images import helper_image_repositories
from stacks.workloads import Artifacts as ArtifactsConfig
from stacks.workloads import Autoscale, ImageOverride, ImageRef, JobConfig, ModelConfig, Resources

# cloud -> module whose `build_cluster(name, cluster, stack) -> ClusterHandle` declares that
# cloud's platform component. Imported only when a stack uses the cloud: each SDK costs
# import time.
CLOUD_MODULES = {
    "gcp": "components.gcp.platform",
    "aws": "components.aws.platform",
    "azure": "components.azure.platform",
    "existing": "components.k8s.existing",
}


def build_platform(stack: StackConfig) -> dict[str, ClusterHandle]:
    """Declare every cluster of the stack and its workloads; returns each cluster's handle."""
    handles: dict[str, ClusterHandle] = {}
    for name, cluster in stack.clusters.items():
        module = importlib.import_module(CLOUD_MODULES[cluster.cloud])
        handles[name] = module.build_cluster(name, cluster, stack)
    for name, handle in handles.items():
        address = build_workloads(stack, name, handle)
        if address is not None:
            handles[name] = dataclasses.replace(handle, entry_address=address)
    return handles


def build_workloads(stack: StackConfig, cluster_name: str, handle: ClusterHandle) -> pulumi.Input[str] | None:
    """Declare the cluster's team namespaces, models, fanout and jobs; returns where the fanout
    answers (None without routes)."""
    cluster = stack.clusters[cluster_name]
    models = {n: m for n, m in stack.models.items() if stack.cluster_of(m) == cluster_name}
    jobs = {n: j for n, j in stack.jobs.items() if stack.cluster_of(j) == cluster_name}
    if not models and not jobs:
        return None
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": handle.kubernetes_provider})
    labels = stack.labels

    # GKE admits images through Binary Authorization (its platform component); elsewhere a
    # ValidatingAdmissionPolicy does it in the team namespaces.
    if handle.cloud != "gcp":
        ImageAdmissionPolicy(
            f"{cluster_name}-image-policy",
            ImageAdmissionPolicyArgs(allowed_prefixes=allowed_image_prefixes(stack, handle), labels=labels),
            opts=k8s_opts,
        )

    namespaces: dict[str, TeamNamespace] = {}
    for team in stack.teams_on(cluster_name):
        config = stack.teams[team]
        quota = config.quota
        namespaces[team] = TeamNamespace(
            f"{cluster_name}-{team}",
            TeamNamespaceArgs(
                namespace=team,
                # The groups the cluster's tokens carry for the team (EKS: its access entries').
                deployers=stack.rbac_subjects(cluster_name, team, "deployers"),
                viewers=stack.rbac_subjects(cluster_name, team, "viewers"),
                quota=QuotaLimits(quota.cpu, quota.memory, quota.gpu, quota.tpu, quota.pods)
                if quota
                else None,
                ingress_cidrs=list(handle.routing.source_cidrs),
                ingress_namespace=handle.routing.source_namespace,
                extra_egress=list(handle.extra_egress),
                metrics_namespace=MONITORING_NAMESPACE if models else None,
                wake_source=(INTERCEPTOR.namespace, dict(INTERCEPTOR.pod_labels))
                if any(_wakes(m) and stack.team_of(m) == team for m in models.values())
                else None,
                labels=labels,
            ),
            opts=k8s_opts,
        )

    # Each workload waits for its namespace, its own pool and the add-ons it needs, never for
    # the pools it does not use (handle.ready_for).
    monitoring = None
    if models:
        gpu_pools = sorted({m.pool for m in models.values() if m.resources.gpu})
        monitoring = Monitoring(
            f"{cluster_name}-monitoring",
            MonitoringArgs(
                system_pool=handle.pools[handle.system_pool],
                gpu_pools=[handle.pools[pool] for pool in gpu_pools],
                gpu_node_host=handle.gpu_node_host,
                retention_days=stack.monitoring.retention(stack.environment),
                volume_size=stack.monitoring.volume_size(stack.environment),
                labels=labels,
                gpu_pools_ready=handle.ready_for(*gpu_pools),
                system_pool_ready=handle.ready_for(handle.system_pool),
                dashboards=[_dashboard(n, m, stack.team_of(m)) for n, m in models.items()]
                if stack.monitoring.grafana
                else None,
                formerly=f"{cluster_name}-gpu-metrics",
            ),
            opts=k8s_opts,
        )
    gpu_metrics_api: list[pulumi.Resource] = []
    if monitoring is not None and any(_scales_on_gpu(m) for m in models.values()):
        metrics = GpuMetrics(
            f"{cluster_name}-gpu-metrics",
            GpuMetricsArgs(
                system_pool=handle.pools[handle.system_pool],
                prometheus_ready=[monitoring.prometheus],
            ),
            opts=k8s_opts,
        )
        gpu_metrics_api.append(metrics.metrics_api)
    keda: list[pulumi.Resource] = []
    if monitoring is not None and any(_scales_on_requests(m) for m in models.values()):
        woken = [m for m in models.values() if _wakes(m)]
        installed = Keda(
            f"{cluster_name}-keda",
            KedaArgs(
                system_pool=handle.pools[handle.system_pool],
                system_pool_ready=handle.ready_for(handle.system_pool),
                http_add_on=bool(woken),
                gke_policies=handle.routing.health_check == "gke-policy",
                interceptor_timeout_seconds=max((_route_timeout(m, handle) for m in woken), default=None),
                labels=labels,
            ),
            opts=k8s_opts,
        )
        keda.append(installed.release)
        if installed.http_add_on is not None:
            keda.append(installed.http_add_on)

    routes: list[RouteSpec] = []
    for model_name, model in models.items():
        team = stack.team_of(model)
        preset = PRESETS.get(model.server, CUSTOM)
        port = model.port or preset.port
        request_timeout = _request_timeout(model)
        service = ModelService(
            f"{cluster_name}-{model_name}",
            ModelServiceArgs(
                model=model_name,
                namespace=team,
                pool=handle.pools[model.pool],
                port=port,
                resources=_container_resources(
                    model.resources, model.resources.cache_size or preset.cache_size
                ),
                variants=_variants(model_name, model, team, handle),
                liveness_path=model.probes.liveness_path or preset.liveness_path,
                readiness_path=model.probes.readiness_path or preset.readiness_path,
                startup_seconds=model.load_seconds or model.probes.startup_seconds or preset.load_seconds,
                liveness_timeout_seconds=preset.liveness_timeout_seconds,
                # The preset's metrics port is its default port's neighbour: moving `port` keeps it.
                metrics_port=port if preset.metrics_port == preset.port else preset.metrics_port,
                metrics_path=preset.metrics_path,
                request_timeout_seconds=request_timeout,
                cache_dir=preset.cache_dir
                if model.server != "custom" or model.resources.cache_size
                else None,
                config=model.config,
                config_env=model.config_env,
                secrets={key: SecretReference(ref.name, ref.version) for key, ref in model.secrets.items()},
                secret_store=handle.secret_store,
                artifacts=_artifact_source(handle, model.artifacts),
                env={
                    **preset.env,
                    **_bucket_env(handle, model.buckets, model.artifacts),
                    **model.env,
                },
                args=[*preset.args, *model.args],
                labels=labels,
                buckets=dict(model.buckets),
                identity=handle.identity,
                health_check=handle.routing.health_check,
                depends_on=[namespaces[team]],
                pods_depend_on=handle.ready_for(model.pool),
                gpu_metrics_depend_on=gpu_metrics_api,
                keda_depend_on=keda,
                wake=Wake(
                    hosts=tuple(cluster.routing.hosts),
                    path_prefix="/" if model.route.strip_prefix else model.route.path,
                    response_timeout_seconds=request_timeout,
                )
                if _wakes(model) and model.route is not None and request_timeout is not None
                else None,
            ),
            opts=k8s_opts,
        )
        if model.route is not None:
            routes.append(
                RouteSpec(
                    model_name,
                    team,
                    model.route.path,
                    service.backends,
                    service,
                    strip_prefix=model.route.strip_prefix,
                    timeout_seconds=_route_timeout(model, handle),
                )
            )

    fanout = None
    if routes:
        mode = cluster.routing_mode
        routing = handle.routing
        class_name = cluster.routing.class_name or (
            routing.gateway_class if mode == "gateway" else routing.ingress_class
        )
        fanout = Fanout(
            f"{cluster_name}-fanout",
            FanoutArgs(
                mode=mode,  # type: ignore[arg-type]
                class_name=class_name or "",
                routing=routing,
                routes=routes,
                hosts=tuple(cluster.routing.hosts),
                labels=labels,
            ),
            opts=k8s_opts,
        )

    for job_name, job in jobs.items():
        team = stack.team_of(job)
        BatchJob(
            f"{cluster_name}-{job_name}",
            _job_args(job_name, job, stack.parallelism_of(job), team, handle, labels, [namespaces[team]]),
            opts=k8s_opts,
        )
    return fanout.address if fanout is not None else None


def _job_args(
    name: str,
    job: JobConfig,
    parallelism: int,
    team: str,
    handle: ClusterHandle,
    labels: dict[str, str],
    depends_on: list,
) -> BatchJobArgs:
    schedule = None
    if job.schedule is not None:
        schedule = Schedule(
            cron=job.schedule,
            time_zone=job.time_zone,
            concurrency_policy=job.concurrency_policy,
            starting_deadline_seconds=job.starting_deadline_seconds,
            successful_jobs_history_limit=job.successful_jobs_history_limit,
            failed_jobs_history_limit=job.failed_jobs_history_limit,
        )
    return BatchJobArgs(
        job=name,
        namespace=team,
        pool=handle.pools[job.pool],
        image=image_reference(job.image, handle),
        resources=_container_resources(job.resources),
        command=job.command,
        args=job.args,
        env=job.env,
        bucket_env=_bucket_env(handle, job.buckets, job.artifacts),
        backoff_limit=job.backoff_limit,
        restart_policy=job.restart_policy,
        active_deadline_seconds=job.active_deadline_seconds,
        ttl_seconds_after_finished=job.ttl_seconds_after_finished,
        parallelism=parallelism,
        schedule=schedule,
        labels=labels,
        buckets=dict(job.buckets),
        identity=handle.identity,
        artifacts=_artifact_source(handle, job.artifacts),
        depends_on=depends_on,
        pods_depend_on=handle.ready_for(job.pool),
    )


def _variants(model_name: str, model: ModelConfig, team: str, handle: ClusterHandle) -> list[ModelVariant]:
    scaling = DemandContext(model_name, model, team, handle)
    variants = [
        ModelVariant(
            PRIMARY,
            image_reference(model.image, handle),
            model.primary_weight,
            scaling.autoscaling(PRIMARY, model.autoscale),
        )
    ]
    for name, variant in model.variants.items():
        variants.append(
            ModelVariant(
                name,
                image_reference(_override(model.image, variant.image), handle),
                variant.weight,
                scaling.autoscaling(name, variant.autoscale or model.autoscale),
            )
        )
    return variants


def _bucket_env(handle: ClusterHandle, buckets: dict, artifacts) -> dict[str, pulumi.Input[str]]:
    return bucket_env(
        handle.cloud,
        handle.buckets,
        buckets,
        Artifacts(artifacts.bucket, artifacts.path) if artifacts and artifacts.bucket else None,
    )


def _artifact_source(handle: ClusterHandle, artifacts: ArtifactsConfig | None) -> ArtifactSource | None:
    """The cluster's bucket through its driver, or (existing clusters) the URI to download."""
    if artifacts is None:
        return None
    if artifacts.uri is not None:
        return ArtifactSource(path=artifacts.uri.split("://", 1)[1], uri=artifacts.uri)
    driver = handle.bucket_driver
    assert driver is not None and artifacts.bucket is not None  # the config checked both
    return ArtifactSource(path=artifacts.path, bucket=driver.names[artifacts.bucket], driver=driver)


def _dashboard(name: str, model: ModelConfig, team: str) -> ModelDashboard:
    variants = {PRIMARY: name, **{variant: f"{name}-{variant}" for variant in model.variants}}
    return ModelDashboard(
        name, team, variants, PRESETS.get(model.server, CUSTOM).panels, gpu=bool(model.resources.gpu)
    )


def _wakes(model: ModelConfig) -> bool:
    """At min 0 (one variant, a route on a Gateway: the config checked): woken by its first
    request through the KEDA HTTP add-on's interceptor."""
    return model.autoscale.min == 0


def _request_timeout(model: ModelConfig) -> int | None:
    preset = PRESETS.get(model.server, CUSTOM)
    return (model.route.timeout_seconds if model.route else None) or preset.request_timeout_seconds


def _route_timeout(model: ModelConfig, handle: ClusterHandle) -> int | None:
    """The load balancer's budget for the route: the request's, plus the cold start for a
    woken model (its first request waits at the interceptor for a replica)."""
    request = _request_timeout(model)
    if request is None or not _wakes(model):
        return request
    return request + _cold_start_seconds(model, handle)[2]


def _cold_start_seconds(model: ModelConfig, handle: ClusterHandle) -> tuple[int, int, int]:
    """(node boot, weights load, total) seconds from zero replicas to the first answer."""
    pool = handle.pools[model.pool]
    boot = node_boot_seconds(handle.cloud, pool.kind)
    load = model.load_seconds or model.probes.startup_seconds or PRESETS[model.server].load_seconds
    return boot, load, boot + load


def _scales_on_requests(model: ModelConfig) -> bool:
    return any(autoscale.requests is not None for _, autoscale in model.autoscale_settings)


def _scales_on_gpu(model: ModelConfig) -> bool:
    return any(autoscale.gpu_util is not None for _, autoscale in model.autoscale_settings)


def _override(base: ImageRef, override: ImageOverride) -> ImageRef:
    if override.repository is None and override.name is None:
        return base.model_copy(update={"tag": override.tag})
    return ImageRef(repository=override.repository, name=override.name, tag=override.tag)


def allowed_image_prefixes(stack: StackConfig, handle: ClusterHandle) -> list[pulumi.Input[str]]:
    """The cluster's registry, the stack's allow-list and the platform's own helper images (one
    repository each, any tag), as the prefixes images must start with."""
    own = [handle.registry_url.apply(registry_prefix)] if handle.registry_url is not None else []
    return [
        *own,
        *stack.image_policy.prefixes,
        *(f"{repository}:" for repository in helper_image_repositories()),
    ]


def image_reference(image: ImageRef, handle: ClusterHandle) -> pulumi.Input[str]:
    if image.name is not None:
        return f"{image.name}:{image.tag}"
    assert handle.registry_url is not None  # the config rejects a repository without a registry
    reference = f"{image.repository}:{image.tag}"
    return handle.registry_url.apply(lambda url: f"{url}/{reference}")


@dataclass(frozen=True)
class DemandContext:
    """What a variant's request autoscaler needs: its series in Prometheus and the cold start
    from zero (node boot from the dated catalog, weights loading from the preset)."""

    model_name: str
    model: ModelConfig
    team: str
    handle: ClusterHandle

    def autoscaling(self, variant: str, autoscale: Autoscale) -> Autoscaling:
        demand = None
        if autoscale.requests is not None:
            preset = PRESETS[self.model.server]
            assert preset.demand is not None  # the config refuses request scaling without one
            selector = series_selector(self.team, self.model_name, variant)
            demand = DemandScaling(
                prometheus_url=PROMETHEUS_URL,
                query=preset.demand.query(selector),
                target=autoscale.requests.target,
                idle_seconds=autoscale.requests.idle_seconds,
                cold_start=self._cold_start() if autoscale.min == 0 else None,
                serving_min=autoscale.requests.serving_min,
            )
        return Autoscaling(
            autoscale.min, autoscale.max, autoscale.cpu, autoscale.memory, autoscale.gpu_util, demand
        )

    def _cold_start(self) -> str:
        boot, load, total = _cold_start_seconds(self.model, self.handle)
        kind = self.handle.pools[self.model.pool].kind
        return (
            f"up to {total} s before the first answer from zero: node boot ~{boot} s "
            f"({self.handle.cloud} {kind} pool) + weights load up to {load} s"
        )


def _container_resources(resources: Resources, cache_size: str | None = None) -> ContainerResources:
    return ContainerResources(
        cpu=resources.cpu,
        memory=resources.memory,
        cpu_limit=resources.cpu_limit or resources.cpu,
        memory_limit=resources.memory_limit or resources.memory,
        ephemeral_storage=resources.ephemeral_storage,
        accelerators=resources.gpu or resources.tpu,
        cache_size=cache_size,
    )


def export_outputs(handles: dict[str, ClusterHandle]) -> None:
    """One structured output per cluster: `pulumi stack output main --show-secrets`, or
    `pulumi stack output main --json | jq -r .registry` in scripts."""
    for name, handle in handles.items():
        output: dict[str, Any] = {"cloud": handle.cloud}
        if handle.access is not None:
            output["name"] = handle.access.name
            output["endpoint"] = handle.access.endpoint
            output["kubeconfig"] = pulumi.Output.secret(handle.access.kubeconfig)
            if handle.access.credentials_policy is not None:
                output["credentialsPolicyArn"] = handle.access.credentials_policy
        if handle.registry_url is not None:
            output["registry"] = handle.registry_url
        output["buckets"] = dict(handle.buckets)
        if handle.certificate_dns_records is not None:
            output["certificateDnsRecords"] = handle.certificate_dns_records
        if handle.entry_address is not None:
            # What the hosts' DNS records point at: an A record for an IP, a CNAME for a name.
            output["gatewayAddress"] = handle.entry_address
        pulumi.export(name, output)
