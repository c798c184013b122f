"""Workload config: teams (namespaces), models (serving) and jobs (training and batch)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.k8s.crd_rules import path_problems
from stacks import kubernetes_rules
from stacks.base import StrictModel, rule_error

# Kubernetes quantities: "500m", "2", "8Gi", "1.5".
CpuQuantity = str
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")

# Names become Deployment/Service/CronJob names with suffixes such as "-candidate"; CronJob
# names over 52 characters fail (the controller appends 11), Services allow 63.
MAX_MODEL_NAME = 40
MAX_VARIANT_NAME = 12
MAX_JOB_NAME = 52
ACCESS = Literal["read", "write"]

NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"


class ImageRef(StrictModel):
    """An image in the cluster's registry (`repository`) or anywhere (`name`), at a fixed tag."""

    repository: str | None = Field(default=None, pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
    name: str | None = Field(default=None, min_length=1)
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

    @field_validator("tag")
    @classmethod
    def _pinned(cls, tag: str) -> str:
        if tag == "latest":
            raise ValueError("'latest' is not a version: pin the image tag (e.g. 1.4.2)")
        return tag

    @model_validator(mode="after")
    def _one_source(self) -> ImageRef:
        if (self.repository is None) == (self.name is None):
            raise rule_error(
                ("repository",),
                "give either repository (in the cluster's registry) or name (a full image name)",
            )
        return self


class ImageOverride(StrictModel):
    """A variant's image: the model's image with another tag (or repository/name)."""

    repository: str | None = Field(default=None, pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
    name: str | None = None
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

    @field_validator("tag")
    @classmethod
    def _pinned(cls, tag: str) -> str:
        return ImageRef._pinned(tag)


class Resources(StrictModel):
    cpu: str = Field(pattern=QUANTITY.pattern)
    memory: str = Field(pattern=QUANTITY.pattern)
    gpu: int = Field(default=0, ge=0, le=16)
    tpu: int = Field(default=0, ge=0, le=16)
    # Limits default to the requests (Guaranteed QoS for accelerator pods, no CPU surprises).
    cpu_limit: str | None = Field(default=None, pattern=QUANTITY.pattern)
    memory_limit: str | None = Field(default=None, pattern=QUANTITY.pattern)
    ephemeral_storage: str = Field(default="1Gi", pattern=QUANTITY.pattern)
    # Writable model cache (emptyDir); default per server preset. The ephemeral-storage request
    # grows by it.
    cache_size: str | None = Field(default=None, pattern=QUANTITY.pattern)

    @field_validator("memory", "memory_limit", "ephemeral_storage", "cache_size")
    @classmethod
    def _bytes(cls, value: str | None) -> str | None:
        return _byte_quantity(value)

    @model_validator(mode="after")
    def _one_accelerator(self) -> Resources:
        if self.gpu and self.tpu:
            raise rule_error(("tpu",), "a container asks for gpu or tpu, not both")
        return self


class RequestScaling(StrictModel):
    """Scale on the server's own demand metric (KEDA, prometheus trigger): vLLM waiting requests,
    Triton pending requests, TorchServe requests per second (components/k8s/servers.py)."""

    # The metric's value one replica should carry (e.g. 4 waiting requests per vLLM replica).
    target: float = Field(gt=0)
    # Seconds without demand before the last replicas go (KEDA cooldownPeriod, only towards 0).
    idle_seconds: int = Field(default=900, ge=60, le=86400)
    # With min 0: the replicas kept while there is demand (KEDA minReplicaCount beside
    # idleReplicaCount 0), e.g. 2 where the stack's policy wants two for availability.
    serving_min: int = Field(default=1, ge=1, le=1000)


class Autoscale(StrictModel):
    # 0: scale to zero when idle (needs `requests` and a pool whose min is 0).
    min: int = Field(default=1, ge=0, le=1000)
    max: int = Field(ge=1, le=1000)
    # Target average utilisation, percent of requests; at least one target is needed.
    cpu: int | None = Field(default=None, ge=1, le=100)
    memory: int | None = Field(default=None, ge=1, le=100)
    gpu_util: int | None = Field(default=None, ge=1, le=100)
    requests: RequestScaling | None = None

    @model_validator(mode="after")
    def _bounds_and_target(self) -> Autoscale:
        if self.max < self.min:
            raise rule_error(("max",), f"{self.max} is less than min {self.min}")
        if self.cpu is None and self.memory is None and self.gpu_util is None and self.requests is None:
            raise rule_error(
                ("cpu",), "autoscale needs a target: cpu, memory or gpuUtil (percent), or requests"
            )
        if self.requests is not None and self.gpu_util is not None:
            raise rule_error(
                ("gpuUtil",),
                "scale on requests (KEDA) or on gpuUtil (HPA through prometheus-adapter), not both",
            )
        if self.requests is not None and self.min > 0 and "serving_min" in self.requests.model_fields_set:
            raise rule_error(("requests", "servingMin"), "servingMin applies with min 0; raise min instead")
        if self.requests is not None and self.requests.serving_min > self.max:
            raise rule_error(
                ("requests", "servingMin"),
                f"{self.requests.serving_min} is more than max {self.max}",
            )
        if self.min == 0 and self.requests is None:
            raise rule_error(
                ("min",),
                "0 needs autoscale.requests: only the request autoscaler (KEDA) scales to zero, an HPA "
                "keeps at least 1",
            )
        return self

    @property
    def floor(self) -> int:
        """Replicas the model runs whenever it serves: min, or servingMin for a model that
        scales to zero (what quotas and pools must hold once it wakes)."""
        if self.min == 0 and self.requests is not None:
            return self.requests.serving_min
        return self.min


class Probes(StrictModel):
    # Unset: the server preset's paths (custom: /healthz and /ready).
    liveness_path: str | None = Field(default=None, pattern=r"^/")
    readiness_path: str | None = Field(default=None, pattern=r"^/")
    # Model loading can take minutes: the startup probe allows this long before liveness starts.
    # Same as the model's `loadSeconds`.
    startup_seconds: int | None = Field(default=None, ge=10, le=3600)


class Route(StrictModel):
    path: str = Field(pattern=r"^/[-a-zA-Z0-9_./]*$")
    # The server sees `/v1/...`, not `/model1/v1/...`: stock servers know nothing of the prefix.
    strip_prefix: bool = True
    # Load balancer request budget; default per server preset (LLMs: 600 s).
    timeout_seconds: int | None = Field(default=None, ge=1, le=3600)

    @field_validator("path")
    @classmethod
    def _path_an_http_route_accepts(cls, path: str) -> str:
        # HTTPRoute's CEL rules (components/k8s/crd_rules.py) and the Ingress API
        # (kubernetes pkg/apis/networking/validation, invalidPathSequences) refuse e.g. '/../'.
        problem = next(path_problems(path), None)
        if problem is not None:
            raise ValueError(f"{problem}: HTTPRoutes and Ingresses refuse that path")
        return path


class Artifacts(StrictModel):
    """Where the weights live: a config bucket of the cluster and a path in it."""

    bucket: str
    path: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _artifacts_readable(artifacts: Artifacts | None, buckets: dict[str, str]) -> None:
    if artifacts is not None and artifacts.bucket not in buckets:
        raise rule_error(
            ("artifacts", "bucket"),
            f"the workload has no access to bucket {artifacts.bucket!r}: "
            f"add buckets: {{{artifacts.bucket}: read}}",
        )


class Variant(StrictModel):
    image: ImageOverride
    weight: int = Field(ge=0, le=100)
    autoscale: Autoscale | None = None


class ModelConfig(StrictModel):
    cluster: str | None = None
    team: str | None = None
    image: ImageRef
    pool: str
    # A stock server preset sets port, probes, metrics, timeouts and cache (components/k8s/servers.py);
    # custom keeps the explicit port/probes/args.
    server: Literal["vllm", "triton", "torchserve", "custom"] = "custom"
    # Unset: the preset's port (custom: 8080).
    port: int | None = Field(default=None, ge=1024, le=65535)
    resources: Resources
    autoscale: Autoscale
    probes: Probes = Field(default_factory=Probes)
    # Seconds the weights may take to load before the startup probe fails the pod.
    load_seconds: int | None = Field(default=None, ge=10, le=3600)
    artifacts: Artifacts | None = None
    # Non-secret server settings, mounted read-only as files under /etc/model-config.
    config: dict[str, str] = Field(default_factory=dict)
    route: Route | None = None
    # The primary's share of the route when variants split it; the variants take the rest.
    weight: int | None = Field(default=None, ge=0, le=100)
    variants: dict[str, Variant] = Field(default_factory=dict)
    buckets: dict[str, ACCESS] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=list)

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, variants: dict[str, Variant]) -> dict[str, Variant]:
        for name in variants:
            if not re.fullmatch(NAME_PATTERN, name) or len(name) > MAX_VARIANT_NAME:
                raise ValueError(
                    f"variant name {name!r}: lowercase letters, digits, '-', at most {MAX_VARIANT_NAME}"
                )
        return variants

    @field_validator("config")
    @classmethod
    def _config_keys(cls, config: dict[str, str]) -> dict[str, str]:
        # ConfigMap keys (kubernetes apimachinery validation IsConfigMapKey).
        for key in config:
            if not re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", key) or key in (".", ".."):
                raise ValueError(f"config key {key!r}: letters, digits, '-', '_', '.' only (a file name)")
        return config

    @model_validator(mode="after")
    def _artifacts_bucket(self) -> ModelConfig:
        _artifacts_readable(self.artifacts, self.buckets)
        if self.probes.startup_seconds is not None and self.load_seconds is not None:
            raise rule_error(
                ("probes", "startupSeconds"), "give loadSeconds or probes.startupSeconds, not both"
            )
        return self

    @model_validator(mode="after")
    def _weights_add_up(self) -> ModelConfig:
        if not self.variants:
            if self.weight not in (None, 100):
                raise rule_error(("weight",), "weight splits a route between variants; this model has none")
            return self
        if self.route is None:
            raise rule_error(("variants",), "variants split a route's traffic: add route: {path: ...}")
        if self.weight is None:
            raise rule_error(
                ("weight",), "with variants, give the primary's weight (e.g. 90 with a variant at 10)"
            )
        total = self.weight + sum(v.weight for v in self.variants.values())
        if total != 100:
            raise rule_error(
                ("weight",), f"weights add up to {total}, not 100 (primary {self.weight} + variants)"
            )
        return self

    @property
    def minimum_replicas(self) -> int:
        """Pods the model always runs: every variant's Deployment (the primary's too) at its
        autoscaler minimum; a variant without its own autoscale follows the model's."""
        return self.autoscale.floor + sum(
            (v.autoscale or self.autoscale).floor for v in self.variants.values()
        )

    @property
    def primary_weight(self) -> int:
        return 100 if self.weight is None else self.weight


