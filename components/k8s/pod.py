"""Pod templates with production defaults, shared by model servers, Jobs and CronJobs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.handle import BucketAccess, IdentityBinding, SecretReference, WorkloadIdentity

# A high, fixed UID: non-root, and never a UID that exists on the node.
RUN_AS_USER = 10001
PART_OF = "mlplatform"
# Shared memory for PyTorch workers and NCCL: half the memory limit (a tmpfs counts against it),
# never more than this.
MAX_SHM_BYTES = 16 * 2**30
BINARY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
DECIMAL_UNITS = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes byte quantity ("8Gi", "500M", "1024") in bytes (the config checked its form)."""
    for unit, factor in {**BINARY_UNITS, **DECIMAL_UNITS}.items():
        if quantity.endswith(unit):
            return int(float(quantity[: -len(unit)]) * factor)
    return int(float(quantity))


def mebibytes(size: int) -> str:
    return f"{-(-size // 2**20)}Mi"


# gsutil/gcloud storage and the AWS CLI/SDKs address objects as gs://bucket/key, s3://bucket/key.
URI_SCHEMES = {"gcp": "gs", "aws": "s3"}


@dataclass(frozen=True)
class Artifacts:
    """A workload's model artifacts: a config bucket name and a path in it."""

    bucket: str
    path: str


@dataclass(frozen=True)
class ContainerResources:
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str
    ephemeral_storage: str = "1Gi"
    # Whole accelerators (GPUs or TPU chips) of the pool's extended resource.
    accelerators: int = 0
    # The writable cache volume (emptyDir on node disk), counted in the ephemeral-storage request.
    cache_size: str | None = None

    @property
    def shm_size(self) -> str:
        return mebibytes(min(quantity_bytes(self.memory_limit) // 2, MAX_SHM_BYTES))

    @property
    def ephemeral_storage_total(self) -> str:
        if self.cache_size is None:
            return self.ephemeral_storage
        return mebibytes(quantity_bytes(self.ephemeral_storage) + quantity_bytes(self.cache_size))


def standard_labels(name: str, component: str, labels: dict[str, str]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        **labels,
    }


def object_metadata(
    name: str,
    namespace: str | None,
    labels: dict[str, str],
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> dict:
    """Explicit names (not autonamed): routes, HPAs and RBAC refer to objects by name."""
    metadata: dict = {"name": name, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def resource_requirements(resources: ContainerResources, pool: PoolContract) -> dict:
    requests = {
        "cpu": resources.cpu,
        "memory": resources.memory,
        "ephemeral-storage": resources.ephemeral_storage_total,
    }
    limits = {
        "cpu": resources.cpu_limit,
        "memory": resources.memory_limit,
        "ephemeral-storage": resources.ephemeral_storage_total,
    }
    if resources.accelerators and pool.extended_resource:
        # Extended resources cannot be overcommitted: request == limit.
        requests[pool.extended_resource] = str(resources.accelerators)
        limits[pool.extended_resource] = str(resources.accelerators)
    return {"requests": requests, "limits": limits}


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: pulumi.Input[str]
    resources: ContainerResources
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Variables from the pod's own fields (downward API: name -> fieldPath). They come first in
    # the list, so `env` values may refer to them as $(NAME): Kubernetes expands only references
    # to variables defined earlier (EnvVar.value, core/v1 API reference).
    field_env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    # Further named ports (e.g. a separate metrics port).
    ports: dict[str, int] = field(default_factory=dict)
    volume_mounts: list[dict] = field(default_factory=list)
    # ConfigMaps whose keys all become environment variables.
    env_config_maps: list[str] = field(default_factory=list)
    # Extra container fields (probes, lifecycle) merged in as they are.
    extra: dict = field(default_factory=dict)


def container(spec: ContainerSpec, pool: PoolContract) -> dict:
    body: dict = {
        "name": spec.name,
        "image": spec.image,
        # Registry tags are immutable (and `latest` is refused), so a cached image is the image.
        "imagePullPolicy": "IfNotPresent",
        "resources": resource_requirements(spec.resources, pool),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "shm", "mountPath": "/dev/shm"},
            *spec.volume_mounts,
        ],
    }
    if spec.command:
        body["command"] = spec.command
    if spec.args:
        body["args"] = spec.args
    env = [
        {"name": k, "valueFrom": {"fieldRef": {"fieldPath": path}}}
        for k, path in sorted(spec.field_env.items())
    ]
    env += [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    if env:
        body["env"] = env
    if spec.env_config_maps:
        body["envFrom"] = [{"configMapRef": {"name": n}} for n in spec.env_config_maps]
    ports = {"http": spec.port} if spec.port is not None else {}
    ports.update(spec.ports)
    if ports:
        body["ports"] = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()]
    return {**body, **spec.extra}


def pod_spec(
    containers: list[dict],
    pool: PoolContract,
    service_account: str,
    *,
    shm_size: str,
    restart_policy: str | None = None,
    termination_grace_seconds: int = 30,
    topology_spread_labels: dict[str, str] | None = None,
    volumes: list[dict] | None = None,
    subdomain: str | None = None,
    init_containers: list[dict] | None = None,
) -> dict:
    """A restricted-profile pod: non-root, no token, read-only root, scheduled by the pool contract."""
    spec: dict = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": termination_grace_seconds,
        "containers": containers,
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            # PyTorch data loaders and NCCL use shared memory; the default 64 MiB is too small.
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}},
            *(volumes or []),
        ],
        **pool.pod_scheduling(),
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if subdomain:
        # With a headless Service of this name, the pod resolves as <hostname>.<subdomain>
        # (Kubernetes docs, "DNS for Services and Pods": Pod's hostname and subdomain fields).
        spec["subdomain"] = subdomain
    if topology_spread_labels:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": topology_spread_labels},
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ]
    return spec


