"""The stack config: every `mlplatform:*` key of a stack file, as one validated model."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, model_validator

from components.k8s.servers import CUSTOM as CUSTOM_SERVER
from components.k8s.servers import PRESETS
from stacks import kubernetes_rules, versions
from stacks.base import StrictModel, is_dns_label, rule_error
from stacks.clusters import ClusterConfig
from stacks.workloads import MAX_JOB_NAME, MAX_MODEL_NAME, JobConfig, ModelConfig, Resources, TeamConfig

# Cluster names prefix many physical names (node pools, service accounts: 30 characters on
# GCP); Pulumi appends an 8-character suffix, so keep them short.
MAX_CLUSTER_NAME = 16
# Namespaces carry suffixed objects and appear in identity subjects: keep them short too.
MAX_TEAM_NAME = 30
GUID = r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}"
# Pulumi autonames a resource `<logical name>-<7 random characters>`.
AUTONAME_SUFFIX = 8
# GKE node pool names: 1-40 characters (gcloud container node-pools create, NAME); GCS bucket
# names: 3-63 characters, no "google" anywhere and no "goog" prefix
# (https://cloud.google.com/storage/docs/buckets#naming).
GKE_NODE_POOL_NAME = 40
GCS_BUCKET_NAME = 63


class Budget(StrictModel):
    monthly_max_usd: float = Field(gt=0, description="USD a month; the cost envelope's ceiling must fit")


class Ownership(StrictModel):
    """Who pays and who to call: stamped as labels/tags on every taggable resource."""

    owner: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")
    cost_center: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")


# Days Prometheus keeps samples when `monitoring.retentionDays` is unset: long enough for a
# month-over-month look in prod, a week elsewhere (the chart's own default is 15 days).
DEFAULT_RETENTION_DAYS = {"prod": 30}
OTHER_RETENTION_DAYS = 7
# Prometheus needs roughly 1-2 bytes per sample on disk (prometheus.io/docs/prometheus/latest/
# storage, "Operational aspects"); 2 GiB a day holds a platform's few thousand series at a 1-minute
# scrape with room to spare. Never below the 20 Gi the chart-based setup started with.
VOLUME_GIB_PER_DAY = 2
MIN_VOLUME_GIB = 20


class MonitoringConfig(StrictModel):
    """Prometheus (nodes, GPUs, model servers) and Grafana with a dashboard per model."""

    retention_days: int | None = Field(
        default=None, ge=1, le=365, description="days of metrics kept; default 30 in prod, 7 elsewhere"
    )
    grafana: bool = Field(default=True, description="install Grafana with a dashboard per model")

    def retention(self, environment: str) -> int:
        return self.retention_days or DEFAULT_RETENTION_DAYS.get(environment, OTHER_RETENTION_DAYS)

    def volume_size(self, environment: str) -> str:
        return f"{max(MIN_VOLUME_GIB, VOLUME_GIB_PER_DAY * self.retention(environment))}Gi"


class StackConfig(StrictModel):
    environment: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,15}$",
        description="dev, staging, prod...: labels every resource; picks policies/config/<environment>.json",
    )
    ownership: Ownership = Field(description="who owns and pays: labels/tags on every taggable resource")
    budget: Budget = Field(description="the monthly cost cap the cost-budget policy holds the ceiling to")
    clusters: dict[str, ClusterConfig] = Field(
        min_length=1, description="cluster name -> its cloud, network, registry, buckets and pools"
    )
    teams: dict[str, TeamConfig] = Field(
        default_factory=dict, description="team name -> its namespace, access groups and quota"
    )
    models: dict[str, ModelConfig] = Field(
        default_factory=dict, description="model name -> a served model (Deployment, Service, HPA, route)"
    )
    jobs: dict[str, JobConfig] = Field(
        default_factory=dict, description="job name -> a training Job, or a CronJob when it has a schedule"
    )
    monitoring: MonitoringConfig = Field(
        default_factory=MonitoringConfig,
        description="metrics retention and dashboards of every cluster that serves models",
    )

    @model_validator(mode="after")
    def _cluster_names_and_networks(self) -> StackConfig:
        seen: dict[str, tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        for name, cluster in self.clusters.items():
            if not is_dns_label(name, MAX_CLUSTER_NAME):
                raise rule_error(
                    ("clusters", name),
                    f"cluster name {name!r} must be lowercase letters, digits and '-', "
                    f"start with a letter, at most {MAX_CLUSTER_NAME} characters",
                )
            if cluster.cloud == "gcp":
                _check_gcp_physical_names(name, cluster)
            if cluster.network is None:
                continue
            network = ipaddress.ip_network(cluster.network.cidr)
            for other, (other_cidr, other_network) in seen.items():
                if network.overlaps(other_network):
                    raise rule_error(
                        ("clusters", name, "network", "cidr"),
                        f"{cluster.network.cidr} overlaps cluster {other!r} ({other_cidr}); "
                        "give each cluster its own range so networks can be peered",
                    )
            seen[name] = (cluster.network.cidr, network)
        return self

    @model_validator(mode="after")
    def _workloads_fit_their_clusters(self) -> StackConfig:
        for name in self.teams:
            if not is_dns_label(name, MAX_TEAM_NAME):
                raise rule_error(
                    ("teams", name),
                    f"team {name!r} becomes a namespace: a DNS label of at most {MAX_TEAM_NAME}",
                )
            reserved = kubernetes_rules.reserved_namespace_problem(name)
            if reserved:
                raise rule_error(("teams", name), reserved)
        for name in set(self.models) & set(self.jobs):
            raise rule_error(("jobs", name), f"{name!r} names a model too; give the job another name")
        routes: dict[tuple[str, str], str] = {}
        for name, model in self.models.items():
            where = ("models", name)
            _check_name(where, name, MAX_MODEL_NAME)
            cluster_name, cluster = self._placement(where, model.cluster)
            self._check_team(where, model.team)
            _check_workload(where, model, cluster_name, cluster)
            _check_minimum_fits_pool(where, model, cluster)
            _check_request_scaling(where, model, cluster)
            if model.autoscale.gpu_util is not None and not model.resources.gpu:
                raise rule_error(
                    (*where, "autoscale", "gpuUtil"), "gpuUtil needs a model that requests a gpu"
                )
            if model.route is not None:
                path = model.route.path.rstrip("/") or "/"
                if (cluster_name, path) in routes:
                    raise rule_error(
                        (*where, "route", "path"),
                        f"{model.route.path} is already routed to model {routes[(cluster_name, path)]!r} "
                        f"on cluster {cluster_name!r}",
                    )
                routes[(cluster_name, path)] = name
            if model.variants and not cluster.weighted_routing:
                raise rule_error(
                    (*where, "variants"),
                    f"cluster {cluster_name!r} routes through an Ingress, which on {cluster.cloud} "
                    "cannot split traffic by weight; use routing.mode: gateway or drop the variants",
                )
            if (
                model.route is not None
                and model.route.strip_prefix
                and cluster.routing_mode == "ingress"
                and cluster.cloud not in PREFIX_REWRITING_INGRESS_CLOUDS
            ):
                # networking.k8s.io/v1 Ingress has no rewrite field; only the ALB's transforms
                # annotation (AWS LB Controller v2.14) does it among the classes wired here.
                raise rule_error(
                    (*where, "route", "stripPrefix"),
                    f"cluster {cluster_name!r} routes through an Ingress "
                    f"({cluster.routing.class_name or cluster.cloud + ' default class'}), which has no "
                    "standard way to strip a path prefix: use routing.mode: gateway (HTTPRoute "
                    "URLRewrite) or set stripPrefix: false and serve the full path",
                )
        self._derived_names_unique()
        self._team_identities_work_on_their_clusters()
        self._quotas_hold_their_workloads()
        for name, job in self.jobs.items():
            where = ("jobs", name)
            _check_name(where, name, MAX_JOB_NAME if job.schedule else 63)
            cluster_name, cluster = self._placement(where, job.cluster)
            self._check_team(where, job.team)
            _check_workload(where, job, cluster_name, cluster)
        return self

    def _team_identities_work_on_their_clusters(self) -> None:
        """A RoleBinding subject grants nothing unless the cluster's tokens carry it."""
        for name, cluster in self.clusters.items():
            if cluster.cloud != "azure":
                continue
            on_cluster = set(self.team_subjects_on(name))
            for team_name, team in self.teams.items():
                for role in ("deployers", "viewers"):
                    for index, subject in enumerate(getattr(team, role)):
                        if subject in on_cluster and not re.fullmatch(GUID, subject):
                            raise rule_error(
                                ("teams", team_name, role, index),
                                f"{subject!r} cannot work on AKS cluster {name!r}: AKS puts Entra group "
                                "object IDs in tokens, not names or e-mails (Azure/AKS#515); give the "
                                "group's object ID (az ad group show --group <name> --query id)",
                            )

    def _quotas_hold_their_workloads(self) -> None:
        """A team's quota admits every model at its minimum replicas and every job's pods at once:
        below that, ResourceQuota admission refuses pods and a deploy waits until it times out."""
        for team_name, team in self.teams.items():
            if team.quota is None:
                continue
            need = {"cpu": 0.0, "memory": 0.0, "gpu": 0, "tpu": 0, "pods": 0}
            for model in self.models.values():
                if self.team_of(model) == team_name:
                    _add_pods(need, model.resources, model.minimum_replicas)
            for job in self.jobs.values():
                if self.team_of(job) == team_name:
                    _add_pods(need, job.resources, job.parallelism)
            quota = team.quota
            have = {
                "cpu": kubernetes_rules.quantity(quota.cpu),
                "memory": kubernetes_rules.quantity(quota.memory),
                "gpu": quota.gpu,
                "tpu": quota.tpu,
                "pods": quota.pods,
            }
            for key, needed in need.items():
                if needed > have[key] + 1e-9:
                    shown = f"{needed / 2**30:g}Gi" if key == "memory" else f"{needed:g}"
                    raise rule_error(
                        ("teams", team_name, "quota", key),
                        f"the team's models at their minimum replicas and its jobs need {shown} {key} "
                        f"(limits), more than the quota allows: raise it to at least {shown}",
                    )

    def _derived_names_unique(self) -> None:
        """Resources are named `<cluster>-<model>[-<variant>]`: two entries whose names join to
        the same string would declare one URN twice, which the Pulumi engine refuses."""
        seen: dict[str, str] = {}
        for name, model in self.models.items():
            cluster = self.cluster_of(model)
            entries = {f"{cluster}-{name}": f"models.{name}"}
            entries.update({f"{cluster}-{name}-{v}": f"models.{name}.variants.{v}" for v in model.variants})
            for derived, key in entries.items():
                if derived in seen:
                    raise rule_error(
                        tuple(key.split(".")),
                        f"names the same resources ({derived!r}) as mlplatform:{seen[derived]}: "
                        "rename one of them",
                    )
                seen[derived] = key

    def _placement(self, where: tuple[str, ...], cluster: str | None) -> tuple[str, ClusterConfig]:
        if cluster is None:
            if len(self.clusters) > 1:
                raise rule_error(
                    (*where, "cluster"),
                    f"the stack has several clusters: name one of {sorted(self.clusters)}",
                )
            return next(iter(self.clusters.items()))
        if cluster not in self.clusters:
            raise rule_error(
                (*where, "cluster"), f"no cluster {cluster!r} (clusters: {', '.join(self.clusters)})"
            )
        return cluster, self.clusters[cluster]

    def _check_team(self, where: tuple[str, ...], team: str | None) -> None:
        if team is None:
            if len(self.teams) != 1:
                raise rule_error(
                    (*where, "team"),
                    "name the team (namespace) it belongs to"
                    if self.teams
                    else "declare mlplatform:teams (the namespaces workloads run in)",
                )
        elif team not in self.teams:
            raise rule_error(
                (*where, "team"), f"no team {team!r} in mlplatform:teams ({', '.join(self.teams)})"
            )

    def team_subjects_on(self, cluster: str) -> list[str]:
        """Deployers and viewers of every team with a workload on `cluster`, each once."""
        teams = {
            self.team_of(w)
            for w in [*self.models.values(), *self.jobs.values()]
            if self.cluster_of(w) == cluster
        }
        subjects = [
            s for team in sorted(teams) for s in [*self.teams[team].deployers, *self.teams[team].viewers]
        ]
        return list(dict.fromkeys(subjects))

    def cluster_of(self, workload: ModelConfig | JobConfig) -> str:
        return workload.cluster or next(iter(self.clusters))

    def team_of(self, workload: ModelConfig | JobConfig) -> str:
        return workload.team or next(iter(self.teams))

    @property
    def warnings(self) -> list[str]:
        """What is valid today but needs attention soon (e.g. a version's support ending)."""
        found = []
        today = versions.run_date()
        for name, cluster in self.clusters.items():
            phase = cluster.support_phase
            if phase is not None and cluster.kubernetes_version is not None:
                warning = versions.expiry_warning(cluster.cloud, cluster.kubernetes_version, phase, today)
                if warning:
                    found.append(f"mlplatform:clusters.{name}.kubernetesVersion: {warning}: plan the upgrade")
        return found

    @property
    def labels(self) -> dict[str, str]:
        """Ownership labels in a form every cloud accepts (GCP: lowercase, '-', '_')."""
        return {
            "owner": self.ownership.owner,
            "environment": self.environment,
            "cost-center": self.ownership.cost_center,
            "managed-by": "pulumi",
        }


