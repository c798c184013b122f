"""An existing cluster (on-premises, DGX boxes): reached through a kubeconfig context, its pools
declared by the labels and taints its nodes already carry. No cloud resources."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract, pool_contract
from components.handle import ClusterHandle, Routing, secret_tls
from stacks.clusters import ClusterConfig, PoolConfig
from stacks.config import StackConfig


def existing_pool_contract(name: str, pool: PoolConfig) -> PoolContract:
    """The nodes are selected by the labels they already carry; their taints are tolerated."""
    return pool_contract(name, pool, selector=dict(pool.labels), labels=dict(pool.labels))


class ExistingCluster(pulumi.ComponentResource):
    handle: ClusterHandle

    def __init__(self, name: str, cluster: ClusterConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:ExistingCluster", name, None, opts)
        settings = cluster.existing
        assert settings is not None  # guaranteed by ClusterConfig
        provider = k8s.Provider(
            f"{name}-k8s",
            # A path (or None: $KUBECONFIG / ~/.kube/config) read by the provider at deploy time.
            kubeconfig=settings.kubeconfig,
            context=settings.context,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        class_name = cluster.routing.class_name or ""
        self.handle = ClusterHandle(
            name=name,
            cloud="existing",
            kubernetes_provider=provider,
            pools={
                pool_name: existing_pool_contract(pool_name, pool)
                for pool_name, pool in cluster.pools.items()
            },
            system_pool=cluster.system_pool,
            routing=Routing(
                gateway_class=class_name if cluster.routing_mode == "gateway" else None,
                ingress_class=class_name,
                tls=secret_tls(cluster),
            ),
        )
        self.register_outputs({"context": settings.context})


def build_cluster(name: str, cluster: ClusterConfig, stack: StackConfig) -> ClusterHandle:
    return ExistingCluster(name, cluster).handle
