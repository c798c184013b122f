"""`plan charts`: every Helm release of a plan, rendered by Helm itself with its chart at the pinned
version.

Pulumi hands a release's values to Helm only at `pulumi up`, and Helm ignores a value its chart does
not read: a misspelt key, a key of another chart version or of a disabled subchart passes every
offline check and configures nothing. This check renders each release with Helm's own engine
(helm-python-sdk: the Helm library, Helm 4, whose template engine, dependency conditions and values
schema are Helm 3's as pulumi-kubernetes runs them), from charts pulled beforehand
(`helm pull <repo>/<chart> --version <v> -d DIR`, or a chart's source at its release tag), and
reports, per release:

1. values the chart's values.schema.json refuses, and templates that fail to render;
2. rendered manifests that fail the Kubernetes schema of the cluster's version (kubernetes-validate);
3. values the chart never reads: removing one leaves the render unchanged and the chart has no such
   value (a value that restates the chart's own default is fine);
4. pods that land on no pool of their cluster: a nodeSelector or required node affinity no pool's
   labels meet, or a pool taint not tolerated; and node agents (the GPU exporter, the device
   plugin) that miss a GPU pool.

`--record` writes the value paths it verified to stacks/catalogs/chart_values.yaml; the test suite
holds every release of the shipped stacks to that file without the charts, so a new value or a
chart upgrade needs a run of this check first.
"""

from __future__ import annotations

import copy
import datetime
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from components.aws.node_group import eks_pool_contract
from components.azure.agent_pool import aks_pool_contract
from components.contract import PoolContract
from components.gcp.node_pool import gke_pool_contract
from components.k8s.existing import existing_pool_contract
from plan.engine import PROJECT_DIR
from plan.record import PlanRecord
from plan.render import helm_releases, manifests
from policies.rules.kubernetes import PodTemplate, pod_template
from stacks.clusters import ClusterConfig
from stacks.config import StackConfig

RECORD_FILE = PROJECT_DIR / "stacks" / "catalogs" / "chart_values.yaml"

# Labels every Linux node carries (kubelet's well-known labels), which charts select by default.
WELL_KNOWN_NODE_LABELS = {"kubernetes.io/os": "linux"}
# Charts whose DaemonSet of the same name is a node agent for every pool of a kind.
NODE_AGENTS = {"dcgm-exporter": "gpu", "nvidia-device-plugin": "gpu"}
# Helm's own manifest separator (pkg/releaseutil/manifest.go SplitManifests).
_MANIFEST_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
# Generated secrets and their checksums differ between two renders of the same values (webhook
# certificates made with genCA); they say nothing about the values.
_RANDOM = re.compile(r"[A-Za-z0-9+/=]{40,}|[0-9a-f]{64}")
_MISSING = object()

# A value's place in the values tree, key by key.
ValuePath = tuple[str, ...]


class ChartUnavailableError(Exception):
    """helm-python-sdk cannot load here, or a chart is missing from the charts directory."""


@dataclass(frozen=True)
class Release:
    cluster: str
    namespace: str
    name: str
    chart: str
    version: str
    values: dict[str, Any]
    # The Helm repository URL; None for an OCI chart (its reference is `chart`).
    repository: str | None = None

    @property
    def chart_name(self) -> str:
        return self.chart.rsplit("/", 1)[-1]

    @property
    def key(self) -> str:
        return f"{self.chart_name}@{self.version}"

    def __str__(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name} ({self.key})"


@dataclass
class ReleaseReport:
    release: Release
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Value paths verified against the chart: read by it, or restating its default.
    verified: set[str] = field(default_factory=set)
    # The chart's own `sources` (Chart.yaml), or its home page.
    source: str = ""
    # The objects the chart rendered (for the checks across releases).
    rendered: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kinds(self) -> Counter[str]:
        return Counter(obj["kind"] for obj in self.rendered)


def releases_of(record: PlanRecord) -> list[Release]:
    return [
        Release(
            r["cluster"],
            r["namespace"] or "default",
            r["release"],
            r["chart"],
            r["version"],
            r["values"],
            r["repository"],
        )
        for r in helm_releases(record)
    ]