def _check_gcp_physical_names(name: str, cluster: ClusterConfig) -> None:
    """Node pools and buckets are autonamed `<cluster>-<name>-<suffix>`: the whole must fit."""
    for pool in cluster.pools:
        physical = len(f"{name}-{pool}") + AUTONAME_SUFFIX
        if physical > GKE_NODE_POOL_NAME:
            raise rule_error(
                ("clusters", name, "pools", pool),
                f"GKE names this node pool {name}-{pool}-<suffix> ({physical} characters), beyond its limit "
                f"of {GKE_NODE_POOL_NAME}: shorten the pool or cluster name",
            )
    for bucket in cluster.buckets:
        derived = f"{name}-{bucket}"
        if len(derived) + AUTONAME_SUFFIX > GCS_BUCKET_NAME:
            raise rule_error(
                ("clusters", name, "buckets", bucket),
                f"the GCS bucket {derived}-<suffix> would exceed {GCS_BUCKET_NAME} characters: shorten the "
                "bucket or cluster name",
            )
        if "google" in derived or derived.startswith("goog") or "g00gle" in derived:
            raise rule_error(
                ("clusters", name, "buckets", bucket),
                f"GCS refuses bucket names containing 'google' or starting with 'goog' ({derived}-<suffix>): "
                "rename the bucket or cluster",
            )


