"""One GKE cluster with everything around it: provider, VPC, node identity, pools, registry, buckets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.gcp.access import GkeTeamAccess, GkeTeamAccessArgs
from components.gcp.bucket import GcsBucket, GcsBucketArgs
from components.gcp.certificates import CERTMAP_ANNOTATION, ManagedCertificate, ManagedCertificateArgs
from components.gcp.cluster import GkeCluster, GkeClusterArgs
from components.gcp.identity import (
    GkeSecretStore,
    GkeWorkloadIdentity,
    NodeIdentity,
    NodeIdentityArgs,
    account_id,
)
from components.gcp.network import GkeNetwork, GkeNetworkArgs
from components.gcp.node_pool import GkeNodePool, GkeNodePoolArgs
from components.gcp.registry import ArtifactRegistry, ArtifactRegistryArgs
from components.handle import (
    BucketDriver,
    ClusterAccess,
    ClusterHandle,
    Egress,
    EntryTls,
    GatewayAddress,
    GpuNodeHost,
    Routing,
    secret_tls,
)
from stacks.clusters import ClusterConfig
from stacks.config import StackConfig
from stacks.images import chart_image_repositories, helper_image_repositories

GOOGLE_LB_RANGES = ("35.191.0.0/16", "130.211.0.0/22")

# Node ports the GKE control plane calls beyond 443/10250 for the add-ons this platform
# installs (components/k8s): prometheus-adapter serves custom.metrics.k8s.io on its
# listenPort 6443 (chart 4.11.0 values.yaml; kubernetes-sigs/prometheus-adapter#534), KEDA's
# metrics API server external.metrics.k8s.io on 6443 (service.portHttpsTarget) and its
# admission webhooks on 9443 (webhooks.port default; kedacore/charts keda/values.yaml v2.20.2).
CONTROL_PLANE_PORTS = {
    6443: "metrics APIs (prometheus-adapter custom.metrics.k8s.io, KEDA external.metrics.k8s.io)",
    9443: "KEDA admission webhooks",
}

# GKE's GPU nodes (COS, Google-installed driver) as a self-installed DCGM exporter finds them:
# the driver and NVML live in /home/kubernetes/bin/nvidia, which nothing injects
# (NVIDIA/dcgm-exporter#484, #59); GKE's device plugin reports GPUs by device name (nvidia0),
# so pod labels need `--kubernetes-gpu-id-type device-name`; the exporter runs privileged to
# open /dev/nvidia*; and GKE admits the chart's system-node-critical pods outside kube-system
# only under a ResourceQuota for that priority class. Google's own DCGM exporter manifest for
# Managed Service for Prometheus (cloud.google.com/stackdriver/docs/managed-prometheus/
# exporters/nvidia-dcgm) mounts the driver at /usr/local/nvidia, sets LD_LIBRARY_PATH and
# device-name the same way; the quota is in the GKE docs "Priority classes" / Kubecost's GKE guide.
GKE_GPU_NODE_HOST = GpuNodeHost(
    driver_dir="/home/kubernetes/bin/nvidia",
    gpu_id_type="device-name",
    critical_pods_need_quota=True,
    privileged=True,
)


@dataclass(frozen=True)
class GkePlatformArgs:
    environment: str
    cluster: ClusterConfig
    labels: dict[str, str] = field(default_factory=dict)
    # Image prefixes (registries, ending in "/") and image repositories admitted besides the
    # cluster's own registry: the stack's allow-list and the installed charts' images.
    allowed_image_prefixes: tuple[str, ...] = ()
    allowed_image_repositories: tuple[str, ...] = ()
    # Google group e-mails of the teams whose namespaces are on the cluster.
    team_groups: list[str] = field(default_factory=list)


class GkePlatform(pulumi.ComponentResource):
    handle: ClusterHandle

    def __init__(self, name: str, args: GkePlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:Platform", name, None, opts)
        config = args.cluster
        settings = config.gcp
        assert settings is not None and config.network is not None  # guaranteed by ClusterConfig
        labels = {**args.labels, "mlplatform-cluster": name}

        self.provider = gcp.Provider(
            f"{name}-gcp",
            project=settings.project,
            region=settings.region,
            default_labels=labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"gcp": self.provider})
        location = settings.region if settings.regional else settings.zones[0]

        self.network = GkeNetwork(
            f"{name}-vpc",
            GkeNetworkArgs(
                region=settings.region,
                node_cidr=config.network.cidr,
                pod_cidr=config.network.pod_cidr,
                service_cidr=config.network.service_cidr,
            ),
            opts=child,
        )
        self.node_identity = NodeIdentity(
            f"{name}-nodes",
            NodeIdentityArgs(
                project=settings.project,
                account_id=account_id(args.environment, name, "nodes"),
                display_name=f"GKE nodes of {args.environment}/{name}",
            ),
            opts=child,
        )
        self.registry = None
        if config.registry is not None:
            self.registry = ArtifactRegistry(
                f"{name}-{config.registry.name}",
                ArtifactRegistryArgs(
                    project=settings.project,
                    location=settings.region,
                    repository_id=f"{args.environment}-{config.registry.name}",
                    untagged_retention_days=config.registry.untagged_retention_days,
                    keep_recent=config.registry.keep_recent,
                    readers=[self.node_identity.member],
                    labels=labels,
                ),
                opts=child,
            )
        self.cluster = GkeCluster(
            name,
            GkeClusterArgs(
                project=settings.project,
                location=location,
                node_locations=settings.zones if settings.regional else [],
                network=self.network.network.id,
                subnetwork=self.network.subnetwork.id,
                release_channel=settings.release_channel,
                master_cidr=settings.master_cidr,
                kubernetes_version=config.kubernetes_version,
                private_endpoint=config.private_endpoint,
                authorized_networks=config.api_networks,
                deletion_protection=config.deletion_protection,
                labels=labels,
                node_service_account=self.node_identity.email,
                control_plane_ports=CONTROL_PLANE_PORTS,
                image_allowlist=[
                    *([self.registry.url.apply(lambda url: f"{url}/**")] if self.registry else []),
                    *binary_authorization_patterns(
                        args.allowed_image_prefixes, args.allowed_image_repositories
                    ),
                ],
                security_group=settings.security_group,
                dns_endpoint=config.ci_access is not None and config.ci_access.mode == "dnsEndpoint",
            ),
            # The default pool's nodes register with the node role already granted.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.network, self.node_identity])
            ),
        )
        self.node_pools = {
            pool_name: GkeNodePool(
                f"{name}-{pool_name}",
                GkeNodePoolArgs(
                    pool_name=pool_name,
                    pool=pool,
                    cluster=self.cluster.cluster.id,
                    location=location,
                    node_locations=settings.zones if settings.regional else [],
                    service_account=self.node_identity.email,
                    labels=labels,
                ),
                opts=child,
            )
            for pool_name, pool in config.pools.items()
        }

        self.team_access = GkeTeamAccess(
            f"{name}-team-access",
            GkeTeamAccessArgs(project=settings.project, groups=list(args.team_groups)),
            opts=child,
        )

        self.buckets = {
            bucket_name: GcsBucket(
                f"{name}-{bucket_name}",
                GcsBucketArgs(
                    location=settings.region.upper(),
                    versioning=bucket.versioning,
                    noncurrent_retention_days=bucket.noncurrent_retention_days,
                    labels=labels,
                ),
                opts=child,
            )
            for bucket_name, bucket in config.buckets.items()
        }

        # Host names need an address that outlives the Gateway for their DNS records: a reserved
        # global IP named in the Gateway's spec.addresses, type NamedAddress (GKE docs, "Deploying
        # Gateways", static IP). Only the global class, the platform's default, takes a global
        # address; `gce` Ingresses get one load balancer (and address) each, per team namespace.
        self.entry_address = None
        if config.routing.hosts and config.routing_mode == "gateway" and config.routing.class_name is None:
            self.entry_address = gcp.compute.GlobalAddress(
                f"{name}-entry",
                name=f"{args.environment}-{name}-entry",
                description=f"Entry point of the {args.environment}-{name} ML platform cluster",
                project=settings.project,
                labels=labels,
                opts=child,
            )

        self.certificate = None
        if config.managed_tls:
            self.certificate = ManagedCertificate(
                f"{name}-tls",
                ManagedCertificateArgs(
                    project=settings.project,
                    prefix=f"{args.environment}-{name}",
                    hosts=tuple(config.routing.hosts),
                    labels=labels,
                ),
                opts=child,
            )

        self.handle = ClusterHandle(
            name=name,
            cloud="gcp",
            kubernetes_provider=self.cluster.kubernetes_provider,
            pools={pool_name: pool.contract for pool_name, pool in self.node_pools.items()},
            system_pool=config.system_pool,
            routing=Routing(
                gateway_class="gke-l7-global-external-managed",
                ingress_class="gce",
                ingress_redirect="gke-frontend-config",
                health_check="gke-policy",
                # Google front ends and health checkers reach pods (container-native LB) from here.
                source_cidrs=GOOGLE_LB_RANGES,
                **self._tls(config),
                **self._entry_address(),
            ),
            registry_url=self.registry.url if self.registry else None,
            buckets={bucket_name: bucket.name for bucket_name, bucket in self.buckets.items()},
            # The cluster runs the Cloud Storage FUSE CSI driver add-on (GkeCluster).
            bucket_driver=BucketDriver(
                kind="gcsfuse",
                names={bucket_name: bucket.name for bucket_name, bucket in self.buckets.items()},
            ),
            secret_store=GkeSecretStore(project=settings.project),
            identity=GkeWorkloadIdentity(
                project=settings.project,
                prefix=f"{args.environment}-{name}",
                provider=self.provider,
                buckets={bucket_name: bucket.name for bucket_name, bucket in self.buckets.items()},
                cluster=self.cluster.cluster,
            ),
            # With Dataplane V2, pods reach the GKE metadata server (workload identity tokens)
            # only if NetworkPolicy allows it.
            extra_egress=(Egress("169.254.169.252/32", 988), Egress("169.254.169.254/32", 80)),
            ready=list(self.node_pools.values()),
            pool_ready={pool_name: [pool] for pool_name, pool in self.node_pools.items()},
            gpu_node_host=GKE_GPU_NODE_HOST,
            access=ClusterAccess(
                self.cluster.cluster.name, self.cluster.api_endpoint, self.cluster.kubeconfig
            ),
            certificate_dns_records=self.certificate.dns_records if self.certificate else None,
        )
        self.register_outputs(
            {
                "cluster": self.cluster.cluster.name,
                "registry": self.handle.registry_url,
                "buckets": self.handle.buckets,
            }
        )

    def _tls(self, config: ClusterConfig) -> dict:
        """The Gateway serves the Certificate Manager map; a `gce` Ingress the stack's Secret."""
        if self.certificate is None:
            return {"tls": secret_tls(config)}
        return {
            "tls": EntryTls(),
            "gateway_annotations": {CERTMAP_ANNOTATION: self.certificate.certificate_map.name},
        }

    def _entry_address(self) -> dict:
        if self.entry_address is None:
            return {}
        return {
            "gateway_addresses": (GatewayAddress("NamedAddress", self.entry_address.name),),
            "address": self.entry_address.address,
        }