def dotted(path: ValuePath) -> str:
    """A value path as `helm --set` writes it (dots inside a key escaped)."""
    return ".".join(part.replace(".", "\\.") for part in path)


def leaf_paths(values: Any, path: ValuePath = ()) -> Iterator[ValuePath]:
    """Every value the platform sets: maps are walked, lists and scalars are leaves."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaf_paths(value, (*path, str(key)))
    elif path:
        yield path


def _without(values: dict[str, Any], path: ValuePath) -> dict[str, Any]:
    trimmed = copy.deepcopy(values)
    node = trimmed
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return trimmed


def _at(tree: Any, path: ValuePath) -> Any:
    """The value at `path`, or _MISSING."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return _MISSING
        tree = tree[key]
    return tree


def _default(defaults: dict[str, Any], path: ValuePath) -> Any:
    node: Any = defaults
    for key in path:
        if not isinstance(node, dict) or key not in node:
            # Below a map the chart leaves empty (`podAnnotations: {}`), any key is the user's.
            return _MISSING if node != {} else None
        node = node[key]
    return node


# --- charts ------------------------------------------------------------------------------------


def _helm() -> Any:
    try:
        import helm_python
    except (ImportError, OSError) as error:  # the wheel ships the Helm library for linux only
        raise ChartUnavailableError(
            f"helm-python-sdk cannot load here ({error}); make setup installs it"
        ) from error
    return helm_python


def pull_command(release: Release, charts_dir: Path) -> str:
    """The `helm pull` that puts a release's chart where find_chart looks for it."""
    if release.chart.startswith("oci://"):
        return f"helm pull {release.chart} --version {release.version} -d {charts_dir}"
    return (
        f"helm pull {release.chart_name} --repo {release.repository} --version {release.version} "
        f"-d {charts_dir}"
    )


def find_chart(charts_dir: Path, release: Release) -> Path:
    """`<name>-<version>.tgz` as `helm pull` writes it, or a directory `<name>-<version>/`."""
    for candidate in (
        charts_dir / f"{release.key.replace('@', '-')}.tgz",
        charts_dir / release.key.replace("@", "-"),
    ):
        if candidate.exists():
            return candidate
    raise ChartUnavailableError(
        f"{charts_dir}: no chart {release.chart_name} {release.version} (expected "
        f"{release.chart_name}-{release.version}.tgz: {pull_command(release, charts_dir)})"
    )


def _merged(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values over a chart's defaults: maps merge, the rest replaces."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def dependency_enabled(dependency: dict[str, Any], values: dict[str, Any]) -> bool:
    """Helm's rule (pkg/chartutil/dependencies.go): the first condition path that holds a bool
    decides; else any of the dependency's tags set true or false in `tags`; else enabled."""
    for condition in filter(None, (c.strip() for c in (dependency.get("condition") or "").split(","))):
        value = _at(values, tuple(condition.split(".")))
        if isinstance(value, bool):
            return value
    tags = [values.get("tags", {}).get(tag) for tag in dependency.get("tags") or []]
    if any(isinstance(tag, bool) for tag in tags):
        return any(tag is True for tag in tags)
    return True


def prepared_chart(chart_path: Path, values: dict[str, Any], workdir: Path) -> Path:
    """A copy of the chart with Helm's dependency processing done: subcharts whose condition or
    tags are false removed, aliased ones renamed. `helm install` does this before it renders
    (action.Install: chartutil.ProcessDependencies); the SDK's render renders every subchart as
    it lies, so without this a disabled subchart would render and an alias would get no values."""
    helm = _helm()
    if chart_path.is_dir():
        chart_dir = workdir / chart_path.name
        shutil.copytree(chart_path, chart_dir)
    else:
        helm.expand(str(workdir), str(chart_path))
        chart_dir = next(p for p in workdir.iterdir() if (p / "Chart.yaml").exists())
    metadata = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    subcharts = chart_dir / "charts"
    for archive in subcharts.glob("*.tgz") if subcharts.is_dir() else ():
        helm.expand(str(subcharts), str(archive))
        archive.unlink()
    by_name = {
        yaml.safe_load((d / "Chart.yaml").read_text())["name"]: d
        for d in subcharts.glob("*")
        if (d / "Chart.yaml").exists()
    }
    merged = _merged(yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}, values)
    for dependency in metadata.get("dependencies") or []:
        subchart = by_name.get(dependency["name"])
        if subchart is None:
            continue  # helm would refuse the chart as incomplete: the render below says so
        if not dependency_enabled(dependency, merged):
            shutil.rmtree(subchart)
        elif dependency.get("alias"):
            chart_yaml = subchart / "Chart.yaml"
            meta = yaml.safe_load(chart_yaml.read_text())
            chart_yaml.write_text(yaml.safe_dump({**meta, "name": dependency["alias"]}))
    return chart_dir


