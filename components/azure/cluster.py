"""An AKS cluster with Entra ID auth only, workload identity, CNI overlay + Cilium, and the
kubernetes.Provider that reaches it."""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import authorization, containerservice, managedidentity, monitor, operationalinsights

from components.azure.agent_pool import AksPoolSpec, system_pool_profile
from components.azure.roles import (
    AKS_CLUSTER_USER,
    AKS_RBAC_CLUSTER_ADMIN,
    NETWORK_CONTRIBUTOR,
    SERVICE_PRINCIPAL,
    role_definition_id,
)
from components.kubeconfig import exec_kubeconfig

# The Entra ID application every AKS API server accepts tokens for.
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


# AKS resource log categories (docs: "Monitor AKS" > resource logs): the API server, the audit
# log of changes (kube-audit-admin: writes only, a fraction of kube-audit's volume), the
# autoscaler's decisions and Entra ID sign-ins (guard).
CONTROL_PLANE_LOGS = ("kube-apiserver", "kube-audit-admin", "cluster-autoscaler", "guard")


@dataclass(frozen=True)
class AksClusterArgs:
    provider: azure_native.Provider
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    dns_prefix: str
    node_subnet_id: pulumi.Input[str]
    # The NAT gateway's public IP: the nodes' (and pods') source address on the internet.
    nat_egress_ip: pulumi.Input[str]
    system_pool: AksPoolSpec
    pod_cidr: str
    service_cidr: str
    # The minor AKS runs (stacks.aks.aks_kubernetes_version); AKS applies its patches.
    kubernetes_version: str
    # Entra object ID of the principal running `pulumi up` (gets RBAC Cluster Admin here).
    deployer_object_id: str
    sku_tier: str = "Standard"
    # KubernetesOfficial or AKSLongTermSupport (Premium tier only).
    support_plan: str = "KubernetesOfficial"
    tenant_id: str | None = None
    admin_group_object_ids: list[str] = field(default_factory=list)
    # Entra groups of the teams on this cluster: each may fetch a kubeconfig, nothing more.
    user_group_object_ids: list[str] = field(default_factory=list)
    # Days the control-plane logs are kept in Log Analytics; None: no diagnostic setting.
    log_retention_days: int | None = 90
    private_endpoint: bool = False
    authorized_networks: list[str] = field(default_factory=list)
    kubelogin_mode: str = "azurecli"
    # Its type: User or ServicePrincipal.
    deployer_principal_type: str = "User"
    # The application routing add-on (managed NGINX Ingress), for `routing.mode: ingress` only.
    app_routing: bool = False
    # Workloads mount blob containers: run the Blob CSI driver (BlobFuse2).
    blob_csi_driver: bool = False
    # Workloads read Key Vault secrets: run the Key Vault provider for the Secrets Store CSI driver.
    key_vault_secrets: bool = False
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class AksCluster(pulumi.ComponentResource):
    cluster: containerservice.ManagedCluster
    kubeconfig: pulumi.Output[str]
    kubernetes_provider: k8s.Provider
    oidc_issuer_url: pulumi.Output[str]
    kubelet_object_id: pulumi.Output[str]
    node_resource_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # A user-assigned control-plane identity, so its right to join the node subnet can be
        # granted before the cluster exists (a system-assigned one only exists afterwards).
        self.control_plane_identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        subnet_access = authorization.RoleAssignment(
            f"{name}-control-plane-subnet",
            principal_id=self.control_plane_identity.principal_id,
            principal_type=SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(args.subscription_id, NETWORK_CONTRIBUTOR),
            scope=args.node_subnet_id,
            description="AKS control plane joins nodes and internal load balancers to the node subnet",
            opts=child,
        )

        self.cluster = containerservice.ManagedCluster(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=args.dns_prefix,
            kubernetes_version=args.kubernetes_version,
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier=args.sku_tier),
            support_plan=args.support_plan,
            identity=containerservice.ManagedClusterIdentityArgs(
                type="UserAssigned", user_assigned_identities=[self.control_plane_identity.id]
            ),
            # Entra ID is the only way in: no static admin kubeconfig, Azure RBAC (and
            # Kubernetes RBAC for the groups the namespaces bind) decides what a user may do.
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=True,
                tenant_id=args.tenant_id,
                admin_group_object_ids=args.admin_group_object_ids or None,
            ),
            disable_local_accounts=True,
            enable_rbac=True,
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=args.private_endpoint,
                authorized_ip_ranges=None
                if args.private_endpoint
                else api_server_authorized_ranges(args.authorized_networks, args.nat_egress_ip),
                # `az aks command invoke` would bypass the network restrictions above.
                disable_run_command=True,
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                    enabled=True
                ),
                # Deletes unused images from nodes: model images are large.
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(
                    enabled=True, interval_hours=48
                ),
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                # Overlay: pods get IPs from pod_cidr, not from the VNet, so the VNet stays small.
                network_plugin="azure",
                network_plugin_mode="overlay",
                # Cilium enforces the namespaces' NetworkPolicies without a separate add-on.
                network_dataplane="cilium",
                network_policy="cilium",
                pod_cidr=args.pod_cidr,
                service_cidr=args.service_cidr,
                dns_service_ip=dns_service_ip(args.service_cidr),
                load_balancer_sku="standard",
                outbound_type="userAssignedNATGateway",
            ),
            agent_pool_profiles=[system_pool_profile(args.system_pool)],
            # AKS runs the cluster autoscaler; these settings let accelerator pools fall back to
            # zero soon after their last pod leaves.
            auto_scaler_profile=containerservice.ManagedClusterPropertiesAutoScalerProfileArgs(
                expander="least-waste",
                balance_similar_node_groups="true",
                scale_down_unneeded_time="5m",
                scale_down_delay_after_add="5m",
                # Model servers write to an emptyDir /tmp; with the default (true) no node that
                # runs one would ever be scaled down.
                skip_nodes_with_local_storage="false",
                max_graceful_termination_sec="600",
            ),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                # The minor is pinned; its patches come automatically, which long-term support
                # relies on: it covers only a minor's two newest patches
                # (learn.microsoft.com/azure/aks/long-term-support, "LTS Patch process").
                upgrade_channel="patch",
                node_os_upgrade_channel="NodeImage",
            ),
            # The application routing add-on: a managed NGINX Ingress controller behind the
            # `webapprouting.kubernetes.azure.com` class. Declared off, not left out, when the
            # fanout uses Application Gateway for Containers, so that a cluster moving to the
            # gateway stops running (and paying for) the add-on.
            ingress_profile=containerservice.ManagedClusterIngressProfileArgs(
                web_app_routing=containerservice.ManagedClusterIngressProfileWebAppRoutingArgs(
                    enabled=args.app_routing
                )
            ),
            # The managed Blob CSI driver (learn.microsoft.com/azure/aks/azure-blob-csi, "Enable CSI
            # driver on a new or existing AKS cluster": storageProfile.blobCSIDriver.enabled); off
            # unless the cluster's buckets are mounted, its DaemonSet costs on every node.
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                blob_csi_driver=containerservice.ManagedClusterStorageProfileBlobCSIDriverArgs(
                    enabled=args.blob_csi_driver
                )
            ),
            # The Key Vault provider add-on (learn.microsoft.com/azure/aks/csi-secrets-store-driver,
            # addon azureKeyvaultSecretsProvider; rotation polls every 2 minutes by default).
            addon_profiles={
                "azureKeyvaultSecretsProvider": containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={"enableSecretRotation": "true"}
                )
            }
            if args.key_vault_secrets
            else None,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[subnet_access],
                protect=args.protect,
                # The cluster autoscaler owns the node count after creation.
                ignore_changes=["agentPoolProfiles[0].count"],
            ),
        )
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else None)
        self.kubelet_object_id = self.cluster.identity_profile.apply(
            lambda profile: profile["kubeletidentity"].object_id if profile else None
        )
        # AKS's own resource group for the node VM scale sets and their NICs.
        self.node_resource_group_id = pulumi.Output.concat(
            "/subscriptions/", args.subscription_id, "/resourceGroups/", self.cluster.node_resource_group
        )

        # The deployer (azure.deployerObjectId) must reach the API to declare the workloads:
        # Azure Kubernetes Service RBAC Cluster Admin, on this cluster only (local accounts are off).
        deployer_access = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            principal_id=args.deployer_object_id,
            principal_type=args.deployer_principal_type,
            role_definition_id=role_definition_id(args.subscription_id, AKS_RBAC_CLUSTER_ADMIN),
            scope=self.cluster.id,
            description="The principal that runs pulumi up declares the platform's Kubernetes objects",
            opts=child,
        )

        self.log_workspace: operationalinsights.Workspace | None = None
        if args.log_retention_days is not None:
            self.log_workspace = self._ship_control_plane_logs(name, args, child)

        # Team members get credentials through the Cluster User role; what they may do inside is
        # their namespace's RoleBindings, which AKS matches by group object ID (Azure/AKS#515).
        for group in args.user_group_object_ids:
            authorization.RoleAssignment(
                f"{name}-cluster-user-{group}",
                principal_id=group,
                principal_type="Group",
                role_definition_id=role_definition_id(args.subscription_id, AKS_CLUSTER_USER),
                scope=self.cluster.id,
                description="A team's group fetches its kubeconfig (listClusterUserCredential)",
                opts=child,
            )

        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=self.cluster.name,
            opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(
            credentials.kubeconfigs.apply(
                lambda configs: aks_kubeconfig(configs[0].value, args.kubelogin_mode)
            )
        )
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployer_access]),
        )
        self.register_outputs(
            {
                "name": self.cluster.name,
                "fqdn": self.cluster.fqdn,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _ship_control_plane_logs(
        self, name: str, args: AksClusterArgs, child: pulumi.ResourceOptions
    ) -> operationalinsights.Workspace:
        """AKS keeps no control-plane logs unless a diagnostic setting sends them somewhere
        (docs: "Monitor AKS", resource logs): who called the API and what admins changed."""
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            tags=args.tags,
            opts=child,
        )
        monitor.DiagnosticSetting(
            f"{name}-control-plane-logs",
            resource_uri=self.cluster.id,
            workspace_id=workspace.id,
            # Resource-specific tables (AKSAudit, AKSControlPlane), cheaper to query than AzureDiagnostics.
            log_analytics_destination_type="Dedicated",
            logs=[
                monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                for category in CONTROL_PLANE_LOGS
            ],
            opts=child,
        )
        return workspace


def api_server_authorized_ranges(
    authorized_networks: list[str], nat_egress_ip: pulumi.Input[str]
) -> pulumi.Output[list[str]]:
    """The CIDRs a public, restricted API server admits: the user's networks and the nodes' own
    egress IP, or kubelets, konnectivity and in-cluster controllers cannot reach it.

    AKS allows only its load balancer's outbound IP by itself; with a NAT gateway (outbound type
    userAssignedNATGateway) the egress IP must be listed ("Secure access to the API server using
    authorized IP address ranges", learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges:
    "add ... the cluster egress IP address (firewall, NAT gateway, ...)").
    """
    return pulumi.Output.from_input(nat_egress_ip).apply(lambda ip: [*authorized_networks, f"{ip}/32"])


def dns_service_ip(service_cidr: str) -> str:
    """CoreDNS's address: the tenth of the service range, as AKS itself defaults it."""
    return str(ipaddress.ip_network(service_cidr)[10])


def aks_kubeconfig(user_kubeconfig_base64: str, login_mode: str) -> str:
    """An exec kubeconfig for the cluster in AKS's user credentials, authenticating via kubelogin.

    AKS returns a kubeconfig whose kubelogin runs `--login devicecode`, which waits for a human
    at a browser: unusable for `pulumi up` in CI. Only the server and CA are taken from it.
    """
    document = yaml.safe_load(base64.b64decode(user_kubeconfig_base64))
    entry = document["clusters"][0]
    return exec_kubeconfig(
        entry["name"],
        entry["cluster"]["server"],
        entry["cluster"]["certificate-authority-data"],
        {
            "command": "kubelogin",
            "args": ["get-token", "--login", login_mode, "--server-id", AKS_AAD_SERVER_ID],
            "installHint": "install kubelogin: az aks install-cli (or https://azure.github.io/kubelogin)",
            "provideClusterInfo": False,
        },
    )