# Images GKE itself injects into team pods, which the global system policy is not documented to
# cover: the Cloud Storage FUSE CSI driver's sidecar (gke.gcr.io/gcs-fuse-csi-driver-sidecar-mounter).
# `gke.gcr.io/*` is a pattern of Google's own default project policy (GoogleCloudPlatform/
# k8s-config-connector config/samples/resources/binaryauthorizationpolicy/default-policy); a
# trailing `*` admits the repositories directly under the path.
GKE_INJECTED_IMAGE_PATHS = ("gke.gcr.io/",)


def binary_authorization_patterns(prefixes: tuple[str, ...], repositories: tuple[str, ...]) -> list[str]:
    """Binary Authorization name patterns: `**` admits a registry path and everything below it,
    a trailing `*` one repository at any tag or digest (AdmissionWhitelistPattern.name_pattern)."""
    return sorted(
        {*(f"{prefix}**" for prefix in prefixes), *(f"{repository}*" for repository in repositories)}
    )


def build_cluster(name: str, cluster: ClusterConfig, stack: StackConfig) -> ClusterHandle:
    return GkePlatform(
        name,
        GkePlatformArgs(
            environment=stack.environment,
            cluster=cluster,
            labels=stack.labels,
            allowed_image_prefixes=tuple(stack.image_policy.prefixes),
            allowed_image_repositories=(
                *chart_image_repositories(),
                *helper_image_repositories(),
                *GKE_INJECTED_IMAGE_PATHS,
            ),
            team_groups=stack.team_subjects_on(name),
        ),
    ).handle
