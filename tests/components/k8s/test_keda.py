"""Request autoscaling: KEDA (pinned release) scaling a model on its server's own demand metric
from Prometheus, down to zero where the pool scales to zero, with the cold start in the preview."""

from __future__ import annotations

from components.contract import POOL_LABEL
from plan.cli import main
from plan.workloads import render_workloads
from tests.helpers import dig, one

SCALER = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"


def test_keda_is_a_pinned_release_on_the_system_pool(prod_plan, dev_plan):
    release = one(prod_plan, RELEASE, "main-keda-keda").inputs
    assert (release["chart"], release["version"], release["namespace"]) == ("keda", "2.20.2", "keda")
    assert release["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    assert release["values"]["nodeSelector"] == {POOL_LABEL: "system"}
    # Only where a model scales on requests.
    assert [r for r in dev_plan.of_type(RELEASE) if r.inputs["chart"] == "keda"] == []


def test_prod_llm_scales_on_waiting_requests_from_zero(prod_plan):
    scaler = one(prod_plan, SCALER, "main-llm-scaler").inputs
    spec = scaler["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm"}
    # Idle: none; serving: at least servingMin 2 (prod's availability floor); 15 idle minutes.
    assert (spec["idleReplicaCount"], spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 2, 8)
    assert spec["cooldownPeriod"] == 900
    assert spec["triggers"] == [
        {
            "type": "prometheus",
            "metadata": {
                "serverAddress": "http://prometheus-server.mlplatform-monitoring.svc",
                "query": 'sum(vllm:num_requests_waiting{namespace="ml",app_kubernetes_io_name="llm",'
                'mlplatform_io_variant="primary"})',
                "threshold": "4",
                "activationThreshold": "0",
            },
        }
    ]
    # KEDA owns the HPA: no second one on the same Deployment.
    assert "llm" not in {r.inputs["metadata"]["name"] for r in prod_plan.of_type(HPA)}
    assert dig(spec, "advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds")


def test_cold_start_from_zero_is_stated_in_the_preview(prod_plan, capsys):
    annotations = one(prod_plan, SCALER, "main-llm-scaler").inputs["metadata"]["annotations"]
    # GKE GPU node ~300 s (stacks/catalogs/cold_start.yaml) + the vLLM preset's 900 s load budget.
    assert annotations["mlplatform.io/cold-start"].startswith("up to 1200 s before the first answer")
    text = render_workloads(prod_plan)
    assert "replicas 0..8 (at least 2 while serving) on sum(vllm:num_requests_waiting" in text
    assert "cold start: up to 1200 s" in text
    assert main(["preview", "--stack", "prod"]) == 0
    assert "cold start: up to 1200 s" in capsys.readouterr().out


def test_cpu_target_beside_requests_becomes_a_keda_trigger(dev_config, plan_of):
    model = dev_config["config"]["mlplatform:models"]["model1"]
    model["autoscale"] = {"min": 1, "max": 2, "cpu": 70, "requests": {"target": 2}}
    record = plan_of(dev_config)
    spec = one(record, SCALER, "main-model1-scaler").inputs["spec"]
    assert spec["triggers"][1] == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
    assert spec["minReplicaCount"] == 1 and "idleReplicaCount" not in spec
    # A min above zero costs no cold start; the candidate keeps its own autoscale (the model's).
    assert "annotations" not in one(record, SCALER, "main-model1-scaler").inputs["metadata"]
    candidate = one(record, SCALER, "main-model1-candidate-scaler").inputs["spec"]
    assert 'mlplatform_io_variant="candidate"' in candidate["triggers"][0]["metadata"]["query"]
