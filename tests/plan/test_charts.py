"""plan charts: releases rendered by Helm's own engine (helm-python-sdk) with a chart, and the
record of checked values that every shipped release is held to."""

from __future__ import annotations

import datetime
import textwrap
from pathlib import Path

import pytest
import yaml

from components.contract import POOL_LABEL, Toleration
from components.k8s.existing import existing_pool_contract
from components.k8s.helm import on_pools_values
from plan import charts
from plan.cli import main
from plan.engine import shipped_stack_files
from plan.record import PlanRecord
from stacks.clusters import PoolConfig

SNAPSHOTS = Path(__file__).parents[1] / "snapshots"


def _shipped_releases() -> list[charts.Release]:
    # The snapshots are the shipped stacks' plans (tests/test_stacks.py holds them equal).
    return [
        release
        for stack_file in shipped_stack_files()
        for release in charts.releases_of(PlanRecord.read(SNAPSHOTS / f"{stack_file.stem}.json"))
    ]


def test_every_shipped_release_sets_only_values_checked_against_its_chart():
    releases = _shipped_releases()
    assert len({r.key for r in releases}) >= 12
    assert charts.unverified_values(releases, charts.read_record()) == []


def test_a_new_value_or_a_chart_upgrade_needs_a_check_first():
    release = next(r for r in _shipped_releases() if r.chart_name == "dcgm-exporter")
    misspelt = charts.Release(
        **{**vars(release), "values": {**release.values, "kubernetesDcgm": {"enabled": True}}}
    )
    upgraded = charts.Release(**{**vars(release), "version": "9.9.9"})
    problems = charts.unverified_values([misspelt, upgraded], charts.read_record())
    assert problems == [
        f"{misspelt}: value kubernetesDcgm.enabled not checked against the chart",
        f"{upgraded}: chart version never checked (python -m plan charts --record)",
    ]


# --- with Helm's engine, on a chart of the test's own --------------------------------------------

