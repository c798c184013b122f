"""What AKS leaves to the cluster owner for GPU pools: the NVIDIA device plugin.

AKS installs and patches the NVIDIA driver on GPU nodes (gpuProfile.driver=Install) but does not
run the device plugin, without which no node advertises `nvidia.com/gpu` and no GPU pod ever
schedules (AKS's "managed GPU" node pools that include it are a preview feature).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, on_pools_values

NVIDIA_DEVICE_PLUGIN = Chart("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.18.0")


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    kubernetes_provider: k8s.Provider
    # The GPU pools whose nodes run the plugin, and the resources that create them: the release
    # waits for those (and is removed before them).
    gpu_pools: tuple[PoolContract, ...]
    gpu_pool_resources: tuple[pulumi.Resource, ...]
    namespace: str = "kube-system"


class NvidiaDevicePlugin(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:NvidiaDevicePlugin", name, None, opts)
        self.release = chart_release(
            name,
            NVIDIA_DEVICE_PLUGIN,
            args.namespace,
            device_plugin_values(args.gpu_pools),
            pulumi.ResourceOptions(
                parent=self,
                provider=args.kubernetes_provider,
                depends_on=list(args.gpu_pool_resources),
            ),
            create_namespace=False,
        )
        self.register_outputs({"status": self.release.status})


def device_plugin_values(gpu_pools: tuple[PoolContract, ...]) -> dict:
    """Chart values that pin the DaemonSet to the GPU pools and let it past their taints.

    The chart's default affinity selects on Node Feature Discovery labels, which AKS nodes do
    not carry; the platform's own pool label replaces it.
    """
    return {
        **on_pools_values(gpu_pools),
        "priorityClassName": "system-node-critical",
        # The driver may still be loading when a fresh node starts the plugin: retry, do not crash.
        "failOnInitError": False,
    }
