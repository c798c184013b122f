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
# An object prefix: segments of letters, digits, '_', '.', '-' (no '..' tricks, no trailing '/').
ARTIFACT_PATH = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"


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
    # 0: scale to zero when idle (needs `requests`, a pool whose min is 0, one variant and a route
    # on a Gateway: the first request wakes the model through the KEDA HTTP add-on's interceptor).
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
    """Where the weights live: a config bucket of the cluster and a path in it (mounted read-only
    through the cloud's CSI driver), or on an existing cluster a gs:// or s3:// URI that an init
    container copies into the cache volume."""

    bucket: str | None = None
    path: str | None = Field(default=None, pattern=ARTIFACT_PATH)
    uri: str | None = None

    @field_validator("uri")
    @classmethod
    def _bucket_uri(cls, uri: str | None) -> str | None:
        # Bucket names: 3-63 lowercase letters, digits, '-', '.', '_' (GCS, S3 naming rules).
        if uri is not None and not re.fullmatch(
            rf"(gs|s3)://[a-z0-9][-a-z0-9_.]{{1,61}}[a-z0-9]/{ARTIFACT_PATH[1:]}", uri
        ):
            raise ValueError(f"{uri!r} is not a gs:// or s3:// bucket path (e.g. s3://acme-models/llm/1.2)")
        return uri

    @model_validator(mode="after")
    def _bucket_path_or_uri(self) -> Artifacts:
        if self.uri is not None:
            if self.bucket is not None or self.path is not None:
                raise rule_error(("uri",), "give uri, or bucket and path, not both")
        elif self.bucket is None or self.path is None:
            raise rule_error(
                ("bucket" if self.bucket is None else "path",),
                "give bucket and path (e.g. {bucket: artifacts, path: models/llm/1.2}) or uri",
            )
        return self


def _artifacts_readable(artifacts: Artifacts | None, buckets: dict[str, str]) -> None:
    if artifacts is not None and artifacts.bucket is not None and artifacts.bucket not in buckets:
        raise rule_error(
            ("artifacts", "bucket"),
            f"the workload has no access to bucket {artifacts.bucket!r}: "
            f"add buckets: {{{artifacts.bucket}: read}}",
        )


# Environment variable names (POSIX portable set; Kubernetes accepts these everywhere).
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# Values no setting should hold in plain text: well-known credential formats.
LITERAL_SECRET = re.compile(
    r"(hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{20,}"
    r"|(AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
# Variable names that say they carry a credential.
SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_KEY|CREDENTIALS?|ACCESS_KEY)$", re.I
)


class SecretRef(StrictModel):
    """A secret in the cluster's cloud secret manager (Secret Manager, Secrets Manager, Key
    Vault): its name and version only. The value never appears in a stack file."""

    # Secret Manager ids: letters, digits, '-', '_' (<= 255); Secrets Manager adds /_+=.@;
    # Key Vault letters, digits, '-' (<= 127): each cluster's cloud checks the rest.
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/_+=.@-]{0,254}$")
    # "latest" (the current version), a version number/id, or an AWS version stage.
    version: str = Field(default="latest", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @field_validator("name")
    @classmethod
    def _a_name_not_a_value(cls, name: str) -> str:
        if LITERAL_SECRET.search(name):
            raise ValueError("this looks like a secret value: give the secret's name in the secret manager")
        return name


def literal_secret_problems(values: dict[str, str]) -> list[tuple[str, str]]:
    """(key, problem) for settings that hold what looks like a credential in plain text."""
    problems = []
    for key, value in values.items():
        if LITERAL_SECRET.search(value):
            problems.append((key, "looks like a credential in plain text"))
        elif SECRET_NAME.search(key) and value and not value.startswith("/"):
            problems.append((key, "names a credential; its value must not be in the stack file"))
    return problems


def _refuse_literal_secrets(where: str, values: dict[str, str]) -> None:
    for key, problem in literal_secret_problems(values):
        raise rule_error(
            (where, key),
            f"{problem}: keep it in the cloud's secret manager and name it under "
            f"secrets: {{{key}: {{name: <secret name>}}}}",
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
    # Non-secret settings as environment variables, from a content-named ConfigMap (envFrom).
    config_env: dict[str, str] = Field(default_factory=dict)
    # Env-style name -> secret manager reference: a read-only file /etc/model-secrets/<NAME>
    # (and <NAME>_FILE pointing at it), fetched as the model's own identity.
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
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

    @field_validator("config_env", "secrets")
    @classmethod
    def _env_names(cls, values: dict) -> dict:
        for key in values:
            if not re.fullmatch(ENV_NAME, key):
                raise ValueError(f"{key!r} is not an environment variable name (letters, digits, '_')")
        return values

    @model_validator(mode="after")
    def _no_plain_text_secrets(self) -> ModelConfig:
        _refuse_literal_secrets("env", self.env)
        _refuse_literal_secrets("configEnv", self.config_env)
        for key, value in self.config.items():
            if LITERAL_SECRET.search(value):
                raise rule_error(("config", key), "holds what looks like a credential: use secrets")
        for index, arg in enumerate(self.args):
            if LITERAL_SECRET.search(arg):
                raise rule_error(("args", index), "looks like a credential in plain text: use secrets")
        overlap = sorted(set(self.secrets) & (set(self.env) | set(self.config_env)))
        if overlap:
            raise rule_error(("secrets", overlap[0]), "is also set in env/configEnv: keep one")
        return self

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
    def autoscale_settings(self) -> list[tuple[tuple[str, ...], Autoscale]]:
        """Each autoscale the stack file states for the model, by its key under the model: the
        model's own, and each variant's that sets one (the others follow the model's)."""
        return [
            (("autoscale",), self.autoscale),
            *(
                (("variants", name, "autoscale"), v.autoscale)
                for name, v in self.variants.items()
                if v.autoscale
            ),
        ]

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
    # Pods that run at once (Indexed completions). Above 1, a distributed job: its pods find each
    # other by name (headless Service, rendezvous env) and all must fit the pool at once. Unset:
    # 1, or on a multi-host TPU slice the slice's hosts (the slice runs as one unit).
    parallelism: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="pods at once, 1-1000; above 1 a distributed job (docs/configuration.md, Distributed "
        "training). Unset: 1, or one pod per host of a multi-host TPU slice",
    )

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
        _refuse_literal_secrets("env", self.env)
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