# --- rendering ---------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, chart: Any, release: Release, helm: Any) -> None:
        self.chart, self.release, self.helm = chart, release, helm

    def manifests(self, values: dict[str, Any]) -> dict[str, str]:
        rendered = self.chart.render(
            values, name=self.release.name, namespace=self.release.namespace, is_install=True
        )
        return {path: text for path, text in rendered.items() if not path.endswith("NOTES.txt")}

    def fingerprint(self, values: dict[str, Any]) -> Any:
        try:
            return _fingerprint(self.manifests(values))
        except self.helm.HelmError as error:
            return f"render fails: {error}"


def _fingerprint(texts: dict[str, str]) -> dict[str, str]:
    """A render with its generated secrets masked: equal for renders the values make equal."""
    return {path: _RANDOM.sub("<generated>", text) for path, text in texts.items()}


def objects(manifests: dict[str, str]) -> list[dict[str, Any]]:
    found = []
    for text in manifests.values():
        for part in _MANIFEST_SEPARATOR.split(text):
            document = yaml.safe_load(part) if part.strip() else None
            if isinstance(document, dict) and "kind" in document:
                found.append(document)
    return found


def check_release(
    release: Release, chart_path: Path, pools: dict[str, PoolContract], kubernetes_version: str
) -> ReleaseReport:
    helm = _helm()
    report = ReleaseReport(release)
    with tempfile.TemporaryDirectory() as workdir:
        chart = helm.Chart.load(str(prepared_chart(chart_path, release.values, Path(workdir))))
    report.source = (chart.metadata.get("sources") or [chart.metadata.get("home", "")])[0]
    if chart.version.lstrip("v") != release.version.lstrip("v"):
        report.problems.append(f"{chart_path} holds version {chart.version}, not {release.version}")
        return report
    try:
        chart.validate_schema(release.values)
    except helm.HelmError as error:
        report.problems.append(f"values.schema.json refuses the values: {error}")
    renderer = _Renderer(chart, release, helm)
    try:
        texts = renderer.manifests(release.values)
    except helm.HelmError as error:
        report.problems.append(f"the chart does not render: {error}")
        return report
    rendered = report.rendered = objects(texts)
    report.problems += _schema_problems(rendered, kubernetes_version)
    # values.yaml as written (Helm's coalescing drops its null defaults), over the subcharts'.
    _check_values(report, renderer, _fingerprint(texts), _merged(chart.merge_values({}), chart.values))
    report.problems += placement_problems(release, rendered, pools)
    return report


def _check_values(
    report: ReleaseReport, renderer: _Renderer, baseline: dict[str, str], defaults: dict[str, Any]
) -> None:
    values = report.release.values
    if baseline != renderer.fingerprint(values):
        report.problems.append("renders differ between two runs beyond generated secrets: values not checked")
        return
    for path in leaf_paths(values):
        if renderer.fingerprint(_without(values, path)) != baseline:
            report.verified.add(dotted(path))
            continue
        default = _default(defaults, path)
        if default is _MISSING:
            report.problems.append(f"{dotted(path)}: the chart has no such value: Helm ignores it")
            continue
        report.verified.add(dotted(path))
        if default != _at(values, path):
            report.notes.append(f"{dotted(path)}: no effect (the chart renders the same without it)")