class JobConfig(StrictModel):
    cluster: str | None = None
    team: str | None = None
    image: ImageRef
    pool: str
    resources: Resources
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    buckets: dict[str, ACCESS] = Field(default_factory=dict)
    artifacts: Artifacts | None = None
    # A schedule makes a CronJob (nightly batch); without one it is a one-off Job (training).
    schedule: str | None = None
    time_zone: str | None = None
    concurrency_policy: Literal["Forbid", "Replace", "Allow"] = "Forbid"
    starting_deadline_seconds: int = Field(default=600, ge=10)
    successful_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    failed_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    backoff_limit: int = Field(default=3, ge=0, le=100)
    restart_policy: Literal["Never", "OnFailure"] = "Never"
    active_deadline_seconds: int = Field(default=86400, ge=60)
    ttl_seconds_after_finished: int = Field(default=86400, ge=0)
    parallelism: int = Field(default=1, ge=1, le=1000)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        problem = kubernetes_rules.cron_problem(schedule) if schedule is not None else None
        if problem:
            raise ValueError(problem)
        return schedule

    @field_validator("time_zone")
    @classmethod
    def _iana_zone(cls, zone: str | None) -> str | None:
        problem = kubernetes_rules.time_zone_problem(zone) if zone is not None else None
        if problem:
            raise ValueError(problem)
        return zone

    @model_validator(mode="after")
    def _artifacts_bucket(self) -> JobConfig:
        _artifacts_readable(self.artifacts, self.buckets)
        return self

    @model_validator(mode="after")
    def _schedule_fields(self) -> JobConfig:
        if self.schedule is None and self.time_zone is not None:
            raise rule_error(("timeZone",), "timeZone applies to scheduled jobs; add schedule or remove it")
        return self


class TeamConfig(StrictModel):
    # Subjects allowed to deploy into the namespace (Entra/Google/IAM groups as the cluster sees them).
    deployers: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)
    quota: Quota | None = None


class Quota(StrictModel):
    cpu: str = Field(pattern=QUANTITY.pattern)
    memory: str = Field(pattern=QUANTITY.pattern)
    gpu: int = Field(default=0, ge=0)
    tpu: int = Field(default=0, ge=0)
    pods: int = Field(default=200, ge=1)

    @field_validator("memory")
    @classmethod
    def _bytes(cls, value: str) -> str:
        return _byte_quantity(value)


def _byte_quantity(value: str | None) -> str | None:
    """Memory in bytes: 'm' is milli in Kubernetes quantities, so '512m' is half a byte."""
    if value is not None and value.endswith("m"):
        raise ValueError(
            f"{value} is {value[:-1]} thousandths of a byte ('m' is milli): write {value[:-1]}Mi"
        )
    return value


TeamConfig.model_rebuild()
