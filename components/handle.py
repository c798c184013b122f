"""What a cluster offers the workloads built on it, whatever cloud made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract

if TYPE_CHECKING:
    from stacks.clusters import ClusterConfig

BucketAccess = Literal["read", "write"]


@dataclass(frozen=True)
class IdentityBinding:
    """What a Kubernetes ServiceAccount (and its pods) need to act as a cloud identity."""

    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    # The cloud identity's client ID where a CSI driver must name it (AKS: BlobFuse2 volumes).
    client_id: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class SecretReference:
    """A secret in the cloud's secret manager, by name and version: never its value."""

    name: str
    # "latest": the current version (Secret Manager `latest`, Secrets Manager AWSCURRENT, the
    # Key Vault secret's current version).
    version: str = "latest"


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
        secrets: tuple[SecretReference, ...] = (),
    ) -> IdentityBinding:
        """Declare a cloud identity for `namespace/service_account` with exactly `buckets`
        (config bucket name -> access) and read access to exactly `secrets`; resources are
        children of `parent`."""
        ...


@dataclass(frozen=True)
class SecretProvider:
    """A SecretProviderClass's provider and parameters, and the CSI driver that serves it."""

    csi_driver: str
    provider: str
    parameters: dict[str, pulumi.Input[str]]


class SecretStore(Protocol):
    """The cloud's secret manager behind the Secrets Store CSI driver (GKE's Secret Manager
    add-on, the AWS provider on EKS, AKS's Key Vault provider add-on)."""

    # What must run before a pod can mount secrets (the driver's Helm release on EKS).
    ready: tuple[pulumi.Resource, ...]

    def provider(self, files: dict[str, SecretReference], binding: IdentityBinding) -> SecretProvider:
        """How the driver fetches `files` (file name -> secret) as the pod's identity."""
        ...


@dataclass(frozen=True)
class BucketDriver:
    """How a cluster mounts its own buckets (ClusterHandle.bucket_driver)."""

    kind: Literal["gcsfuse", "mountpoint-s3", "blobfuse2"]
    # Config bucket name -> the name the driver mounts (GCS/S3 bucket, blob container).
    names: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # mountpoint-s3: the buckets' region, also the STS region for the pod's IRSA credentials.
    region: str | None = None
    # blobfuse2: the storage account holding the containers, and its resource group.
    storage_account: pulumi.Input[str] | None = None
    resource_group: pulumi.Input[str] | None = None
    # What must run before a pod can mount (e.g. the EKS add-on).
    ready: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class GatewayAddress:
    """An entry of a Gateway's `spec.addresses` (e.g. the AGC frontend it must use)."""

    type: str
    value: pulumi.Input[str]


@dataclass(frozen=True)
class EntryTls:
    """How the entry point serves HTTPS (port 443; port 80 only redirects)."""

    # The kubernetes.io/tls Secret a Gateway's HTTPS listener (gateway namespace) or each Ingress
    # (its own namespace) serves; None where the cloud's load balancer holds the certificate
    # (GKE Certificate Manager map, ACM on the ALB: annotations carry it).
    secret_name: str | None = None
    # A cert-manager ClusterIssuer that keeps `secret_name` filled.
    cluster_issuer: str | None = None


def secret_tls(cluster: ClusterConfig) -> EntryTls | None:
    """HTTPS from the Secret the stack names (existing clusters, Ingress classes the platform
    issues no certificate for); None for plain HTTP. Validated config only."""
    if cluster.routing.insecure_http:
        return None
    tls = cluster.routing.tls
    return EntryTls(secret_name=tls.secret_name, cluster_issuer=tls.cluster_issuer)


@dataclass(frozen=True)
class Routing:
    """How the cluster's cloud exposes HTTP: a managed Gateway API class and/or an Ingress class."""

    gateway_class: str | None
    # None: the cluster offers no Ingress class (AKS in gateway mode, where the add-on is off).
    ingress_class: str | None
    # How an Ingress expresses a weighted split on this cloud; None: it cannot.
    ingress_weights: Literal["alb-actions"] | None = None
    # Annotations every Ingress of the fanout carries (e.g. ALB scheme, target type, group).
    ingress_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Annotations the Gateway carries (e.g. AGC's alb-id on AKS); may be Outputs.
    gateway_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # Addresses the Gateway asks for (e.g. the AGC frontend on AKS).
    gateway_addresses: tuple[GatewayAddress, ...] = ()
    # Where clients reach the entry point, when the cloud side knows it before the Gateway or
    # Ingress exists (a reserved IP, AGC's frontend FQDN): what the hosts' DNS records point at.
    address: pulumi.Input[str] | None = None
    # What the Gateway or Ingress must wait for: the controller that serves the class (and
    # installs its CRDs) when the cluster does not come with one.
    ready: tuple[pulumi.Resource, ...] = ()
    # HTTPS on the entry point (certificate annotations ride on the annotations above); None:
    # plain HTTP, which the stack asked for explicitly.
    tls: EntryTls | None = None
    # How an Ingress redirects HTTP to HTTPS when the controller needs an object for it (GKE's
    # gce class: a FrontendConfig); None: annotations or the Gateway's own listener do it.
    ingress_redirect: Literal["gke-frontend-config"] | None = None
    # How a route's request timeout reaches the load balancer beyond the model's own objects
    # (GKE: GCPBackendPolicy, ALB: idle timeout annotation): AGC's RoutePolicy per HTTPRoute.
    route_timeouts: Literal["agc-route-policy"] | None = None
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
    # EKS: the IAM policy a team's role needs to fetch credentials (eks:DescribeCluster on this
    # cluster), for its owner or permission set to attach.
    credentials_policy: pulumi.Input[str] | None = None


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
    # Config bucket name -> physical bucket name (Azure: the container's URL).
    buckets: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    # How workloads mount those buckets read-only; None: an init container downloads (existing).
    bucket_driver: BucketDriver | None = None
    identity: WorkloadIdentity | None = None
    # Secrets from the cloud's secret manager; None: the cluster has none wired (existing).
    secret_store: SecretStore | None = None
    extra_egress: tuple[Egress, ...] = ()
    # The resources Kubernetes objects must wait for (node pools, add-ons).
    ready: list[pulumi.Resource] = field(default_factory=list)
    # None for an existing cluster: its kubeconfig is the user's already.
    access: ClusterAccess | None = None
    # DNS records the certificate authority checks before it issues the entry point's
    # certificate (GKE DNS authorizations, ACM validation): exported for whoever holds the zone.
    certificate_dns_records: pulumi.Input[list] | None = None
    # Where the cluster's fanout answers (IP or host name); None while no model has a route.
    entry_address: pulumi.Input[str] | None = None
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