def _schema_problems(rendered: list[dict[str, Any]], kubernetes_version: str) -> list[str]:
    problems = []
    for obj in rendered:
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue  # a custom resource of the chart's own CRDs
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.path))
            problems.append(f"{obj['kind']}/{obj['metadata'].get('name')}: {error.message} at {where}")
    return problems


# --- placement ---------------------------------------------------------------------------------


def pool_contracts(cluster: ClusterConfig) -> dict[str, PoolContract]:
    """The pools of a cluster as its cloud's component builds them (labels and taints)."""
    contract = {
        "gcp": gke_pool_contract,
        "aws": eks_pool_contract,
        "existing": existing_pool_contract,
    }.get(cluster.cloud)
    if contract is None:  # azure: the system pool carries CriticalAddonsOnly
        return {
            name: aks_pool_contract(name, pool, system=name == cluster.system_pool)
            for name, pool in cluster.pools.items()
        }
    return {name: contract(name, pool) for name, pool in cluster.pools.items()}


def _pod_template(obj: dict[str, Any]) -> PodTemplate | None:
    """The pod template of a rendered workload (the policy pack's reading, by type token)."""
    api_version = obj.get("apiVersion", "")
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return pod_template(f"kubernetes:{group_version}:{obj['kind']}", obj)


def _is_helm_test(obj: dict[str, Any]) -> bool:
    """`helm test` hooks, which Pulumi's Release never runs."""
    hooks = obj.get("metadata", {}).get("annotations", {}).get("helm.sh/hook", "")
    return "test" in hooks.split(",")


def _matches_expression(labels: dict[str, str], expression: dict[str, Any]) -> bool:
    key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and labels[key].isdigit():
        return int(labels[key]) > int(values[0]) if operator == "Gt" else int(labels[key]) < int(values[0])
    return False


def _tolerates(tolerations: list[dict[str, Any]], key: str, value: str | None, effect: str) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") not in (None, "", effect):
            continue
        if toleration.get("operator") == "Exists":
            if toleration.get("key") in (None, "", key):
                return True
        elif toleration.get("key") == key and toleration.get("value") == value:
            return True
    return False


def node_labels_of(pool: PoolContract) -> dict[str, str]:
    return {**WELL_KNOWN_NODE_LABELS, **pool.labels, **pool.node_selector}


def pools_for(spec: dict[str, Any], pools: dict[str, PoolContract]) -> list[str]:
    """The pools whose nodes a pod spec can be scheduled on."""
    terms = (
        spec.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
    )
    fits = []
    for name, pool in pools.items():
        labels = node_labels_of(pool)
        if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
            continue
        if terms and not any(
            all(_matches_expression(labels, e) for e in term.get("matchExpressions") or []) for term in terms
        ):
            continue
        tolerations = spec.get("tolerations") or []
        if all(
            _tolerates(tolerations, t.key, t.value, t.effect)
            for t in pool.tolerations
            if t.effect != "PreferNoSchedule"
        ):
            fits.append(name)
    return fits


def placement_problems(
    release: Release, rendered: list[dict[str, Any]], pools: dict[str, PoolContract]
) -> list[str]:
    problems = []
    for obj in rendered:
        template = _pod_template(obj)
        if template is None or _is_helm_test(obj):
            continue
        spec = template.spec
        if (
            obj["kind"] == "DaemonSet"
            and spec.get("nodeSelector", {}).get("nvidia.com/mps.capable") == "true"
        ):
            continue  # the device plugin's MPS daemon: only on nodes the plugin itself marks for MPS
        name = f"{obj['kind']}/{obj['metadata'].get('name')}"
        fits = pools_for(spec, pools)
        if not fits:
            problems.append(
                f"{name} lands on no pool of cluster {release.cluster} (pools: {', '.join(pools)})"
            )
        agent_kind = NODE_AGENTS.get(release.chart_name)
        if agent_kind and obj["kind"] == "DaemonSet" and obj["metadata"].get("name") == release.name:
            missed = [p for p, c in pools.items() if c.kind == agent_kind and p not in fits]
            if missed:
                problems.append(f"{name} does not run on {agent_kind} pool(s) {', '.join(missed)}")
    return problems


# --- the record --------------------------------------------------------------------------------


def read_record(path: Path = RECORD_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) if path.exists() else {"charts": {}}