def bucket_env(
    cloud: str,
    buckets: dict[str, pulumi.Output[str]],
    accessed: dict[str, BucketAccess],
    artifacts: Artifacts | None,
) -> dict[str, pulumi.Input[str]]:
    """BUCKET_<NAME> for every bucket the workload may use, and MODEL_BUCKET/PATH/URI for its
    artifacts, in the URI form of the cloud's own SDKs and CLIs."""
    env: dict[str, pulumi.Input[str]] = {
        "BUCKET_" + name.upper().replace("-", "_"): buckets[name]
        for name in sorted(accessed)
        if name in buckets
    }
    if artifacts is not None:
        bucket = buckets[artifacts.bucket]
        env["MODEL_BUCKET"] = bucket
        env["MODEL_PATH"] = artifacts.path
        if cloud in URI_SCHEMES:
            env["MODEL_URI"] = bucket.apply(lambda b: f"{URI_SCHEMES[cloud]}://{b}/{artifacts.path}")
        elif cloud == "azure":
            # An Azure bucket is its container's URL, https://<account>.blob.core.windows.net/
            # <container>; a blob's is that plus its name (Azure Storage docs, "Resource URI syntax").
            env["MODEL_URI"] = bucket.apply(lambda url: f"{url.rstrip('/')}/{artifacts.path}")
    return env


def workload_service_account(
    name: str,
    account: str,
    namespace: str,
    labels: dict[str, str],
    buckets: dict[str, BucketAccess],
    identity: WorkloadIdentity | None,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
    secrets: tuple[SecretReference, ...] = (),
) -> IdentityBinding:
    """The workload's own ServiceAccount (no token), bound to a cloud identity with exactly its
    buckets and secrets; returns that binding (the labels its pods need, the identity's client ID)."""
    binding = (
        identity.bind(name, namespace, account, buckets, parent=parent, secrets=secrets)
        if identity and (buckets or secrets)
        else None
    )
    k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=object_metadata(
            account, namespace, labels, binding.service_account_annotations if binding else None
        ),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
    return binding or IdentityBinding()
