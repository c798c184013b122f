"""Pod templates with production defaults, shared by model servers, Jobs and CronJobs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.handle import BucketAccess, WorkloadIdentity

# A high, fixed UID: non-root, and never a UID that exists on the node.
RUN_AS_USER = 10001
PART_OF = "mlplatform"


@dataclass(frozen=True)
class ContainerResources:
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str
    ephemeral_storage: str = "1Gi"
    # Whole accelerators (GPUs or TPU chips) of the pool's extended resource.
    accelerators: int = 0


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
        "ephemeral-storage": resources.ephemeral_storage,
    }
    limits = {
        "cpu": resources.cpu_limit,
        "memory": resources.memory_limit,
        "ephemeral-storage": resources.ephemeral_storage,
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
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
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
        ],
    }
    if spec.command:
        body["command"] = spec.command
    if spec.args:
        body["args"] = spec.args
    if spec.env:
        body["env"] = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    if spec.port is not None:
        body["ports"] = [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    return {**body, **spec.extra}


def pod_spec(
    containers: list[dict],
    pool: PoolContract,
    service_account: str,
    *,
    restart_policy: str | None = None,
    termination_grace_seconds: int = 30,
    topology_spread_labels: dict[str, str] | None = None,
    shm_size: str = "1Gi",
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
        ],
        **pool.pod_scheduling(),
    }
    if restart_policy:
        spec["restartPolicy"] = restart_policy
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


def workload_service_account(
    name: str,
    account: str,
    namespace: str,
    labels: dict[str, str],
    buckets: dict[str, BucketAccess],
    identity: WorkloadIdentity | None,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> dict[str, str]:
    """The workload's own ServiceAccount (no token), bound to a cloud identity with exactly its
    buckets; returns the labels its pods need for that identity."""
    binding = (
        identity.bind(name, namespace, account, buckets, parent=parent) if identity and buckets else None
    )
    k8s.core.v1.ServiceAccount(
        f"{name}-sa",
        metadata=object_metadata(
            account, namespace, labels, binding.service_account_annotations if binding else None
        ),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
    return dict(binding.pod_labels) if binding else {}
