"""A Grafana dashboard per model: its variants side by side on requests, errors, latency (from the
server's own metrics), replicas (kube-state-metrics), CPU and memory (cAdvisor) and GPU (DCGM)."""

from __future__ import annotations

from dataclasses import dataclass

from components.k8s.servers import ServerPanels

# The uid Grafana's provisioned Prometheus datasource carries (components/k8s/monitoring.py).
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
# A Deployment's pods: `<name>-<pod-template-hash>-<5 characters>` (the hash: rand.SafeEncodeString
# of a 32-bit FNV hash, kubernetes pkg/controller ComputeHash). PromQL regexes are anchored, so the
# primary's pattern never takes a variant's pods (`<name>-candidate-<hash>-<5>`, one part more).
POD_SUFFIX = "-[a-z0-9]{1,10}-[a-z0-9]{5}"


@dataclass(frozen=True)
class ModelDashboard:
    model: str
    namespace: str
    # Variant name -> its Deployment's name (the primary's is the model's).
    variants: dict[str, str]
    panels: ServerPanels | None
    gpu: bool


def dashboard(spec: ModelDashboard) -> dict:
    """Grafana dashboard JSON (schemaVersion 39): one time series panel per signal, one query per
    variant, so an A/B split reads side by side."""
    rows: list[tuple[str, str, callable]] = []  # type: ignore[valid-type]

    def server(query: str):
        return lambda variant, deployment: query.format(s=_series(spec, variant))

    if spec.panels is not None:
        rows += [
            ("Requests per second", "reqps", server(spec.panels.requests)),
            ("Errors per second", "reqps", server(spec.panels.errors)),
            ("Latency", "s", server(spec.panels.latency)),
        ]
    rows += [
        (
            "Replicas (available)",
            "short",
            lambda v, d: (
                f'sum(kube_deployment_status_replicas_available{{namespace="{spec.namespace}",'
                f'deployment="{d}"}})'
            ),
        ),
        (
            "CPU (cores)",
            "short",
            lambda v, d: (
                f'sum(rate(container_cpu_usage_seconds_total{{{_pods(spec, d)},container="server"}}[5m]))'
            ),
        ),
        (
            "Memory (working set)",
            "bytes",
            lambda v, d: f'sum(container_memory_working_set_bytes{{{_pods(spec, d)},container="server"}})',
        ),
    ]
    if spec.gpu:
        rows.append(
            ("GPU utilisation (%)", "percent", lambda v, d: f"avg(DCGM_FI_DEV_GPU_UTIL{{{_pods(spec, d)}}})")
        )
    panels = []
    for index, (title, unit, query) in enumerate(rows):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "datasource": DATASOURCE,
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "targets": [
                    {
                        "refId": chr(ord("A") + n),
                        "datasource": DATASOURCE,
                        "expr": query(v, d),
                        "legendFormat": v,
                    }
                    for n, (v, d) in enumerate(spec.variants.items())
                ],
            }
        )
    return {
        "uid": f"mlplatform-{spec.namespace}-{spec.model}"[:40],
        "title": f"Model {spec.namespace}/{spec.model}",
        "tags": ["mlplatform", "model"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "panels": panels,
    }


def series_selector(namespace: str, model: str, variant: str) -> str:
    """A variant's server series: the prometheus chart's pod scrape job maps pod labels to label
    names (app.kubernetes.io/name -> app_kubernetes_io_name, mlplatform.io/variant ->
    mlplatform_io_variant)."""
    return f'namespace="{namespace}",app_kubernetes_io_name="{model}",mlplatform_io_variant="{variant}"'


def _series(spec: ModelDashboard, variant: str) -> str:
    return series_selector(spec.namespace, spec.model, variant)


def _pods(spec: ModelDashboard, deployment: str) -> str:
    return f'namespace="{spec.namespace}",pod=~"{deployment}{POD_SUFFIX}"'