RECORD_HEADER = """\
# The values each pinned Helm chart was seen to read: every value path the platform sets on a
# release of a shipped stack, verified by `python -m plan charts --charts-dir DIR --record`
# (plan/charts.py), which renders the release with Helm's own engine and its chart at that
# version (the value changes the render, or restates the chart's default). The test suite
# (tests/plan/test_charts.py) holds every release to this file: a new value or a chart upgrade
# needs a run of the check first, on charts pulled with `helm pull`.
# `source`: where the chart was read from; `checked`: the date of the run.
"""


def write_record(record: dict[str, Any], path: Path = RECORD_FILE) -> None:
    path.write_text(RECORD_HEADER + yaml.safe_dump(record, sort_keys=False, width=110))


def updated_record(
    record: dict[str, Any], reports: Iterable[ReleaseReport], today: datetime.date
) -> dict[str, Any]:
    charts = dict(record.get("charts") or {})
    for report in reports:
        if report.problems:
            continue
        checked_before = charts.get(report.release.key, {}).get("values", [])
        charts[report.release.key] = {
            "source": report.source,
            "checked": str(today),
            "values": sorted(set(checked_before) | report.verified),
        }
    return {**record, "charts": dict(sorted(charts.items()))}


def unverified_values(releases: Iterable[Release], record: dict[str, Any]) -> list[str]:
    """Values of the releases that no run of this check verified against their chart version."""
    charts = record.get("charts") or {}
    problems = []
    for release in releases:
        entry = charts.get(release.key)
        if entry is None:
            problems.append(f"{release}: chart version never checked (python -m plan charts --record)")
            continue
        known = set(entry["values"])
        problems += [
            f"{release}: value {dotted(path)} not checked against the chart"
            for path in leaf_paths(release.values)
            if dotted(path) not in known
        ]
    return problems


# --- the chains between releases: addresses, metrics, scraping ---------------------------------

# An in-cluster Service address: <service>.<namespace>[.svc[.cluster.local]][:port].
_SERVICE_ADDRESS = re.compile(
    r"^(?:https?://)?(?P<name>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?(?::(?P<port>\d+))?/?$"
)
SCRAPE_ANNOTATION = "prometheus.io/scrape"
ADAPTER_API = "v1beta1.custom.metrics.k8s.io"


def _services(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[int]]:
    return {
        (o["metadata"].get("namespace", "default"), o["metadata"]["name"]): {
            p["port"] for p in o.get("spec", {}).get("ports", [])
        }
        for o in objects
        if o["kind"] == "Service"
    }


def address_problem(
    address: str, services: dict[tuple[str, str], set[int]], default_port: int | None
) -> str | None:
    """Why an in-cluster address reaches no Service port, or None when it does."""
    match = _SERVICE_ADDRESS.match(address)
    if not match:
        return f"{address}: not an in-cluster Service address"
    key = (match["namespace"], match["name"])
    port = int(match["port"]) if match["port"] else default_port
    if key not in services:
        return f"{address}: no Service {match['name']} in namespace {match['namespace']}"
    if port not in services[key]:
        return f"{address}: Service {match['name']} has no port {port} (ports: {sorted(services[key])})"
    return None


def _adapter_metrics(objects: list[dict[str, Any]]) -> set[str]:
    """The custom metrics prometheus-adapter serves: each rule's `name.as`, else its series."""
    served = set()
    for obj in objects:
        config = obj.get("data", {}).get("config.yaml") if obj["kind"] == "ConfigMap" else None
        for rule in (yaml.safe_load(config) or {}).get("rules", []) if config else []:
            series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule.get("seriesQuery", ""))
            served.add(rule.get("name", {}).get("as") or (series.group(0) if series else ""))
    return served - {""}


def _scrapes_annotated_pods(objects: list[dict[str, Any]]) -> bool:
    """A Prometheus config with a pod-discovery job that keeps pods by the scrape annotation."""
    for obj in objects:
        config = obj.get("data", {}).get("prometheus.yml") if obj["kind"] == "ConfigMap" else None
        for job in (yaml.safe_load(config) or {}).get("scrape_configs", []) if config else []:
            roles = {sd.get("role") for sd in job.get("kubernetes_sd_configs", [])}
            keeps = any(
                r.get("action") == "keep"
                and "__meta_kubernetes_pod_annotation_prometheus_io_scrape" in r.get("source_labels", [])
                for r in job.get("relabel_configs", [])
            )
            if "pod" in roles and keeps:
                return True
    return False