AGENT_TEMPLATE = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: {{ .Release.Name }}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      {{- with .Values.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: agent
          image: "example.com/agent:{{ .Values.image.tag }}"
          {{- if .Values.port }}
          ports: [{containerPort: {{ .Values.port }}}]
          {{- end }}
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def chart_dir(tmp_path) -> Path:
    """A node agent's chart (named as one the check knows, dcgm-exporter): its DaemonSet, and a
    subchart `side` (alias `extra`) enabled by a condition path of the parent's values."""
    return _write(
        tmp_path / "charts" / "dcgm-exporter-1.0.0",
        {
            "Chart.yaml": """\
                apiVersion: v2
                name: dcgm-exporter
                version: 1.0.0
                sources: [https://example.com/agent]
                dependencies:
                  - {name: side, version: 0.1.0, alias: extra, condition: extra.enabled}
            """,
            "values.yaml": """\
                image: {tag: '1.0'}
                port: 0
                nodeSelector: {}
                tolerations: []
                extra: {enabled: false}
            """,
            "values.schema.json": '{"properties": {"port": {"type": "integer"}}}',
            "templates/daemonset.yaml": AGENT_TEMPLATE,
            "charts/side/Chart.yaml": "apiVersion: v2\nname: side\nversion: 0.1.0\n",
            "charts/side/values.yaml": "greeting: hello\n",
            "charts/side/templates/cm.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: side}
                data: {greeting: {{ .Values.greeting | quote }}}
            """,
        },
    ).parent


GPU_POOL = existing_pool_contract(
    "a100",
    PoolConfig(
        kind="gpu",
        accelerator="nvidia-a100-80gb",
        acceleratorCount=8,
        min=1,
        max=1,
        labels={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
        taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
    ),
)
CPU_POOL = existing_pool_contract("cpu", PoolConfig(kind="cpu", min=1, max=1, labels={"role": "worker"}))
POOLS = {"cpu": CPU_POOL, "a100": GPU_POOL}
# Where the platform puts a GPU node agent: on every GPU pool, past its taints.
ON_GPU_POOLS = on_pools_values([GPU_POOL])


def _check(chart_dir: Path, values: dict, name: str = "dcgm-exporter") -> charts.ReleaseReport:
    release = charts.Release("dgx", "monitoring", name, "dcgm-exporter", "1.0.0", values)
    return charts.check_release(release, charts.find_chart(chart_dir, release), POOLS, "1.34.0")


def test_a_value_the_chart_never_reads_is_a_problem_and_a_default_restated_is_not(chart_dir):
    report = _check(
        chart_dir,
        {**ON_GPU_POOLS, "image": {"tag": "1.0"}, "port": 9400, "kubernetesDcgm": {"enabled": True}},
    )
    assert report.problems == ["kubernetesDcgm.enabled: the chart has no such value: Helm ignores it"]
    assert {"image.tag", "port", "tolerations"} <= report.verified
    assert report.source == "https://example.com/agent"


def test_the_values_schema_and_the_kubernetes_schema_of_the_render_are_checked(chart_dir):
    refused = _check(chart_dir, {**ON_GPU_POOLS, "port": "9400"})
    assert any("values.schema.json refuses" in p for p in refused.problems), refused.problems
    (chart_dir / "dcgm-exporter-1.0.0" / "values.schema.json").unlink()
    invalid = _check(chart_dir, {**ON_GPU_POOLS, "port": "http"})  # a containerPort must be an integer
    assert any(p.startswith("DaemonSet/dcgm-exporter:") and "containerPort" in p for p in invalid.problems), (
        invalid.problems
    )


def test_a_subchart_renders_only_when_its_condition_holds_and_under_its_alias(chart_dir):
    assert "ConfigMap" not in _check(chart_dir, ON_GPU_POOLS).kinds
    enabled = _check(chart_dir, {**ON_GPU_POOLS, "extra": {"enabled": True, "greeting": "hi"}})
    assert enabled.kinds["ConfigMap"] == 1
    # The aliased subchart reads its values under the alias: greeting changes the render.
    assert "extra.greeting" in enabled.verified and not enabled.problems


def test_a_node_agent_must_reach_every_gpu_pool_past_its_taints(chart_dir):
    # Selecting by the platform's pool label misses an existing cluster's nodes, which carry
    # only their own labels.
    by_pool_label = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["a100"]}]}
                    ]
                }
            }
        },
        "tolerations": [Toleration("nvidia.com/gpu", value="true").to_kubernetes()],
    }
    report = _check(chart_dir, by_pool_label)
    assert report.problems == [
        "DaemonSet/dcgm-exporter lands on no pool of cluster dgx (pools: cpu, a100)",
        "DaemonSet/dcgm-exporter does not run on gpu pool(s) a100",
    ]
    untolerated = _check(chart_dir, {**ON_GPU_POOLS, "tolerations": []})
    assert "DaemonSet/dcgm-exporter does not run on gpu pool(s) a100" in untolerated.problems
    assert _check(chart_dir, ON_GPU_POOLS).problems == []


def test_pools_for_matches_selectors_affinity_operators_and_taints():
    spec = {"nodeSelector": {"role": "worker"}}
    assert charts.pools_for(spec, POOLS) == ["cpu"]
    anywhere = {"tolerations": [{"operator": "Exists"}], "nodeSelector": {"kubernetes.io/os": "linux"}}
    assert charts.pools_for(anywhere, POOLS) == ["cpu", "a100"]
    not_gpu = {
        "tolerations": [{"operator": "Exists"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "DoesNotExist"}]}
                    ]
                }
            }
        },
    }
    assert charts.pools_for(not_gpu, POOLS) == ["cpu"]


def test_dependency_conditions_follow_helm():
    assert charts.dependency_enabled({"condition": "a.enabled,b.enabled"}, {"b": {"enabled": False}}) is False
    assert charts.dependency_enabled({"condition": "a.enabled"}, {}) is True
    assert charts.dependency_enabled({"tags": ["x"]}, {"tags": {"x": False}}) is False
    # A condition that holds a bool wins over tags.
    assert (
        charts.dependency_enabled({"condition": "a", "tags": ["x"]}, {"a": True, "tags": {"x": False}})
        is True
    )


def test_the_record_keeps_what_each_run_verified(chart_dir, tmp_path):
    report = _check(chart_dir, {"tolerations": ON_GPU_POOLS["tolerations"], "port": 9400})
    report.problems.clear()  # placement aside: only the values are recorded here
    record = charts.updated_record({"charts": {}}, [report], datetime.date(2026, 12, 2))
    path = tmp_path / "chart_values.yaml"
    charts.write_record(record, path)
    written = yaml.safe_load(path.read_text())["charts"]["dcgm-exporter@1.0.0"]
    assert written == {
        "source": "https://example.com/agent",
        "checked": "2026-12-02",
        "values": ["port", "tolerations"],
    }
    assert path.read_text().startswith("# The values each pinned Helm chart")


def test_cli_without_the_charts_says_what_to_pull(tmp_path, capsys):
    assert (
        main(["charts", "--config", str(shipped_stack_files()[0]), "--charts-dir", str(tmp_path / "none")])
        == 2
    )
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["charts", "--stack", "dev", "--charts-dir", str(tmp_path / "empty")]) == 1
    out = capsys.readouterr().out
    assert "not checked:" in out and "helm pull dcgm-exporter --repo" in out
    assert "no Prometheus job" not in out  # no chains checked across releases not rendered


# --- the chains across releases -----------------------------------------------------------------


def _service(name: str, namespace: str, *ports: int) -> dict:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"port": p} for p in ports]},
    }


def _scaled_object(**metadata: str) -> dict:
    return {
        "kind": "ScaledObject",
        "metadata": {"name": "chat"},
        "spec": {"triggers": [{"metadata": metadata}]},
    }


def test_every_address_a_scaler_names_reaches_a_service_port():
    prometheus = _service("prometheus-server", "mlplatform-monitoring", 80)
    scaler = _service("keda-add-ons-http-external-scaler", "keda", 9090)
    reached = _scaled_object(serverAddress="http://prometheus-server.mlplatform-monitoring.svc")
    pushed = _scaled_object(scalerAddress="keda-add-ons-http-external-scaler.keda:9090")
    assert charts.chain_problems("main", [prometheus, scaler, reached, pushed], []) == []
    wrong_port = _scaled_object(serverAddress="http://prometheus-server.mlplatform-monitoring.svc:9090")
    renamed = _scaled_object(serverAddress="http://prometheus.mlplatform-monitoring.svc.cluster.local")
    assert charts.chain_problems("main", [prometheus, wrong_port, renamed], []) == [
        "main: ScaledObject/chat: http://prometheus-server.mlplatform-monitoring.svc:9090: Service "
        "prometheus-server has no port 9090 (ports: [80])",
        "main: ScaledObject/chat: http://prometheus.mlplatform-monitoring.svc.cluster.local: no Service "
        "prometheus in namespace mlplatform-monitoring",
    ]


def test_an_hpa_pods_metric_must_be_one_the_adapter_serves():
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "chat"},
        "spec": {"metrics": [{"type": "Pods", "pods": {"metric": {"name": "DCGM_FI_DEV_GPU_UTIL"}}}]},
    }
    api = {"kind": "APIService", "metadata": {"name": charts.ADAPTER_API}}
    rules = {"rules": [{"seriesQuery": 'DCGM_FI_DEV_GPU_UTIL{namespace!=""}', "name": {"matches": ".*"}}]}
    adapter = {
        "kind": "ConfigMap",
        "metadata": {"name": "adapter"},
        "data": {"config.yaml": yaml.safe_dump(rules)},
    }
    assert charts.chain_problems("aks", [hpa, api, adapter], []) == []
    renamed = {"rules": [{"seriesQuery": "DCGM_FI_DEV_GPU_UTIL", "name": {"as": "gpu_util"}}]}
    adapter["data"]["config.yaml"] = yaml.safe_dump(renamed)
    assert charts.chain_problems("aks", [hpa, api, adapter], []) == [
        "aks: HorizontalPodAutoscaler/chat: Pods metric DCGM_FI_DEV_GPU_UTIL is served by no "
        "v1beta1.custom.metrics.k8s.io adapter rule"
    ]


def test_annotated_pods_need_a_prometheus_job_that_keeps_them():
    exporter = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "dcgm-exporter"},
        "spec": {"template": {"metadata": {"annotations": {"prometheus.io/scrape": "true"}}, "spec": {}}},
    }
    # A bare Pod carries the annotation on its own metadata.
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "annotations": {"prometheus.io/scrape": "true"}},
        "spec": {},
    }
    assert charts.chain_problems("main", [exporter, pod], []) == [
        "main: no Prometheus job scrapes pods annotated prometheus.io/scrape: "
        "DaemonSet/dcgm-exporter, Pod/probe"
    ]
    job = {
        "job_name": "kubernetes-pods",
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {
                "action": "keep",
                "regex": True,
                "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
            }
        ],
    }
    config = {"kind": "ConfigMap", "metadata": {"name": "prometheus-server"}}
    config["data"] = {"prometheus.yml": yaml.safe_dump({"scrape_configs": [job]})}
    assert charts.chain_problems("main", [exporter, config], []) == []


def test_print_pulls_names_one_helm_pull_per_chart_version(capsys, tmp_path):
    assert main(["charts", "--stack", "dev", "--charts-dir", "charts", "--print-pulls"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"helm pull {chart} --repo {repo} --version {version} -d charts"
        for chart, repo, version in (
            ("dcgm-exporter", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.1.1"),
            ("grafana", "https://grafana.github.io/helm-charts", "10.5.15"),
            ("prometheus", "https://prometheus-community.github.io/helm-charts", "25.27.0"),
        )
    ]
    oci = charts.Release(
        "aks", "kube-system", "cert-manager", "oci://quay.io/jetstack/charts/cert-manager", "v1.19.1", {}
    )
    assert charts.pull_command(oci, tmp_path) == (
        f"helm pull oci://quay.io/jetstack/charts/cert-manager --version v1.19.1 -d {tmp_path}"
    )