def _add_pods(need: dict[str, float], resources: Resources, count: int) -> None:
    need["cpu"] += count * kubernetes_rules.quantity(resources.cpu_limit or resources.cpu)
    need["memory"] += count * kubernetes_rules.quantity(resources.memory_limit or resources.memory)
    need["gpu"] += count * resources.gpu
    need["tpu"] += count * resources.tpu
    need["pods"] += count


def _check_minimum_fits_pool(where: tuple[str, ...], model: ModelConfig, cluster: ClusterConfig) -> None:
    """The autoscaler's minimum replicas fit on the pool at its maximum size (accelerators are
    whole devices, so this is exact for GPU and TPU pools)."""
    pool = cluster.pools[model.pool]
    per_node = pool.gpus_per_node if pool.kind == "gpu" else pool.tpu_chips_per_node
    per_pod = model.resources.gpu or model.resources.tpu
    if cluster.cloud == "existing" or not per_pod or pool.kind == "cpu":
        return
    pods_per_node = per_node // per_pod
    replicas = model.minimum_replicas
    if replicas > pool.max * pods_per_node:
        raise rule_error(
            (*where, "autoscale", "min"),
            f"{replicas} replicas at minimum need {replicas * per_pod} accelerators, but pool "
            f"{model.pool!r} holds {pool.max * per_node} at its max of {pool.max} nodes: raise the pool's "
            "max or lower the minimum",
        )