def chain_problems(cluster: str, objects: list[dict[str, Any]], releases: list[Release]) -> list[str]:
    """What each autoscaler and scraper relies on, across the releases and the platform's own
    objects of one cluster: every address names a rendered Service port, every Pods metric an
    HPA uses is one the adapter serves, and annotated pods are scraped."""
    problems = []
    services = _services(objects)
    addresses = [
        (f"ScaledObject/{o['metadata']['name']}", t["metadata"].get(key), port)
        for o in objects
        if o["kind"] == "ScaledObject"
        for t in o.get("spec", {}).get("triggers", [])
        for key, port in (("serverAddress", 80), ("scalerAddress", None))
        if t.get("metadata", {}).get(key)
    ]
    addresses += [
        (f"release {r.name}", r.values["prometheus"]["url"], r.values["prometheus"].get("port", 80))
        for r in releases
        if r.chart_name == "prometheus-adapter"
    ]
    for where, address, port in addresses:
        problem = address_problem(address, services, port)
        if problem:
            problems.append(f"{cluster}: {where}: {problem}")
    served = _adapter_metrics(objects)
    has_api = any(o["kind"] == "APIService" and o["metadata"]["name"] == ADAPTER_API for o in objects)
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        for metric in hpa.get("spec", {}).get("metrics", []):
            name = (
                metric.get("pods", {}).get("metric", {}).get("name") if metric.get("type") == "Pods" else None
            )
            if name and (name not in served or not has_api):
                problems.append(
                    f"{cluster}: HorizontalPodAutoscaler/{hpa['metadata']['name']}: Pods metric {name} "
                    f"is served by no {ADAPTER_API} adapter rule"
                )
    annotated = [
        o
        for o in objects
        if (template := _pod_template(o)) is not None
        and template.annotations.get(SCRAPE_ANNOTATION) == "true"
    ]
    if annotated and not _scrapes_annotated_pods(objects):
        names = ", ".join(sorted(f"{o['kind']}/{o['metadata']['name']}" for o in annotated))
        problems.append(f"{cluster}: no Prometheus job scrapes pods annotated {SCRAPE_ANNOTATION}: {names}")
    return problems


@dataclass
class StackReport:
    releases: list[ReleaseReport]
    chains: list[str]

    @property
    def failed(self) -> bool:
        return bool(self.chains) or any(r.problems for r in self.releases)


def check_stack(config: StackConfig, record: PlanRecord, charts_dir: Path) -> StackReport:
    reports = []
    objects_by_cluster: dict[str, list[dict[str, Any]]] = {}
    for path, manifest in manifests(record).items():
        objects_by_cluster.setdefault(path.split("/", 1)[0], []).append(manifest)
    releases = releases_of(record)
    pools = {name: pool_contracts(cluster) for name, cluster in config.clusters.items()}
    # The chains of a cluster need every release of it rendered.
    unrendered: set[str] = set()
    for release in releases:
        cluster = config.clusters[release.cluster]
        version = (
            f"{cluster.kubernetes_version}.0"
            if cluster.kubernetes_version
            else kubernetes_validate.latest_version()
        )
        try:
            chart_path = find_chart(charts_dir, release)
        except ChartUnavailableError as missing:
            reports.append(ReleaseReport(release, problems=[f"not checked: {missing}"]))
            unrendered.add(release.cluster)
            continue
        report = check_release(release, chart_path, pools[release.cluster], version)
        objects_by_cluster.setdefault(release.cluster, []).extend(report.rendered)
        reports.append(report)
    chains = [
        problem
        for cluster, objects in sorted(objects_by_cluster.items())
        if cluster not in unrendered
        for problem in chain_problems(cluster, objects, [r for r in releases if r.cluster == cluster])
    ]
    return StackReport(reports, chains)
