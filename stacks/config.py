"""The stack config: every `mlplatform:*` key of a stack file, as one validated model."""

from __future__ import annotations

import datetime
import ipaddress
import math
import re

from pydantic import Field, model_validator

from components.k8s.artifacts import GCSFUSE_SIDECAR
from components.k8s.image_policy import image_allowed
from components.k8s.servers import CUSTOM as CUSTOM_SERVER
from components.k8s.servers import PRESETS
from stacks import access, catalog, kubernetes_rules, versions
from stacks.base import StrictModel, is_dns_label, rule_error
from stacks.clusters import ClusterConfig
from stacks.images import ImagePolicyConfig
from stacks.workloads import MAX_JOB_NAME, MAX_MODEL_NAME, JobConfig, ModelConfig, Resources, TeamConfig

# Cluster names prefix many physical names (node pools, service accounts: 30 characters on
# GCP); Pulumi appends an 8-character suffix, so keep them short.
MAX_CLUSTER_NAME = 16
# Namespaces carry suffixed objects and appear in identity subjects: keep them short too.
MAX_TEAM_NAME = 30
# Pulumi autonames a resource `<logical name>-<7 random characters>`.
AUTONAME_SUFFIX = 8
# GKE node pool names: 1-40 characters (gcloud container node-pools create, NAME); GCS bucket
# names: 3-63 characters, no "google" anywhere and no "goog" prefix
# (https://cloud.google.com/storage/docs/buckets#naming).
GKE_NODE_POOL_NAME = 40
GCS_BUCKET_NAME = 63


class RegionPrices(StrictModel):
    """Hourly USD list prices of one region, keyed as in policies/prices.yaml."""

    machines: dict[str, float] = Field(default_factory=dict, description="machine type -> USD per node-hour")
    accelerators: dict[str, float] = Field(
        default_factory=dict, description="accelerator -> USD per accelerator-hour (GPUs GKE attaches)"
    )
    disks: dict[str, float] = Field(default_factory=dict, description="disk type -> USD per GB-month")
    storage_per_gb_month: float | None = Field(
        default=None, ge=0, description="bucket storage, USD per GB-month"
    )
    registry_per_gb_month: float | None = Field(
        default=None, ge=0, description="registry storage, USD per GB-month"
    )
    nat_hourly: float | None = Field(default=None, ge=0, description="NAT gateway, USD an hour (AWS, Azure)")
    load_balancer_hourly: float | None = Field(default=None, ge=0, description="load balancer, USD an hour")


class StackPrices(StrictModel):
    """Prices the stack gives for what policies/prices.yaml does not price (a region, a machine
    type), so the envelope and the budget rule price it too; cited like the table's own."""

    source: str = Field(min_length=1, description="where the figures come from (a pricing page, a quote)")
    checked: datetime.date = Field(description="when they were read, YYYY-MM-DD")
    gcp: dict[str, RegionPrices] = Field(default_factory=dict, description="region -> its prices")
    aws: dict[str, RegionPrices] = Field(default_factory=dict, description="region -> its prices")
    azure: dict[str, RegionPrices] = Field(default_factory=dict, description="region -> its prices")

    @property
    def citation(self) -> str:
        return f"{self.source}, checked {self.checked}"

    def table_overrides(self) -> dict[str, dict[str, dict]]:
        """cloud -> region -> prices, in policies/prices.yaml's layout."""
        return {
            cloud: {
                region: prices.model_dump(by_alias=True, exclude_defaults=True)
                for region, prices in regions.items()
            }
            for cloud, regions in (("gcp", self.gcp), ("aws", self.aws), ("azure", self.azure))
            if regions
        }