def _check_request_scaling(where: tuple[str, ...], model: ModelConfig, cluster: ClusterConfig) -> None:
    """Request scaling reads the server preset's demand metric; scaling to zero only saves money
    when the pool may drop the node too (and the preview states the cold start it costs)."""
    scopes = [((*where, "autoscale"), model.autoscale)]
    scopes += [((*where, "variants", name, "autoscale"), v.autoscale) for name, v in model.variants.items()]
    for scope, autoscale in scopes:
        if autoscale is None:
            continue
        if autoscale.requests is not None and PRESETS.get(model.server, CUSTOM_SERVER).demand is None:
            raise rule_error(
                (*scope, "requests"),
                f"server {model.server!r} exports no demand metric to scale on: use server vllm, triton "
                "or torchserve, or scale on cpu",
            )
        pool = cluster.pools[model.pool]
        if autoscale.min == 0 and cluster.cloud != "existing" and pool.min > 0:
            raise rule_error(
                (*scope, "min"),
                f"0 replicas save nothing while pool {model.pool!r} keeps min {pool.min} nodes: set the "
                "pool's min to 0, or autoscale.min to 1 or more",
            )


def _check_name(where: tuple[str, ...], name: str, max_length: int) -> None:
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) or len(name) > max_length:
        raise rule_error(
            where,
            f"{name!r} becomes Kubernetes object names: lowercase letters, digits, '-', at most {max_length}",
        )


