"""The Pods metric behind HPAs on GPU utilisation: prometheus-adapter serving DCGM exporter's
gauge (scraped by the cluster's Prometheus, components/k8s/monitoring.py) as custom.metrics.k8s.io."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, scheduling_values
from components.k8s.model_service import GPU_UTIL_METRIC
from components.k8s.monitoring import NAMESPACE, PROMETHEUS_URL

PROMETHEUS_ADAPTER = Chart(
    "prometheus-adapter", "https://prometheus-community.github.io/helm-charts", "4.11.0"
)


@dataclass(frozen=True)
class GpuMetricsArgs:
    system_pool: PoolContract
    # What the adapter waits for: the Prometheus it queries.
    prometheus_ready: list[pulumi.Resource] = field(default_factory=list)


class GpuMetrics(pulumi.ComponentResource):
    # The release serving the Pods metric to HPAs (custom.metrics.k8s.io): what an HPA waits for.
    metrics_api: pulumi.Resource

    def __init__(self, name: str, args: GpuMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:GpuMetrics", name, None, opts)
        # Values of prometheus-adapter 4.11.0 (charts/prometheus-adapter/values.yaml at
        # prometheus-adapter-4.11.0): `prometheus.url/port`, `rules.default/custom`; it serves on
        # listenPort 6443, which GKE's control plane reaches through the platform's firewall rule.
        self.metrics_api = chart_release(
            f"{name}-adapter",
            PROMETHEUS_ADAPTER,
            NAMESPACE,
            {
                "prometheus": {"url": PROMETHEUS_URL, "port": 80},
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
            pulumi.ResourceOptions(parent=self, depends_on=args.prometheus_ready),
            create_namespace=False,
        )
        self.register_outputs({"metric": GPU_UTIL_METRIC})