class Budget(StrictModel):
    monthly_max_usd: float = Field(gt=0, description="USD a month; the cost envelope's ceiling must fit")
    prices: StackPrices | None = Field(
        default=None,
        description="the stack's own prices for regions or machine types policies/prices.yaml lacks "
        "(source and checked date required); they take precedence over the table's",
    )


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
    image_policy: ImagePolicyConfig = Field(
        default_factory=ImagePolicyConfig,
        description="image provenance: registries workloads may pull from besides the cluster's own",
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
        self._one_gke_cluster_per_project()
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
            _check_artifacts_source(where, model, cluster_name, cluster)
            _check_secret_store(where, model, cluster_name, cluster)
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
        self._images_from_allowed_registries()
        self._team_identities_work_on_their_clusters()
        self._one_runner_per_stack()
        for name, job in self.jobs.items():
            where = ("jobs", name)
            _check_name(where, name, MAX_JOB_NAME if job.schedule else 63)
            cluster_name, cluster = self._placement(where, job.cluster)
            self._check_team(where, job.team)
            _check_workload(where, job, cluster_name, cluster)
            _check_parallel_job(where, name, job, self.parallelism_of(job), cluster)
            self._check_peers_service_name(where, name, job)
            if job.artifacts is not None and job.artifacts.uri is not None:
                raise rule_error(
                    (*where, "artifacts", "uri"),
                    "a job names its data by bucket and path (env MODEL_URI, BUCKET_<NAME>); "
                    "uri downloads are for models on existing clusters",
                )
        # Last: a workload that cannot fit its own pool says so before the team's quota does.
        self._quotas_hold_their_workloads()
        return self

    def _images_from_allowed_registries(self) -> None:
        """An image named in full (image.name) comes from a registry of the allow-list; images by
        repository come from the cluster's own registry. Admission refuses the others."""
        prefixes = self.image_policy.prefixes
        listed = ", ".join(self.image_policy.allowed_registries) or "none"
        named = [(("models", name, "image", "name"), model.image.name) for name, model in self.models.items()]
        named += [
            (("models", name, "variants", variant, "image", "name"), override.image.name)
            for name, model in self.models.items()
            for variant, override in model.variants.items()
        ]
        named += [(("jobs", name, "image", "name"), job.image.name) for name, job in self.jobs.items()]
        for where, image in named:
            if image is not None and not image_allowed(image, prefixes):
                raise rule_error(
                    where,
                    f"{image} is outside the allowed registries ({listed}): push it to the cluster's "
                    "registry and use image.repository, or add its registry to "
                    "mlplatform:imagePolicy.allowedRegistries",
                )

    def _one_gke_cluster_per_project(self) -> None:
        """Binary Authorization keeps one policy per project, which each GKE cluster declares."""
        projects: dict[str, str] = {}
        for name, cluster in self.clusters.items():
            if cluster.gcp is None:
                continue
            other = projects.setdefault(cluster.gcp.project, name)
            if other != name:
                raise rule_error(
                    ("clusters", name, "gcp", "project"),
                    f"cluster {other!r} is in project {cluster.gcp.project} already: Binary Authorization "
                    "has one policy per project, so give each GKE cluster a project of its own",
                )

    def _check_peers_service_name(self, where: tuple[str, ...], name: str, job: JobConfig) -> None:
        """A distributed job's headless Service is named after the job, next to the Services of the
        models (`<model>`, `<model>-<variant>`) in the same namespace."""
        if self.parallelism_of(job) == 1:
            return
        for model_name, model in self.models.items():
            same_namespace = (self.cluster_of(model), self.team_of(model)) == (
                self.cluster_of(job),
                self.team_of(job),
            )
            services = {model_name, *(f"{model_name}-{variant}" for variant in model.variants)}
            if same_namespace and name in services:
                raise rule_error(
                    where,
                    f"its pods' headless Service {name!r} would clash with the Service of model "
                    f"{model_name!r} in namespace {self.team_of(job)!r}: rename the job",
                )

    def _team_identities_work_on_their_clusters(self) -> None:
        """A RoleBinding subject grants nothing unless the cluster's tokens carry it: each team
        identity has its cloud's form (stacks/access.py), and GKE has its security group."""
        for name, cluster in self.clusters.items():
            teams = self.teams_on(name)
            for team_name in teams:
                team = self.teams[team_name]
                for role in access.ROLES:
                    for index, identity in enumerate(getattr(team, role)):
                        problem = access.identity_problem(cluster.cloud, name, identity)
                        if problem:
                            raise rule_error(("teams", team_name, role, index), problem)
            if cluster.aws is not None:
                admins = {cluster.aws.deployer_role_arn, *cluster.aws.admin_role_arns}
                for arn in self.eks_team_groups(name):
                    if arn in admins:
                        team_name, role, index = self._where_identity(arn, teams)
                        raise rule_error(
                            ("teams", team_name, role, index),
                            f"{arn} is cluster-admin on {name!r} (aws.deployerRoleArn or adminRoleArns); "
                            "EKS takes one access entry per role, so a team cannot be given it too: "
                            "use another role",
                        )
            has_groups = any(self.teams[t].deployers or self.teams[t].viewers for t in teams)
            if cluster.gcp is not None and has_groups and cluster.gcp.security_group is None:
                raise rule_error(
                    ("clusters", name, "gcp", "securityGroup"),
                    "the teams name Google groups, which reach RBAC only through Google Groups for "
                    "RBAC: set securityGroup: gke-security-groups@<your domain> and make the team "
                    "groups its members",
                )

    def _where_identity(self, identity: str, teams: list[str]) -> tuple[str, str, int]:
        for team in teams:
            for role in access.ROLES:
                if identity in getattr(self.teams[team], role):
                    return team, role, getattr(self.teams[team], role).index(identity)
        raise LookupError(identity)

    def _one_runner_per_stack(self) -> None:
        """A stack deploys in one workflow job, so every self-hosted cluster names the same runner."""
        labels: dict[tuple[str, ...], str] = {}
        for name, cluster in self.clusters.items():
            if cluster.ci_access is not None and cluster.ci_access.mode == "selfHostedRunner":
                labels.setdefault(tuple(cluster.ci_access.runner_labels), name)
        if len(labels) > 1:
            (first, first_cluster), (_, second_cluster) = list(labels.items())[:2]
            raise rule_error(
                ("clusters", second_cluster, "ciAccess", "runnerLabels"),
                f"one job deploys the stack, on one runner: use the runnerLabels of cluster "
                f"{first_cluster!r} ({list(first)}) here too",
            )

    @property
    def runner_labels(self) -> list[str] | None:
        """The `runs-on` labels of the stack's deploy job; None: a GitHub-hosted runner."""
        for cluster in self.clusters.values():
            if cluster.ci_access is not None and cluster.ci_access.mode == "selfHostedRunner":
                return list(cluster.ci_access.runner_labels)
        return None

    def teams_on(self, cluster: str) -> list[str]:
        """The teams with a workload on `cluster` (their namespaces are created there), sorted."""
        return sorted(
            {
                self.team_of(w)
                for w in [*self.models.values(), *self.jobs.values()]
                if self.cluster_of(w) == cluster
            }
        )

    def rbac_subjects(self, cluster: str, team: str, role: str) -> list[str]:
        """The group names a team's `role` RoleBinding binds on `cluster`: its identities, or on
        EKS the Kubernetes group its role ARNs are mapped to (stacks/access.py)."""
        identities = getattr(self.teams[team], role)
        if self.clusters[cluster].cloud == "aws":
            return [access.eks_group(team, role)] if identities else []
        return list(identities)

    def eks_team_groups(self, cluster: str) -> dict[str, list[str]]:
        """IAM role ARN -> the Kubernetes groups its access entry on `cluster` carries (one entry
        per principal: EKS refuses a second entry for the same ARN)."""
        groups: dict[str, list[str]] = {}
        for team in self.teams_on(cluster):
            for role in access.ROLES:
                for arn in getattr(self.teams[team], role):
                    groups.setdefault(arn, []).append(access.eks_group(team, role))
        return groups

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
                    self._add_mount_sidecars(need, model, model.minimum_replicas)
            for job in self.jobs.values():
                if self.team_of(job) == team_name:
                    _add_pods(need, job.resources, self.parallelism_of(job))
                    self._add_mount_sidecars(need, job, self.parallelism_of(job))
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

    def _add_mount_sidecars(
        self, need: dict[str, float], workload: ModelConfig | JobConfig, count: int
    ) -> None:
        """GKE injects a Cloud Storage FUSE sidecar into pods that mount a bucket: its limits
        count against the quota too (components/k8s/artifacts.py GCSFUSE_SIDECAR)."""
        if workload.artifacts is None or self.clusters[self.cluster_of(workload)].cloud != "gcp":
            return
        need["cpu"] += count * kubernetes_rules.quantity(GCSFUSE_SIDECAR["gke-gcsfuse/cpu-limit"])
        need["memory"] += count * kubernetes_rules.quantity(GCSFUSE_SIDECAR["gke-gcsfuse/memory-limit"])

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
        subjects = [
            s
            for team in self.teams_on(cluster)
            for s in [*self.teams[team].deployers, *self.teams[team].viewers]
        ]
        return list(dict.fromkeys(subjects))

    def cluster_of(self, workload: ModelConfig | JobConfig) -> str:
        return workload.cluster or next(iter(self.clusters))

    def team_of(self, workload: ModelConfig | JobConfig) -> str:
        return workload.team or next(iter(self.teams))

    def parallelism_of(self, job: JobConfig) -> int:
        """The job's pods at once: as configured, else a multi-host TPU slice's hosts, else 1."""
        if job.parallelism is not None:
            return job.parallelism
        cluster = self.clusters.get(self.cluster_of(job))
        pool = cluster.pools.get(job.pool) if cluster else None
        return pool.tpu_slice.hosts if pool and pool.tpu_slice and pool.tpu_multi_host else 1

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
            if cluster.routing.insecure_http:
                found.append(
                    f"mlplatform:clusters.{name}.routing.insecureHttp: the entry point serves plain HTTP "
                    "(no TLS): requests and API keys cross the network readable"
                )
            if cluster.cloud != "existing" and cluster.ci_access is None:
                found.append(
                    f"mlplatform:clusters.{name}.ciAccess is not set: only authorizedNetworks reach the API "
                    "server, so the deploy workflow on a GitHub-hosted runner cannot (docs/ci.md)"
                )
            found.extend(_uncatalogued_machine_types(name, cluster))
        for name, model in self.models.items():
            for path, autoscale in model.autoscale_settings:
                key = ".".join(("mlplatform:models", name, *path))
                if autoscale.memory is not None:
                    # An HPA scales to the largest count any of its metrics asks for
                    # (Kubernetes docs, HPA "Algorithm details", multiple metrics); a model server
                    # keeps its weights and caches resident, so memory use does not fall with load.
                    found.append(
                        f"{key}.memory: a model server's memory stays up after load, so this target "
                        "keeps it at max replicas: scale on cpu or requests instead"
                    )
        for name, job in self.jobs.items():
            pool = self.clusters[self.cluster_of(job)].pools[job.pool]
            if job.restart_policy == "OnFailure" and pool.spot:
                # A pod failure policy (components/k8s/jobs.py) needs restartPolicy Never.
                found.append(
                    f"mlplatform:jobs.{name}.restartPolicy: OnFailure on spot pool {job.pool!r}: every "
                    "preemption counts against backoffLimit; restartPolicy Never lets them not count"
                )
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


# The machine catalog per cloud, as the warnings name it.
MACHINE_CATALOG = {"gcp": "gke.yaml", "aws": "eks.yaml", "azure": "aks.yaml"}


def _uncatalogued_machine_types(name: str, cluster: ClusterConfig) -> list[str]:
    """Machine types the catalog does not list. A family or series the catalog lists is complete
    there, so an unknown size of it is an error (the cluster checks); a whole family it does not
    list (a new generation, a custom type) is likely real and only unchecked: blocking it would
    keep users off machine types newer than the catalog. So it is a warning, and the cost
    envelope reports the pool unpriced unless policies/prices.yaml has it."""
    if cluster.cloud not in MACHINE_CATALOG:
        return []
    where = catalog.cited(MACHINE_CATALOG[cluster.cloud])
    return [
        f"mlplatform:clusters.{name}.pools.{pool_name}.machineType: {pool.machine_type} is not in the "
        f"catalog ({where}): its capacity is unchecked (requests against one node, GPUs it carries); "
        "add its shape to the catalog with its source"
        for pool_name, pool in cluster.pools.items()
        if cluster.node_shape(pool_name) is None
    ]


def _add_pods(need: dict[str, float], resources: Resources, count: int) -> None:
    need["cpu"] += count * kubernetes_rules.quantity(resources.cpu_limit or resources.cpu)
    need["memory"] += count * kubernetes_rules.quantity(resources.memory_limit or resources.memory)
    need["gpu"] += count * resources.gpu
    need["tpu"] += count * resources.tpu
    need["pods"] += count


def _check_artifacts_source(
    where: tuple[str, ...], model: ModelConfig, cluster_name: str, cluster: ClusterConfig
) -> None:
    """A cloud cluster mounts its own buckets; an existing one (no buckets, no CSI driver the
    platform installs) downloads a URI into the model's cache volume."""
    artifacts = model.artifacts
    if artifacts is None:
        return
    if artifacts.uri is not None and cluster.cloud != "existing":
        raise rule_error(
            (*where, "artifacts", "uri"),
            f"cluster {cluster_name!r} mounts its own buckets read-only: give bucket and path "
            "(e.g. {bucket: artifacts, path: models/llm/1.2}) instead of a URI",
        )
    if artifacts.uri is not None and model.server == "custom" and model.resources.cache_size is None:
        raise rule_error(
            (*where, "resources", "cacheSize"),
            "the artifacts are downloaded into the cache volume: give its size (e.g. cacheSize: 20Gi)",
        )


def _check_secret_store(
    where: tuple[str, ...], model: ModelConfig, cluster_name: str, cluster: ClusterConfig
) -> None:
    """Secrets need the cluster's secret manager: Key Vault must be named on AKS."""
    if not model.secrets:
        return
    key = (*where, "secrets", next(iter(model.secrets)))
    if cluster.cloud == "existing":
        raise rule_error(
            key,
            f"cluster {cluster_name!r} is an existing cluster: the platform wires no secret manager "
            "there; create the Kubernetes Secret yourself and reference it from the image's config",
        )
    if cluster.cloud == "azure":
        assert cluster.azure is not None
        if cluster.azure.key_vault is None or cluster.azure.tenant_id is None:
            raise rule_error(
                key,
                f"cluster {cluster_name!r} needs azure.keyVault {{name, resourceGroup}} and "
                "azure.tenantId to read secrets from Key Vault",
            )
        for name, secret in model.secrets.items():
            # Key Vault secret names: 1-127 letters, digits and '-'.
            if not re.fullmatch(r"[0-9A-Za-z-]{1,127}", secret.name):
                raise rule_error(
                    (*where, "secrets", name, "name"),
                    f"{secret.name!r}: Key Vault secret names take letters, digits and '-' only",
                )


def _check_minimum_fits_pool(where: tuple[str, ...], model: ModelConfig, cluster: ClusterConfig) -> None:
    """The autoscaler's minimum replicas fit on the pool at its maximum size. Accelerators are
    whole devices, so this is exact for GPU and TPU pools; on a CPU pool it counts the pods of
    this model alone that one node's allocatable holds (other pods only lower it)."""
    if cluster.cloud == "existing":
        return
    pool = cluster.pools[model.pool]
    per_node = pool.gpus_per_node if pool.kind == "gpu" else pool.tpu_chips_per_node
    per_pod = model.resources.gpu or model.resources.tpu
    replicas = model.minimum_replicas
    if per_pod and pool.kind != "cpu":
        if replicas > pool.max * (per_node // per_pod):
            raise rule_error(
                (*where, "autoscale", "min"),
                f"{replicas} replicas at minimum need {replicas * per_pod} accelerators, but pool "
                f"{model.pool!r} holds {pool.max * per_node} at its max of {pool.max} nodes: raise the "
                "pool's max or lower the minimum",
            )
        return
    allocatable = cluster.node_allocatable(model.pool)
    if allocatable is None:
        return
    cpu = kubernetes_rules.quantity(model.resources.cpu)
    memory = kubernetes_rules.quantity(model.resources.memory) / 2**30
    fits = [
        int(have // need) for have, need in ((allocatable.cpu, cpu), (allocatable.memory_gib, memory)) if need
    ]
    pods_per_node = min(fits, default=replicas)
    if replicas > pool.max * pods_per_node:
        raise rule_error(
            (*where, "autoscale", "min"),
            f"{replicas} replicas at minimum of {model.resources.cpu} CPU and {model.resources.memory} "
            f"each need more than pool {model.pool!r} allocates at its max of {pool.max} nodes "
            f"({pods_per_node} such pods per {pool.machine_type} node): raise the pool's max or "
            "lower the minimum",
        )


def _check_requests_fit_a_node(
    where: tuple[str, ...], workload: ModelConfig | JobConfig, cluster: ClusterConfig
) -> None:
    """A pod runs on one node: its requests must fit one node's allocatable, or the scheduler
    leaves it Pending and the autoscaler, finding no node group that fits, never scales up.
    Allocatable comes from the machine catalog and the cloud's reservation formula
    (stacks/capacity.py); an unlisted machine type is not checked."""
    allocatable = cluster.node_allocatable(workload.pool)
    shape = cluster.node_shape(workload.pool)
    if allocatable is None or shape is None:
        return
    resources = workload.resources
    service = versions.SERVICE[cluster.cloud].upper()
    node = f"one {shape.name} node of pool {workload.pool!r}"
    cpu = kubernetes_rules.quantity(resources.cpu)
    if cpu > allocatable.cpu + 1e-9:
        millicores = math.floor(allocatable.cpu * 1000 + 1e-6)
        raise rule_error(
            (*where, "resources", "cpu"),
            f"{resources.cpu} CPU does not fit {node}: it has {shape.vcpu} vCPUs, {millicores / 1000:g} "
            f"allocatable after {service}'s system reservations; request at most {millicores}m or choose "
            "a larger machineType",
        )
    memory_gib = kubernetes_rules.quantity(resources.memory) / 2**30
    if memory_gib > allocatable.memory_gib + 1e-9:
        most = math.floor(allocatable.memory_gib * 1024)
        raise rule_error(
            (*where, "resources", "memory"),
            f"{resources.memory} of memory does not fit {node}: it has {shape.memory_gib:g} GiB, "
            f"{allocatable.memory_gib:.2f} GiB allocatable after {service}'s system reservations; "
            f"request at most {most}Mi or choose a larger machineType",
        )


# A pod's hostname is a DNS label of at most 63 characters; the Job controller sets an Indexed
# pod's to <job>-<index>, untruncated (kubernetes pkg/controller/job/job_controller.go,
# manageJob), and a CronJob names its Jobs <cronjob>-<minutes since the epoch> (8 digits today,
# pkg/controller/cronjob getJobName).
MAX_HOSTNAME = 63
CRONJOB_RUN_SUFFIX = len("-12345678")


def _check_parallel_job(
    where: tuple[str, ...], name: str, job: JobConfig, pods: int, cluster: ClusterConfig
) -> None:
    """A distributed job's pods run together: a multi-host TPU slice is exactly its hosts, all
    pods fit the pool at its max at once (one missing rank stalls the rest), and each pod's
    hostname (its rank's address) is a DNS label."""
    pool = cluster.pools[job.pool]
    tpu_slice = pool.tpu_slice
    if tpu_slice is not None and tpu_slice.multi_host and pods != tpu_slice.hosts:
        raise rule_error(
            (*where, "parallelism"),
            f"pool {job.pool!r} is a {pool.topology} slice of {tpu_slice.hosts} hosts that GKE runs as "
            f"one unit: one pod per host, so parallelism is {tpu_slice.hosts} (or leave it unset)",
        )
    per_node = pool.gpus_per_node if pool.kind == "gpu" else pool.tpu_chips_per_node
    per_pod = job.resources.gpu or job.resources.tpu
    known_nodes = cluster.cloud != "existing" or pool.accelerator_count is not None
    if per_pod and pool.kind != "cpu" and known_nodes:
        fit = pool.max * (per_node // per_pod)
        if pods > fit:
            raise rule_error(
                (*where, "parallelism"),
                f"{pods} pods at once need {pods * per_pod} accelerators, but pool {job.pool!r} holds "
                f"{fit} such pods at its max of {pool.max} nodes: raise the pool's max or lower parallelism",
            )
    if pods > 1:
        base = len(name) + (CRONJOB_RUN_SUFFIX if job.schedule else 0)
        hostname = base + len(f"-{pods - 1}")
        if hostname > MAX_HOSTNAME:
            raise rule_error(
                where,
                f"its pods' hostnames (<job>-<index>) would be {hostname} characters, beyond the "
                f"{MAX_HOSTNAME} of a DNS label: shorten the job name to at most "
                f"{MAX_HOSTNAME - hostname + len(name)}",
            )


def _check_request_scaling(where: tuple[str, ...], model: ModelConfig, cluster: ClusterConfig) -> None:
    """Request scaling reads the server preset's demand metric; scaling to zero only saves money
    when the pool may drop the node too (and the preview states the cold start it costs)."""
    for path, autoscale in model.autoscale_settings:
        scope = (*where, *path)
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
        if autoscale.min == 0:
            _check_wake_path(scope, model, cluster)


def _check_wake_path(scope: tuple[str, ...], model: ModelConfig, cluster: ClusterConfig) -> None:
    """A model at zero wakes on its first request through the KEDA HTTP add-on's interceptor
    (components/k8s/keda.py): its route must reach the interceptor, which forwards to one Service."""
    if model.variants:
        raise rule_error(
            (*scope, "min"),
            "0 (woken by its first request through the KEDA HTTP add-on's interceptor) serves one "
            "Service, not weighted variants: drop the variants or set min to 1 or more",
        )
    if model.route is None:
        raise rule_error(
            (*scope, "min"),
            "0 needs a route: the model wakes on its first request through the cluster's entry point",
        )
    if cluster.routing_mode != "gateway":
        # networking.k8s.io/v1 IngressServiceBackend names a Service of the Ingress's own
        # namespace; the interceptor lives in the add-on's (HTTPRoute backendRefs may cross with
        # a ReferenceGrant).
        raise rule_error(
            (*scope, "min"),
            "0 needs routing.mode: gateway: an Ingress cannot send to the KEDA HTTP add-on's "
            "interceptor in another namespace, so nothing would wake the model; set min to 1 or more",
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
    _check_requests_fit_a_node(where, workload, cluster)
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
