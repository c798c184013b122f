"""The stack config: every `mlplatform:*` key of a stack file, as one validated model."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, model_validator

from stacks import versions
from stacks.base import StrictModel, is_dns_label, rule_error
from stacks.clusters import ClusterConfig
from stacks.workloads import MAX_JOB_NAME, MAX_MODEL_NAME, JobConfig, ModelConfig, TeamConfig

# Cluster names prefix many physical names (node pools, service accounts: 30 characters on
# GCP); Pulumi appends an 8-character suffix, so keep them short.
MAX_CLUSTER_NAME = 16
# Namespaces carry suffixed objects and appear in identity subjects: keep them short too.
MAX_TEAM_NAME = 30


class Budget(StrictModel):
    monthly_max_usd: float = Field(gt=0, description="USD a month; the cost envelope's ceiling must fit")


class Ownership(StrictModel):
    """Who pays and who to call: stamped as labels/tags on every taggable resource."""

    owner: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")
    cost_center: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")


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
        for name in set(self.models) & set(self.jobs):
            raise rule_error(("jobs", name), f"{name!r} names a model too; give the job another name")
        routes: dict[tuple[str, str], str] = {}
        for name, model in self.models.items():
            where = ("models", name)
            _check_name(where, name, MAX_MODEL_NAME)
            cluster_name, cluster = self._placement(where, model.cluster)
            self._check_team(where, model.team)
            _check_workload(where, model, cluster_name, cluster)
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
        self._derived_names_unique()
        for name, job in self.jobs.items():
            where = ("jobs", name)
            _check_name(where, name, MAX_JOB_NAME if job.schedule else 63)
            cluster_name, cluster = self._placement(where, job.cluster)
            self._check_team(where, job.team)
            _check_workload(where, job, cluster_name, cluster)
        return self

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


def _check_name(where: tuple[str, ...], name: str, max_length: int) -> None:
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) or len(name) > max_length:
        raise rule_error(
            where,
            f"{name!r} becomes Kubernetes object names: lowercase letters, digits, '-', at most {max_length}",
        )


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
