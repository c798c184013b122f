"""One AKS cluster with everything around it: provider, resource group, VNet and NAT, VNet
flow logs, cluster and agent pools, ACR, storage account, GPU device plugin, workload identity
and the fanout's entry point (Application Gateway for Containers, or the application routing add-on)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azure_native as azure_native
from pulumi_azure_native import resources

from components.azure.addons import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from components.azure.agent_pool import AksAgentPool, AksAgentPoolArgs, AksPoolSpec, aks_pool_contract
from components.azure.cluster import AksCluster, AksClusterArgs
from components.azure.gateway import GATEWAY_CLASS, GatewayController, GatewayControllerArgs
from components.azure.identity import AksSecretStore, AksWorkloadIdentity
from components.azure.network import (
    AksFlowLogs,
    AksFlowLogsArgs,
    AksNetwork,
    AksNetworkArgs,
    NetworkWatcherArgs,
    RegionalNetworkWatcher,
    TrafficAnalyticsWorkspace,
)
from components.azure.registry import AcrRegistry, AcrRegistryArgs
from components.azure.storage import BlobStorage, BlobStorageArgs
from components.handle import BucketDriver, ClusterAccess, ClusterHandle, EntryTls, Routing, secret_tls
from components.k8s.cert_manager import ISSUER, CertManager, CertManagerArgs
from components.k8s.fanout import GATEWAY_NAME, GATEWAY_NAMESPACE
from components.naming import unique_alnum_name
from stacks.aks import agc_subnet_cidr, aks_kubernetes_version, network_watcher, node_subnet_cidr
from stacks.clusters import ClusterConfig, KeyVaultRef
from stacks.config import StackConfig

# The application routing add-on (`routing.mode: ingress`): a managed NGINX Ingress class (no
# weighted split), whose controller pods run in their own namespace and reach model pods from there.
APP_ROUTING_INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
APP_ROUTING_NAMESPACE = "app-routing-system"


@dataclass(frozen=True)
class AksPlatformArgs:
    environment: str
    cluster: ClusterConfig
    tags: dict[str, str] = field(default_factory=dict)
    # Entra group object IDs of the teams whose workloads run here (deployers and viewers).
    team_groups: list[str] = field(default_factory=list)


class AksPlatform(pulumi.ComponentResource):
    handle: ClusterHandle

    def __init__(self, name: str, args: AksPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:Platform", name, None, opts)
        config = args.cluster
        settings = config.azure
        assert settings is not None and config.network is not None  # guaranteed by ClusterConfig
        tags = {**args.tags, "mlplatform-cluster": name}
        kubernetes_version = aks_kubernetes_version(config)

        self.provider = azure_native.Provider(
            f"{name}-azure",
            subscription_id=settings.subscription_id,
            location=settings.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"azure-native": self.provider})

        self.resource_group = resources.ResourceGroup(
            f"{name}-rg", location=settings.location, tags=tags, opts=child
        )
        rg_name = self.resource_group.name
        # The region's watcher, made sure of before the VNet, when the flow logs go under
        # Azure's own (`azure.networkWatcher` names one the subscription keeps elsewhere).
        self.network_watcher = None
        if settings.flow_log_retention_days is not None and settings.network_watcher is None:
            watcher_group, watcher_name = network_watcher(config)
            self.network_watcher = RegionalNetworkWatcher(
                f"{name}-network-watcher",
                NetworkWatcherArgs(
                    subscription_id=settings.subscription_id,
                    location=settings.location,
                    resource_group_name=watcher_group,
                    name=watcher_name,
                    tags=tags,
                ),
                opts=child,
            )
        watcher_ready = [self.network_watcher] if self.network_watcher else []
        self.network = AksNetwork(
            f"{name}-vnet",
            AksNetworkArgs(
                resource_group_name=rg_name,
                location=settings.location,
                vnet_cidr=config.network.cidr,
                node_subnet_cidr=node_subnet_cidr(config.network.cidr),
                tags=tags,
                after=watcher_ready,
            ),
            opts=child,
        )

        def pool_spec(pool_name: str) -> AksPoolSpec:
            return AksPoolSpec(
                pool_name=pool_name,
                pool=config.pools[pool_name],
                node_subnet_id=self.network.node_subnet.id,
                system=pool_name == config.system_pool,
                kubernetes_version=kubernetes_version,
                zones=list(settings.zones),
                spot_max_price=settings.spot_max_price.get(pool_name, -1),
                encryption_at_host=settings.encryption_at_host,
                tags=tags,
            )

        self.cluster = AksCluster(
            name,
            AksClusterArgs(
                provider=self.provider,
                subscription_id=settings.subscription_id,
                resource_group_name=rg_name,
                location=settings.location,
                dns_prefix=f"{args.environment}-{name}",
                node_subnet_id=self.network.node_subnet.id,
                nat_egress_ip=self.network.egress_ip.ip_address,
                system_pool=pool_spec(config.system_pool),
                pod_cidr=config.network.pod_cidr,
                service_cidr=config.network.service_cidr,
                sku_tier=settings.sku_tier,
                support_plan=settings.support_plan,
                kubernetes_version=kubernetes_version,
                tenant_id=settings.tenant_id,
                admin_group_object_ids=list(settings.admin_group_object_ids),
                user_group_object_ids=list(args.team_groups),
                log_retention_days=settings.log_retention_days,
                private_endpoint=config.private_endpoint,
                authorized_networks=config.api_networks,
                kubelogin_mode=settings.kubelogin_mode,
                deployer_object_id=settings.deployer_object_id,
                deployer_principal_type=settings.deployer_principal_type,
                app_routing=config.routing_mode == "ingress",
                blob_csi_driver=bool(config.buckets),
                key_vault_secrets=settings.key_vault is not None,
                protect=config.deletion_protection,
                tags=tags,
            ),
            opts=child,
        )
        self.flow_logs = None
        if settings.flow_log_retention_days is not None:
            workspace = self.cluster.log_workspace
            self.flow_logs = AksFlowLogs(
                f"{name}-flow-logs",
                AksFlowLogsArgs(
                    vnet_id=self.network.vnet.id,
                    location=settings.location,
                    resource_group_name=rg_name,
                    network_watcher=network_watcher(config),
                    watcher_ready=watcher_ready,
                    storage_account_name=unique_alnum_name(args.environment, name, "flowlogs", max_length=24),
                    storage_sku=settings.storage_sku,
                    retention_days=settings.flow_log_retention_days,
                    allowed_cidrs=list(config.authorized_networks),
                    traffic_analytics=TrafficAnalyticsWorkspace(
                        resource_id=workspace.id,
                        customer_id=workspace.customer_id,
                        location=settings.location,
                    )
                    if settings.traffic_analytics and workspace is not None
                    else None,
                    protect=config.deletion_protection,
                    tags=tags,
                ),
                opts=child,
            )
        # User pools one after another, in config order (AksAgentPoolArgs.after says why).
        self.agent_pools: dict[str, AksAgentPool] = {}
        previous: AksAgentPool | None = None
        for pool_name in config.pools:
            if pool_name == config.system_pool:
                continue
            previous = self.agent_pools[pool_name] = AksAgentPool(
                f"{name}-{pool_name}",
                AksAgentPoolArgs(
                    spec=pool_spec(pool_name),
                    resource_group_name=rg_name,
                    cluster_name=self.cluster.cluster.name,
                    after=previous,
                ),
                opts=child,
            )
        contracts = {
            config.system_pool: aks_pool_contract(
                config.system_pool, config.pools[config.system_pool], system=True
            ),
            **{pool_name: pool.contract for pool_name, pool in self.agent_pools.items()},
        }

        self.registry = None
        if config.registry is not None:
            self.registry = AcrRegistry(
                f"{name}-{config.registry.name}",
                AcrRegistryArgs(
                    subscription_id=settings.subscription_id,
                    resource_group_name=rg_name,
                    location=settings.location,
                    registry_name=unique_alnum_name(
                        args.environment, name, config.registry.name, max_length=50
                    ),
                    untagged_retention_days=config.registry.untagged_retention_days,
                    zone_redundant=bool(settings.zones),
                    pullers={"kubelet": self.cluster.kubelet_object_id},
                    private_endpoint_subnet_id=self.network.node_subnet.id,
                    virtual_network_id=self.network.vnet.id,
                    allowed_cidrs=list(config.authorized_networks),
                    protect=config.deletion_protection,
                    tags=tags,
                ),
                opts=child,
            )

        self.storage = None
        if config.buckets:
            self.storage = BlobStorage(
                f"{name}-storage",
                BlobStorageArgs(
                    resource_group_name=rg_name,
                    location=settings.location,
                    account_name=unique_alnum_name(args.environment, name, max_length=24),
                    sku=settings.storage_sku,
                    buckets=dict(config.buckets),
                    allowed_subnet_ids=[self.network.node_subnet.id],
                    allowed_cidrs=list(config.authorized_networks),
                    protect=config.deletion_protection,
                    tags=tags,
                ),
                opts=child,
            )

        gpu_pools = tuple(c for c in contracts.values() if c.kind == "gpu")
        self.device_plugin = None
        if gpu_pools:
            self.device_plugin = NvidiaDevicePlugin(
                f"{name}-nvidia-device-plugin",
                NvidiaDevicePluginArgs(
                    kubernetes_provider=self.cluster.kubernetes_provider,
                    gpu_pools=gpu_pools,
                    gpu_pool_resources=tuple(self.agent_pools[c.name].agent_pool for c in gpu_pools),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.identity = AksWorkloadIdentity(
            provider=self.provider,
            subscription_id=settings.subscription_id,
            resource_group_name=rg_name,
            location=settings.location,
            oidc_issuer_url=self.cluster.oidc_issuer_url,
            container_ids={
                bucket: container.id
                for bucket, container in (self.storage.containers if self.storage else {}).items()
            },
            key_vault_id=key_vault_id(settings.subscription_id, settings.key_vault)
            if settings.key_vault
            else None,
            tags=tags,
        )
        self.gateway = None
        if config.routing_mode == "gateway":
            self.gateway = GatewayController(
                f"{name}-gateway",
                GatewayControllerArgs(
                    subscription_id=settings.subscription_id,
                    resource_group_name=rg_name,
                    resource_group_id=self.resource_group.id,
                    node_resource_group_id=self.cluster.node_resource_group_id,
                    location=settings.location,
                    vnet_name=self.network.vnet.name,
                    subnet_cidr=agc_subnet_cidr(config.network.cidr),
                    oidc_issuer_url=self.cluster.oidc_issuer_url,
                    kubernetes_provider=self.cluster.kubernetes_provider,
                    system_pool=contracts[config.system_pool],
                    # The system pool is declared with the cluster.
                    system_pool_resource=self.cluster.cluster,
                    tags=tags,
                    subnet_depends_on=[self.network.node_subnet],
                ),
                opts=child,
            )

        self.cert_manager = None
        if self.gateway is not None and config.managed_tls:
            self.cert_manager = CertManager(
                f"{name}-cert-manager",
                CertManagerArgs(
                    kubernetes_provider=self.cluster.kubernetes_provider,
                    system_pool=contracts[config.system_pool],
                    depends_on=(self.cluster.cluster,),
                    gateway=(GATEWAY_NAME, GATEWAY_NAMESPACE),
                    email=config.routing.tls.acme_email,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        ready: list[pulumi.Resource] = [*self.agent_pools.values()]
        if self.registry is not None:
            ready.extend([*self.registry.pull_grants, *self.registry.private_access])
        pool_ready: dict[str, list[pulumi.Resource]] = {
            pool_name: [pool] for pool_name, pool in self.agent_pools.items()
        }
        if self.device_plugin is not None:
            # A GPU pool offers nvidia.com/gpu only once the plugin runs; the plugin waits for the
            # GPU pools, so only what runs there may wait for it (a CPU model must not).
            ready.append(self.device_plugin)
            for contract in gpu_pools:
                pool_ready[contract.name].append(self.device_plugin)
        self.handle = ClusterHandle(
            name=name,
            cloud="azure",
            kubernetes_provider=self.cluster.kubernetes_provider,
            pools=contracts,
            system_pool=config.system_pool,
            routing=self._routing(config),
            registry_url=self.registry.url if self.registry else None,
            buckets=dict(self.storage.urls) if self.storage else {},
            bucket_driver=BucketDriver(
                kind="blobfuse2",
                names={bucket: container.name for bucket, container in self.storage.containers.items()},
                storage_account=self.storage.account.name,
                resource_group=rg_name,
                # The driver runs with the cluster; the mounts need the identity grants only.
            )
            if self.storage
            else None,
            identity=self.identity,
            secret_store=AksSecretStore(key_vault_name=settings.key_vault.name, tenant_id=settings.tenant_id)
            if settings.key_vault and settings.tenant_id
            else None,
            ready=ready,
            pool_ready=pool_ready,
            access=ClusterAccess(
                self.cluster.cluster.name, self.cluster.cluster.fqdn, self.cluster.kubeconfig
            ),
        )
        self.register_outputs(
            {
                "cluster": self.cluster.cluster.name,
                "resourceGroup": rg_name,
                "registry": self.handle.registry_url,
                "buckets": self.handle.buckets,
            }
        )

    def _routing(self, config: ClusterConfig) -> Routing:
        if self.gateway is None:
            return Routing(
                gateway_class=None,
                ingress_class=APP_ROUTING_INGRESS_CLASS,
                source_namespace=APP_ROUTING_NAMESPACE,
                tls=secret_tls(config),
            )
        tls = None
        ready: tuple[pulumi.Resource, ...] = (self.gateway,)
        if self.cert_manager is not None:
            # AGC terminates TLS with a Secret the listener names (AGC docs, "SSL offloading with
            # Application Gateway for Containers - Gateway API"); cert-manager keeps it filled.
            tls = EntryTls(secret_name=f"{GATEWAY_NAME}-tls", cluster_issuer=ISSUER)
            ready = (self.gateway, self.cert_manager)
        return Routing(
            gateway_class=GATEWAY_CLASS,
            ingress_class=None,
            gateway_annotations=self.gateway.gateway_annotations,
            gateway_addresses=self.gateway.gateway_addresses,
            # AGC gives each frontend a generated FQDN; the hosts get CNAMEs to it (AGC docs,
            # "Frontend": "Frontends ... are assigned an FQDN", no static IP).
            address=self.gateway.frontend.fqdn,
            ready=ready,
            # AGC's proxies reach pods straight from its subnet (the overlay is extended to it);
            # AGC takes health probes from the pods' readiness probes, so no policy is needed.
            source_cidrs=(self.gateway.subnet_cidr,),
            tls=tls,
            route_timeouts="agc-route-policy",
        )


def key_vault_id(subscription_id: str, vault: KeyVaultRef) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{vault.resource_group}"
        f"/providers/Microsoft.KeyVault/vaults/{vault.name}"
    )


def build_cluster(name: str, cluster: ClusterConfig, stack: StackConfig) -> ClusterHandle:
    return AksPlatform(
        name,
        AksPlatformArgs(
            environment=stack.environment,
            cluster=cluster,
            tags=stack.labels,
            team_groups=stack.team_subjects_on(name),
        ),
    ).handle
