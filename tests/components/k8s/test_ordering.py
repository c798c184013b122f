"""Deploy ordering of the workloads: each waits for its namespace, its own pool and the add-ons it
needs, never for a pool it does not use (a CPU model must not wait for a GPU pool to come up)."""

from __future__ import annotations

import pytest

from plan.engine import PROJECT_DIR
from plan.record import PlanRecord
from tests.helpers import shipped_plan

GKE_POOL = "gcp:container/nodePool:NodePool"
AKS_POOL = "azure-native:containerservice:AgentPool"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALER = "kubernetes:keda.sh/v1alpha1:ScaledObject"
NAMESPACE = "kubernetes:core/v1:Namespace"


def urn(record: PlanRecord, type_token: str, name: str) -> str:
    matches = [r.urn for r in record.of_type(type_token) if r.name == name]
    assert len(matches) == 1, (type_token, name, [r.name for r in record.of_type(type_token)])
    return matches[0]


def waits(record: PlanRecord, dependent: tuple[str, str], dependency: tuple[str, str]) -> bool:
    return record.depends_on(urn(record, *dependent), urn(record, *dependency))


@pytest.fixture(scope="module")
def aks() -> PlanRecord:
    return shipped_plan(PROJECT_DIR / "examples" / "azure-aks.yaml")


def test_gke_workloads_wait_only_for_their_own_pool(prod_plan):
    pools = {pool: (GKE_POOL, f"main-{pool}") for pool in ("system", "gpu-l4", "tpu-v5e")}
    expected = {
        (DEPLOYMENT, "main-model1-deployment"): {"system"},
        (DEPLOYMENT, "main-llm-deployment"): {"system", "gpu-l4"},
        ("kubernetes:batch/v1:Job", "main-train-t5-tpu-job"): {"system", "tpu-v5e"},
        ("kubernetes:batch/v1:CronJob", "main-nightly-batch-cronjob"): {"system"},
    }
    for workload, wanted in expected.items():
        waited = {pool for pool, resource in pools.items() if waits(prod_plan, workload, resource)}
        assert waited == wanted, workload


def test_aks_cpu_model_does_not_wait_for_the_gpu_pool(aks):
    cpu, gpu = (AKS_POOL, "aks-cpu"), (AKS_POOL, "aks-gpu-t4")
    assert waits(aks, (DEPLOYMENT, "aks-model1-deployment"), cpu)
    assert not waits(aks, (DEPLOYMENT, "aks-model1-deployment"), gpu)
    assert not waits(aks, ("kubernetes:batch/v1:CronJob", "aks-nightly-batch-cronjob"), gpu)
    assert waits(aks, (DEPLOYMENT, "aks-model2-deployment"), gpu)


def test_only_gpu_util_models_wait_for_the_gpu_metrics_path(aks):
    # The serving pods need no metrics pipeline to start: only the HPA reads it, through the
    # adapter's metrics API (the exporter's GPU nodes come with the model's own pods).
    assert not waits(aks, (DEPLOYMENT, "aks-model2-deployment"), (RELEASE, "aks-gpu-metrics-adapter"))
    assert not waits(aks, (HPA, "aks-model2-hpa"), (RELEASE, "aks-monitoring-dcgm-exporter"))
    assert waits(aks, (HPA, "aks-model2-hpa"), (RELEASE, "aks-gpu-metrics-adapter"))
    assert not waits(aks, (HPA, "aks-model1-hpa"), (RELEASE, "aks-gpu-metrics-adapter"))


def test_metrics_releases_wait_for_a_pool_their_pods_can_run_on(prod_plan):
    exporter = (RELEASE, "main-monitoring-dcgm-exporter")
    prometheus = (RELEASE, "main-monitoring-prometheus")
    assert waits(prod_plan, exporter, (GKE_POOL, "main-gpu-l4"))
    assert not waits(prod_plan, exporter, (GKE_POOL, "main-tpu-v5e"))
    assert waits(prod_plan, prometheus, (GKE_POOL, "main-system"))
    assert not waits(prod_plan, prometheus, (GKE_POOL, "main-gpu-l4"))
    assert waits(prod_plan, (SCALER, "main-llm-scaler"), (RELEASE, "main-keda-keda"))
    assert not waits(prod_plan, (DEPLOYMENT, "main-llm-deployment"), (RELEASE, "main-keda-keda"))


def test_gpu_metrics_api_waits_for_the_prometheus_it_queries(aks):
    assert waits(aks, (RELEASE, "aks-gpu-metrics-adapter"), (RELEASE, "aks-monitoring-prometheus"))


def test_every_namespaced_workload_object_waits_for_its_namespace(prod_plan):
    namespace = urn(prod_plan, NAMESPACE, "main-ml")
    kinds = (
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:core/v1:Service",
        DEPLOYMENT,
        HPA,
        "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:networking.gke.io/v1:HealthCheckPolicy",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
    )
    objects = [
        r for r in prod_plan.resources if r.type in kinds and r.inputs["metadata"]["namespace"] == "ml"
    ]
    assert len(objects) > 10
    assert [r.name for r in objects if not prod_plan.depends_on(r.urn, namespace)] == []


def test_on_eks_the_load_balancer_controller_is_waited_for_by_the_ingress_only(eks):
    record = eks.record
    controller = (RELEASE, "main-lb-controller")
    assert waits(record, ("kubernetes:networking.k8s.io/v1:Ingress", "main-fanout-ml-ingress"), controller)
    for deployment in ("main-sentiment-deployment", "main-embeddings-deployment"):
        assert not waits(record, (DEPLOYMENT, deployment), controller)


def test_a_variant_scaling_on_gpu_gets_the_gpu_metrics_path(dev_config, plan_of):
    """The metrics path is installed when any variant (not only the primary) scales on GPU."""
    model2 = dev_config["config"]["mlplatform:models"]["model2"]
    dev_config["config"]["mlplatform:teams"]["ml"]["quota"]["gpu"] = 3  # one more GPU replica
    model2["weight"] = 90
    model2["variants"] = {
        "candidate": {
            "image": {"tag": "1.0.0"},
            "weight": 10,
            "autoscale": {"min": 1, "max": 2, "gpuUtil": 70},
        }
    }
    record = plan_of(dev_config)
    adapter = (RELEASE, "main-gpu-metrics-adapter")
    assert waits(record, (HPA, "main-model2-candidate-hpa"), adapter)
    assert not waits(record, (HPA, "main-model2-hpa"), adapter)
