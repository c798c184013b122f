"""The cluster's metrics: Prometheus scraping nodes, GPUs and model servers, DCGM exporter on the
GPU nodes the models use. What autoscalers (prometheus-adapter, KEDA) and dashboards read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.handle import GpuNodeHost
from components.k8s.dashboards import DATASOURCE, ModelDashboard, dashboard
from components.k8s.helm import Chart, chart_release, on_pools_values, scheduling_values
from components.k8s.pod import object_metadata

NAMESPACE = "mlplatform-monitoring"
DCGM_EXPORTER = Chart("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.1.1")
PROMETHEUS = Chart("prometheus", "https://prometheus-community.github.io/helm-charts", "25.27.0")
GRAFANA = Chart("grafana", "https://grafana.github.io/helm-charts", "10.5.15")
# The grafana chart's dashboard sidecar loads ConfigMaps carrying this label (values
# sidecar.dashboards.label, grafana chart 10.5.15), from its own namespace by default.
DASHBOARD_LABEL = "grafana_dashboard"
# The prometheus chart's server Service: `<release>-server`, port 80 (values server.service.servicePort).
PROMETHEUS_URL = f"http://prometheus-server.{NAMESPACE}.svc"
DCGM_PORT = 9400
# The dcgm-exporter chart mounts its counters ConfigMap through these two defaults
# (deployment/values.yaml at 4.2.3-4.1.1); a list value replaces the chart's, so extra mounts
# repeat them.
_DCGM_DEFAULT_MOUNTS = [
    {
        "name": "exporter-metrics-volume",
        "mountPath": "/etc/dcgm-exporter/default-counters.csv",
        "subPath": "default-counters.csv",
    }
]
_NVIDIA_MOUNT = "/usr/local/nvidia"


@dataclass(frozen=True)
class MonitoringArgs:
    system_pool: PoolContract
    # GPU pools models run on: one DCGM exporter pod per node of these pools.
    gpu_pools: list[PoolContract] = field(default_factory=list)
    gpu_node_host: GpuNodeHost = field(default_factory=GpuNodeHost)
    # How long Prometheus keeps samples, and the volume that holds them.
    retention_days: int = 7
    volume_size: str = "20Gi"
    labels: dict[str, str] = field(default_factory=dict)
    # What must exist before the releases' pods can schedule (each release waits for its pods):
    # the GPU pools for the exporter, the system pool for Prometheus.
    gpu_pools_ready: list[pulumi.Resource] = field(default_factory=list)
    system_pool_ready: list[pulumi.Resource] = field(default_factory=list)
    # Grafana with one dashboard per entry (None: no Grafana).
    dashboards: list[ModelDashboard] | None = field(default_factory=list)
    # The GpuMetrics component (its name) that held the exporter and Prometheus releases before
    # they moved here: aliases keep those releases instead of replacing them.
    formerly: str | None = None


class Monitoring(pulumi.ComponentResource):
    # The Prometheus release: what readers of its API (adapter, KEDA, Grafana) wait for.
    prometheus: pulumi.Resource
    prometheus_url: str = PROMETHEUS_URL

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:Monitoring", name, None, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=object_metadata(NAMESPACE, None, args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_namespace = [namespace]
        if args.gpu_pools:
            exporter_waits = [*in_namespace, *args.gpu_pools_ready]
            if args.gpu_node_host.critical_pods_need_quota:
                exporter_waits.append(
                    k8s.core.v1.ResourceQuota(
                        f"{name}-critical-pods",
                        metadata=object_metadata("critical-pods", NAMESPACE, args.labels),
                        spec={
                            # Only counts the exporter pods (one per GPU node): a bound, not a limit.
                            "hard": {"pods": "1000"},
                            "scopeSelector": {
                                "matchExpressions": [
                                    {
                                        "operator": "In",
                                        "scopeName": "PriorityClass",
                                        "values": ["system-node-critical"],
                                    }
                                ]
                            },
                        },
                        opts=pulumi.ResourceOptions(parent=self, depends_on=in_namespace),
                    )
                )
            self.dcgm_exporter = chart_release(
                f"{name}-dcgm-exporter",
                DCGM_EXPORTER,
                NAMESPACE,
                dcgm_exporter_values(args.gpu_pools, args.gpu_node_host),
                pulumi.ResourceOptions(
                    parent=self, depends_on=exporter_waits, aliases=_former(args, "dcgm-exporter")
                ),
                create_namespace=False,
            )
        self.prometheus = chart_release(
            f"{name}-prometheus",
            PROMETHEUS,
            NAMESPACE,
            prometheus_values(args),
            # Scrapes whatever exporters run: no need to wait for them (or for GPU nodes).
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[*in_namespace, *args.system_pool_ready],
                aliases=_former(args, "prometheus"),
            ),
            create_namespace=False,
        )
        if args.dashboards is not None:
            self._grafana(name, args, in_namespace)
        self.register_outputs({"prometheus": PROMETHEUS_URL})

    def _grafana(self, name: str, args: MonitoringArgs, in_namespace: list[pulumi.Resource]) -> None:
        for spec in args.dashboards or []:
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{spec.namespace}-{spec.model}",
                metadata=object_metadata(
                    f"dashboard-{spec.namespace}-{spec.model}",
                    NAMESPACE,
                    {**args.labels, DASHBOARD_LABEL: "1"},
                ),
                data={f"{spec.namespace}-{spec.model}.json": json.dumps(dashboard(spec), sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=in_namespace),
            )
        # Values of the grafana chart 10.5.15 (charts/grafana/values.yaml at grafana-10.5.15):
        # `datasources` provisions Prometheus; `sidecar.dashboards` loads the labelled ConfigMaps;
        # no adminPassword: the chart generates one into its Secret (admin.passwordKey).
        self.grafana = chart_release(
            f"{name}-grafana",
            GRAFANA,
            NAMESPACE,
            {
                "datasources": {
                    "datasources.yaml": {
                        "apiVersion": 1,
                        "datasources": [
                            {
                                "name": "Prometheus",
                                "type": DATASOURCE["type"],
                                "uid": DATASOURCE["uid"],
                                "url": PROMETHEUS_URL,
                                "access": "proxy",
                                "isDefault": True,
                            }
                        ],
                    }
                },
                "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL}},
                "persistence": {"enabled": False},
                **scheduling_values(args.system_pool),
            },
            pulumi.ResourceOptions(parent=self, depends_on=[*in_namespace, *args.system_pool_ready]),
            create_namespace=False,
        )


def dcgm_exporter_values(gpu_pools: list[PoolContract], host: GpuNodeHost) -> dict:
    """Values of the dcgm-exporter chart 4.1.1 (deployment/values.yaml and templates/daemonset.yaml
    at tag 4.2.3-4.1.1; the chart has no `kubernetesDcgm` key: the DaemonSet always sets
    DCGM_EXPORTER_KUBERNETES=true, which labels series with the pod using the GPU)."""
    values: dict = {
        # No Prometheus Operator here: the chart's ServiceMonitor (on by default) has no CRD.
        "serviceMonitor": {"enabled": False},
        **on_pools_values(gpu_pools),
        # Scraped by the prometheus chart's `kubernetes-pods` job, whose honor_labels keeps the
        # exporter's pod/namespace labels (the GPU's user), not the exporter's own.
        "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(DCGM_PORT)},
    }
    env = []
    if host.gpu_id_type != "uid":
        # Flag --kubernetes-gpu-id-type (pkg/cmd/app.go at 4.2.3-4.1.1), values uid | device-name.
        env.append({"name": "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE", "value": host.gpu_id_type})
    if host.driver_dir is not None:
        env.append({"name": "LD_LIBRARY_PATH", "value": f"{_NVIDIA_MOUNT}/lib64"})
        values["extraHostVolumes"] = [{"name": "nvidia-install-dir-host", "hostPath": host.driver_dir}]
        values["extraVolumeMounts"] = [
            *_DCGM_DEFAULT_MOUNTS,
            {"name": "nvidia-install-dir-host", "mountPath": _NVIDIA_MOUNT, "readOnly": True},
        ]
    if env:
        values["extraEnv"] = env
    if host.privileged:
        # The chart's default (root with SYS_ADMIN) plus access to the GPU device files.
        values["securityContext"] = {
            "privileged": True,
            "runAsNonRoot": False,
            "runAsUser": 0,
            "capabilities": {"add": ["SYS_ADMIN"]},
        }
    return values


def prometheus_values(args: MonitoringArgs) -> dict:
    """Values of the prometheus chart 25.27.0 (charts/prometheus/values.yaml at prometheus-25.27.0):
    its default scrape jobs read nodes (kubelet, cAdvisor), annotated Services (node exporter,
    kube-state-metrics) and annotated pods (model servers, DCGM exporter)."""
    system = scheduling_values(args.system_pool)
    return {
        "alertmanager": {"enabled": False},
        "prometheus-pushgateway": {"enabled": False},
        # Node metrics (CPU, memory, disk): a DaemonSet tolerating every NoSchedule taint
        # (prometheus-node-exporter 4.39 values `tolerations`), so GPU nodes report too.
        "prometheus-node-exporter": {"enabled": True},
        # Replicas and pod states of every Deployment (what a dashboard's replica panel reads).
        "kube-state-metrics": {"enabled": True, **system},
        "server": {
            "retention": f"{args.retention_days}d",
            "persistentVolume": {"size": args.volume_size},
            **system,
        },
    }


def _former(args: MonitoringArgs, release: str) -> list[pulumi.Alias]:
    if args.formerly is None:
        return []
    parent = pulumi.create_urn(args.formerly, "mlplatform:k8s:GpuMetrics")
    return [pulumi.Alias(name=f"{args.formerly}-{release}", parent=parent)]