# Ingress classes whose controller strips a route prefix (ALB transforms).
PREFIX_REWRITING_INGRESS_CLOUDS = {"aws"}


def _check_workload(
    where: tuple[str, ...], workload: ModelConfig | JobConfig, cluster_name: str, cluster: ClusterConfig
) -> None:
    pool = cluster.pools.get(workload.pool)
    if pool is None:
        raise rule_error(
            (*where, "pool"),
            f"cluster {cluster_name!r} has no pool {workload.pool!r} (pools: {', '.join(cluster.pools)})",
        )
    resources = workload.resources
    if resources.gpu and pool.kind != "gpu":
        raise rule_error(
            (*where, "resources", "gpu"), f"pool {workload.pool!r} is a {pool.kind} pool: it has no GPUs"
        )
    if resources.tpu and pool.kind != "tpu":
        raise rule_error(
            (*where, "resources", "tpu"), f"pool {workload.pool!r} is a {pool.kind} pool: it has no TPUs"
        )
    if pool.kind == "gpu" and not resources.gpu:
        raise rule_error(
            (*where, "resources", "gpu"),
            f"pool {workload.pool!r} is a gpu pool: request resources.gpu, or use a cpu pool "
            "(a CPU-only pod would keep a GPU node awake)",
        )
    if pool.kind == "tpu" and resources.tpu != pool.tpu_chips_per_node and cluster.cloud == "gcp":
        raise rule_error(
            (*where, "resources", "tpu"),
            f"a {pool.machine_type} node has {pool.tpu_chips_per_node} TPU chips; request all of them "
            f"(tpu: {pool.tpu_chips_per_node})",
        )
    if resources.gpu > pool.gpus_per_node and pool.kind == "gpu" and cluster.cloud != "existing":
        raise rule_error(
            (*where, "resources", "gpu"),
            f"{resources.gpu} GPUs do not fit on a {workload.pool!r} node ({pool.gpus_per_node} per node)",
        )
    for bucket in workload.buckets:
        if bucket not in cluster.buckets:
            raise rule_error(
                (*where, "buckets", bucket),
                f"cluster {cluster_name!r} has no bucket {bucket!r} "
                f"(buckets: {', '.join(cluster.buckets) or 'none'})",
            )
    if workload.image.repository is not None and cluster.registry is None:
        raise rule_error(
            (*where, "image", "repository"),
            f"cluster {cluster_name!r} has no registry: give the full image name instead (image.name)",
        )
