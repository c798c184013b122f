"""The metrics path behind HPAs on GPU utilisation: DCGM exporter -> Prometheus -> adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.contract import PoolContract, Toleration
from components.k8s.helm import Chart, chart_release, scheduling_values
from components.k8s.model_service import GPU_UTIL_METRIC

NAMESPACE = "mlplatform-monitoring"
DCGM_EXPORTER = Chart("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.1.1")
PROMETHEUS = Chart("prometheus", "https://prometheus-community.github.io/helm-charts", "25.27.0")
PROMETHEUS_ADAPTER = Chart(
    "prometheus-adapter", "https://prometheus-community.github.io/helm-charts", "4.11.0"
)


@dataclass(frozen=True)
class GpuMetricsArgs:
    system_pool: PoolContract
    # The GPU pools DCGM exporter runs on (one exporter pod per GPU node).
    gpu_pools: list[PoolContract]
    # What must exist before the releases' pods can schedule (each release waits for its pods):
    # the GPU pools for the exporter, the system pool for Prometheus and the adapter.
    gpu_pools_ready: list[pulumi.Resource] = field(default_factory=list)
    system_pool_ready: list[pulumi.Resource] = field(default_factory=list)


class GpuMetrics(pulumi.ComponentResource):
    # The release serving the Pods metric to HPAs (custom.metrics.k8s.io): what an HPA waits for.
    metrics_api: pulumi.Resource

    def __init__(self, name: str, args: GpuMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:GpuMetrics", name, None, opts)
        tolerations = {t for pool in args.gpu_pools for t in pool.tolerations}
        pool_names = sorted(pool.name for pool in args.gpu_pools)
        chart_release(
            f"{name}-dcgm-exporter",
            DCGM_EXPORTER,
            NAMESPACE,
            {
                "serviceMonitor": {"enabled": False},
                # Label series with the pod using the GPU, which is what a Pods metric needs.
                "kubernetesDcgm": True,
                "tolerations": [t.to_kubernetes() for t in sorted(tolerations, key=_toleration_key)],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "mlplatform.io/pool", "operator": "In", "values": pool_names}
                                    ]
                                }
                            ]
                        }
                    }
                },
                "service": {"enable": True, "port": 9400},
                "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9400"},
            },
            pulumi.ResourceOptions(parent=self, depends_on=args.gpu_pools_ready),
        )
        prometheus = chart_release(
            f"{name}-prometheus",
            PROMETHEUS,
            NAMESPACE,
            {
                # Only what the HPA needs: a short-retention server scraping annotated pods.
                "alertmanager": {"enabled": False},
                "prometheus-pushgateway": {"enabled": False},
                "prometheus-node-exporter": {"enabled": False},
                "kube-state-metrics": {"enabled": False},
                "server": {
                    "retention": "2d",
                    "persistentVolume": {"size": "20Gi"},
                    **scheduling_values(args.system_pool),
                },
            },
            # Scrapes whatever exporters run: no need to wait for them (or for GPU nodes).
            pulumi.ResourceOptions(parent=self, depends_on=args.system_pool_ready),
        )
        self.metrics_api = chart_release(
            f"{name}-adapter",
            PROMETHEUS_ADAPTER,
            NAMESPACE,
            {
                "prometheus": {"url": f"http://prometheus-server.{NAMESPACE}.svc", "port": 80},
                "rules": {
                    "default": False,
                    "custom": [
                        {
                            "seriesQuery": f'{GPU_UTIL_METRIC}{{namespace!="",pod!=""}}',
                            "resources": {
                                "overrides": {
                                    "namespace": {"resource": "namespace"},
                                    "pod": {"resource": "pod"},
                                }
                            },
                            "name": {"as": GPU_UTIL_METRIC},
                            "metricsQuery": "avg(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
                        }
                    ],
                },
                **scheduling_values(args.system_pool),
            },
            pulumi.ResourceOptions(parent=self, depends_on=[prometheus]),
        )
        self.register_outputs({"metric": GPU_UTIL_METRIC})


def _toleration_key(toleration: Toleration) -> tuple[str, str, str]:
    return (toleration.key, toleration.effect, toleration.value or "")
