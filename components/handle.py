"""What a cluster offers the workloads built on it, whatever cloud made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract

BucketAccess = Literal["read", "write"]


@dataclass(frozen=True)
class IdentityBinding:
    """What a Kubernetes ServiceAccount (and its pods) need to act as a cloud identity."""

    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)


class WorkloadIdentity(Protocol):
    """A cloud's keyless identity for pods: GKE Workload Identity, EKS IRSA/Pod Identity,
    AKS workload identity. Each cloud package implements it for its clusters."""

    def bind(
        self,
        name: str,
        namespace: str,
        service_account: str,
        buckets: dict[str, BucketAccess],
        parent: pulumi.Resource,
    ) -> IdentityBinding:
        """Declare a cloud identity for `namespace/service_account` with exactly `buckets`
        (config bucket name -> access); resources are children of `parent`."""
        ...


@dataclass(frozen=True)
class GatewayAddress:
    """An entry of a Gateway's `spec.addresses` (e.g. the AGC frontend it must use)."""

    type: str
    value: pulumi.Input[str]


@dataclass(frozen=True)
class Routing:
    """How the cluster's cloud exposes HTTP: a managed Gateway API class and/or an Ingress class."""

    gateway_class: str | None
    # None: the cluster offers no Ingress class (AKS in gateway mode, where the add-on is off).
    ingress_class: str | None
    # How an Ingress expresses a weighted split on this cloud; None: it cannot.
    ingress_weights: Literal["alb-actions"] | None = None
    # Annotations every Ingress of the fanout carries (e.g. ALB scheme, target type, group).
    ingress_annotations: dict[str, str] = field(default_factory=dict)
    # Annotations the Gateway carries (e.g. AGC's alb-id on AKS); may be Outputs.
    gateway_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Addresses the Gateway asks for (e.g. the AGC frontend on AKS).
    gateway_addresses: tuple[GatewayAddress, ...] = ()
    # What the Gateway or Ingress must wait for: the controller that serves the class (and
    # installs its CRDs) when the cluster does not come with one.
    ready: tuple[pulumi.Resource, ...] = ()
    # How the load balancer learns a model's readiness path.
    health_check: Literal["gke-policy", "alb-annotation"] | None = None
    # Where serving traffic reaches pods from (NetworkPolicy): LB source ranges and/or the
    # namespace of an in-cluster ingress controller. Neither: any namespace of the cluster.
    source_cidrs: tuple[str, ...] = ()
    source_namespace: str | None = None


@dataclass(frozen=True)
class Egress:
    """A destination pods must reach besides DNS and HTTPS (e.g. GKE's metadata server)."""

    cidr: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class GpuNodeHost:
    """What a node agent that reads the GPUs itself (DCGM exporter, no GPU requested) needs on
    this cloud's GPU nodes. The defaults fit nodes whose container runtime is NVIDIA's (EKS's
    NVIDIA AMIs, AKS GPU node pools): it injects the driver and every GPU into the container."""

    # Host directory of the driver and NVML when the runtime does not inject them.
    driver_dir: str | None = None
    # How the kubelet's pod-resources API names GPUs: the exporter must use the same id to
    # label a GPU's series with the pod using it.
    gpu_id_type: Literal["uid", "device-name"] = "uid"
    # The cloud admits system-node-critical pods outside kube-system only under a ResourceQuota
    # scoped to that priority class.
    critical_pods_need_quota: bool = False
    # The exporter must run privileged to open the GPU device files (no runtime injects them).
    privileged: bool = False


@dataclass(frozen=True)
class ClusterAccess:
    """How a person or tool reaches the cluster: exported as stack outputs."""

    name: pulumi.Input[str]
    # The API server: GKE's endpoint IP, EKS's https URL, AKS's FQDN (as each cloud reports it).
    endpoint: pulumi.Input[str]
    # A secret: it grants whatever the deployer's identity may do.
    kubeconfig: pulumi.Output[str]


@dataclass(frozen=True)
class ClusterHandle:
    name: str
    cloud: str
    kubernetes_provider: k8s.Provider
    pools: dict[str, PoolContract]
    # The pool cluster add-ons run on (on-demand CPU, never scaled to zero).
    system_pool: str
    routing: Routing
    # Where model images live (`<registry_url>/<repository>:<tag>`); None when images are
    # referenced by full name (existing clusters).
    registry_url: pulumi.Output[str] | None = None
    # Config bucket name -> physical bucket (or container) name.
    buckets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    # Azure: the storage account's blob endpoint (https://<account>.blob.core.windows.net/), the
    # base of a container's URL; None elsewhere.
    blob_endpoint: pulumi.Output[str] | None = None
    identity: WorkloadIdentity | None = None
    extra_egress: tuple[Egress, ...] = ()
    # The resources Kubernetes objects must wait for (node pools, add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)
    # None for an existing cluster: its kubeconfig is the user's already.
    access: ClusterAccess | None = None
    # Pool name -> what makes that pool schedulable (its node pool or group, also in `ready`).
    # Empty: every workload waits for all of `ready`.
    pool_ready: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    gpu_node_host: GpuNodeHost = field(default_factory=GpuNodeHost)

    def ready_for(self, *pools: str) -> list[pulumi.Resource]:
        """What a workload whose pods run on `pools` waits for: those pools, the system pool
        (cluster DNS and the add-ons run there) and the cluster-wide add-ons of `ready`; not the
        other pools, nor the routing controller (`routing.ready`, which only the fanout needs)."""
        if not self.pool_ready:
            return list(self.ready)
        other = {id(r) for resources in self.pool_ready.values() for r in resources}
        other.update(id(r) for r in self.routing.ready)
        wanted = [r for pool in sorted({*pools, self.system_pool}) for r in self.pool_ready.get(pool, [])]
        wanted.extend(r for r in self.ready if id(r) not in other)
        return list({id(r): r for r in wanted}.values())
