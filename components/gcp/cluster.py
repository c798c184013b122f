"""A private, VPC-native GKE Standard cluster and the kubernetes.Provider that reaches it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.gcp.network import PODS_RANGE, SERVICES_RANGE
from components.kubeconfig import exec_kubeconfig


@dataclass(frozen=True)
class GkeClusterArgs:
    project: str
    # A region makes a regional (multi-zone, HA control plane) cluster, a zone a zonal one.
    location: str
    node_locations: list[str]
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    release_channel: str
    master_cidr: str
    kubernetes_version: str | None = None
    private_endpoint: bool = False
    authorized_networks: list[str] = field(default_factory=list)
    deletion_protection: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    # The nodes' service account: the temporary default pool runs as it too.
    node_service_account: pulumi.Input[str] | None = None
    # Node ports the control plane must call (webhooks, aggregated APIs), port -> why.
    control_plane_ports: dict[int, str] = field(default_factory=dict)
    # Binary Authorization admits only images matching these name patterns (e.g. `<registry>/**`);
    # Google's own system images are exempt through the policy's global evaluation mode.
    image_allowlist: list[pulumi.Input[str]] = field(default_factory=list)
    # Google Groups for RBAC: the gke-security-groups@<domain> group (None: group subjects unused).
    security_group: str | None = None
    # Serve the API on the IAM-authorized DNS endpoint too, and reach it there (CI's path).
    dns_endpoint: bool = False


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    # What the kubeconfig reaches: the DNS endpoint (dns_endpoint) or the endpoint IP.
    api_endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kubernetes_provider: k8s.Provider

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # The project's one Binary Authorization policy (a singleton: one GKE cluster per project,
        # stacks/config.py): deny by default, admit the allow-list and Google's system images
        # (cloud.google.com/binary-authorization/docs/policy-yaml-reference). Declared before the
        # cluster, which enforces it from its first pod.
        image_policy = gcp.binaryauthorization.Policy(
            f"{name}-binary-authorization",
            project=args.project,
            description=f"Images the GKE cluster {name} may run",
            global_policy_evaluation_mode="ENABLE",
            admission_whitelist_patterns=[
                gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(name_pattern=pattern)
                for pattern in args.image_allowlist
            ],
            default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
                evaluation_mode="ALWAYS_DENY", enforcement_mode="ENFORCED_BLOCK_AND_AUDIT_LOG"
            ),
            opts=child,
        )

        self.cluster = gcp.container.Cluster(
            name,
            location=args.location,
            node_locations=args.node_locations or None,
            network=args.network,
            subnetwork=args.subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE,
                services_secondary_range_name=SERVICES_RANGE,
            ),
            # Node pools are separate resources; the default pool only exists to be deleted.
            remove_default_node_pool=True,
            initial_node_count=1,
            # Without a service account the temporary default pool runs as the Compute Engine
            # default SA, which many orgs disable (constraints/iam.automaticIamGrantsForDefault-
            # ServiceAccounts), and cluster creation fails. The Terraform GKE module sets it the
            # same way (cluster.tf, node_pool "default-pool" node_config.service_account).
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=args.node_service_account,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            )
            if args.node_service_account is not None
            else None,
            min_master_version=args.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=args.private_endpoint,
                master_ipv4_cidr_block=args.master_cidr,
                master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(
                    enabled=True
                ),
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                        cidr_block=cidr, display_name=f"authorized-{i}"
                    )
                    for i, cidr in enumerate(args.authorized_networks)
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=f"{args.project}.svc.id.goog"
            ),
            enable_shielded_nodes=True,
            # Dataplane V2 enforces NetworkPolicy without a separate add-on.
            datapath_provider="ADVANCED_DATAPATH",
            # Same-node pod-to-pod traffic goes through the VPC, so the subnet's flow logs and
            # firewall rules see it too; no charge of its own, only more flow-log volume
            # (cloud.google.com/kubernetes-engine/docs/how-to/intranode-visibility).
            enable_intranode_visibility=True,
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE"
            ),
            gateway_api_config=gcp.container.ClusterGatewayApiConfigArgs(channel="CHANNEL_STANDARD"),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
                horizontal_pod_autoscaling=gcp.container.ClusterAddonsConfigHorizontalPodAutoscalingArgs(
                    disabled=False
                ),
                # Models mount their artifacts bucket through it (CSI ephemeral volumes; GKE docs,
                # "Access Cloud Storage buckets with the Cloud Storage FUSE CSI driver").
                gcs_fuse_csi_driver_config=gcp.container.ClusterAddonsConfigGcsFuseCsiDriverConfigArgs(
                    enabled=True
                ),
            ),
            # Models read secrets from Secret Manager as files, through the Secrets Store CSI driver
            # GKE runs (GKE docs, "Use Secret Manager add-on with Google Kubernetes Engine").
            secret_manager_config=gcp.container.ClusterSecretManagerConfigArgs(enabled=True),
            # The cluster autoscaler is managed by GKE; this profile packs nodes tighter and
            # removes idle (accelerator) nodes sooner.
            cluster_autoscaling=gcp.container.ClusterClusterAutoscalingArgs(
                autoscaling_profile="OPTIMIZE_UTILIZATION"
            ),
            vertical_pod_autoscaling=gcp.container.ClusterVerticalPodAutoscalingArgs(enabled=True),
            monitoring_config=gcp.container.ClusterMonitoringConfigArgs(
                # Not "DCGM" (GKE's managed DCGM package, "Collect and view DCGM metrics"): its
                # exporter reports to Cloud Monitoring, where the in-cluster autoscalers do not
                # read; the platform's own exporter (components/k8s/monitoring.py) feeds them, and
                # two exporters on one GPU would both run a DCGM host engine.
                enable_components=["SYSTEM_COMPONENTS"],
                managed_prometheus=gcp.container.ClusterMonitoringConfigManagedPrometheusArgs(enabled=True),
            ),
            cost_management_config=gcp.container.ClusterCostManagementConfigArgs(enabled=True),
            # VULNERABILITY_BASIC "is no longer supported" (GKE API enum VulnerabilityMode,
            # cloud.google.com/kubernetes-engine/docs/deprecations/posture-management-deprecation);
            # the remaining values are DISABLED and ENTERPRISE (paid GKE Enterprise). Images are
            # scanned in Artifact Registry instead; BASIC posture keeps config auditing.
            security_posture_config=gcp.container.ClusterSecurityPostureConfigArgs(
                mode="BASIC", vulnerability_mode="VULNERABILITY_DISABLED"
            ),
            # Tokens carry the caller's Google groups that are members of the security group, so
            # RoleBindings can name team groups by e-mail (GKE docs "Google Groups for RBAC").
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(
                security_group=args.security_group
            )
            if args.security_group
            else None,
            # The DNS-based endpoint: reachable from anywhere, each request authorized by IAM
            # (container.clusters.connect) before it reaches the API server; no IP allow-list
            # (GKE docs "About network isolation", DNS-based endpoint; pulumi-gcp 10.2.0 fields).
            control_plane_endpoints_config=gcp.container.ClusterControlPlaneEndpointsConfigArgs(
                dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                    allow_external_traffic=True
                )
            )
            if args.dns_endpoint
            else None,
            resource_labels=args.labels,
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[image_policy],
                # A replacement takes the same name and master CIDR as the old cluster: GKE refuses
                # both while the old one exists, so delete first.
                delete_before_replace=True,
                # node_config and initial_node_count describe only the default pool, which is gone
                # after creation; both are ForceNew in the provider, so drift there must not
                # replace the cluster (the Terraform GKE module ignores node_pool and
                # initial_node_count for the same reason).
                ignore_changes=["nodeConfig", "initialNodeCount"],
            ),
        )

        # Private nodes accept the control plane on 443 and 10250 only (GKE private clusters,
        # "Adding firewall rules for specific use cases"; kubernetes-sigs/prometheus-adapter#534):
        # webhooks and aggregated APIs on other ports need a rule from the master range.
        if args.control_plane_ports and args.node_service_account is not None:
            self.control_plane_firewall = gcp.compute.Firewall(
                f"{name}-control-plane-to-nodes",
                network=args.network,
                direction="INGRESS",
                description="GKE control plane to node ports: "
                + "; ".join(f"{port} {why}" for port, why in sorted(args.control_plane_ports.items())),
                source_ranges=[args.master_cidr],
                target_service_accounts=[args.node_service_account],
                allows=[
                    gcp.compute.FirewallAllowArgs(
                        protocol="tcp", ports=[str(port) for port in sorted(args.control_plane_ports)]
                    )
                ],
                opts=child,
            )

        if args.dns_endpoint:
            # The DNS endpoint's certificate is signed by a public Google CA, not the cluster root
            # CA (GKE "About network isolation"); pinning the cluster CA fails TLS verification
            # (crossplane-contrib/provider-upjet-gcp #988, fluxcd/flux2 #5896): none is given.
            server = self.cluster.control_plane_endpoints_config.apply(
                lambda config: config.dns_endpoint_config.endpoint
            )
            ca_certificate: pulumi.Input[str | None] = None
        else:
            server = self.cluster.endpoint
            ca_certificate = self.cluster.master_auth.cluster_ca_certificate
        self.api_endpoint = server
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, server, ca_certificate).apply(
                lambda parts: gke_kubeconfig(*parts)
            )
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply is what the rest of the platform (and its field managers) expects.
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {"name": self.cluster.name, "endpoint": self.api_endpoint, "kubeconfig": self.kubeconfig}
        )


def gke_kubeconfig(cluster_name: str, endpoint: str, ca_certificate: str | None) -> str:
    """A kubeconfig that authenticates through gke-gcloud-auth-plugin."""
    return exec_kubeconfig(
        f"gke-{cluster_name}",
        f"https://{endpoint}",
        ca_certificate,
        {
            "command": "gke-gcloud-auth-plugin",
            "installHint": "gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        },
    )
