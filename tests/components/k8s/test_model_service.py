"""ModelService: Deployment/Service/HPA/PDB per variant with production defaults."""

from __future__ import annotations

import pytest

from components.contract import POOL_LABEL
from plan.engine import PROJECT_DIR
from plan.record import PlanRecord
from tests.helpers import dig, one, shipped_plan

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def _by_name(record, type_token):
    return {r.inputs["metadata"]["name"]: r.inputs for r in record.of_type(type_token)}


def test_each_variant_is_its_own_deployment_service_hpa_and_pdb(dev_plan):
    for kind in (DEPLOYMENT, HPA, "kubernetes:core/v1:Service", "kubernetes:policy/v1:PodDisruptionBudget"):
        assert set(_by_name(dev_plan, kind)) == {"model1", "model1-candidate", "model2"}, kind
    deployments = _by_name(dev_plan, DEPLOYMENT)
    assert dig(deployments["model1"], "spec.template.spec.containers.0.image").endswith(
        "/dev-models/vllm-openai:v0.11.0"
    )
    assert dig(deployments["model1-candidate"], "spec.template.spec.containers.0.image").endswith(
        "/vllm-openai:v0.11.1"
    )


def test_deployment_leaves_replicas_to_the_hpa_and_rolls_safely(dev_plan):
    deployment = _by_name(dev_plan, DEPLOYMENT)["model1"]
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert deployment["spec"]["revisionHistoryLimit"] == 5
    keys = [c["topologyKey"] for c in dig(deployment, "spec.template.spec.topologySpreadConstraints")]
    assert keys == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]


def test_pod_is_restricted_with_probes_limits_and_writable_tmp(dev_plan):
    # model2 is a custom server: the explicit port and probe defaults of old.
    pod = dig(_by_name(dev_plan, DEPLOYMENT)["model2"], "spec.template.spec")
    container = pod["containers"][0]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/dev/shm"}
    assert container["resources"]["requests"]["cpu"] == container["resources"]["limits"]["cpu"] == "1"
    assert dig(container, "startupProbe.httpGet.path") == "/ready"
    assert dig(container, "startupProbe.failureThreshold") == 30
    assert dig(container, "livenessProbe.httpGet.path") == "/healthz"
    assert dig(container, "readinessProbe.httpGet.port") == "http"
    assert dig(container, "lifecycle.preStop.sleep.seconds") == 10
    assert pod["nodeSelector"] == {POOL_LABEL: "system"}


def test_gpu_model_is_scheduled_by_the_pool_contract(dev_plan):
    pod = dig(_by_name(dev_plan, DEPLOYMENT)["model1"], "spec.template.spec")
    assert pod["nodeSelector"] == {
        POOL_LABEL: "gpu-t4",
        "cloud.google.com/gke-accelerator": "nvidia-tesla-t4",
        "cloud.google.com/gke-spot": "true",
    }
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"


@pytest.fixture(scope="module")
def aks() -> PlanRecord:
    """The AKS example: its model2 scales on GPU utilisation."""
    return shipped_plan(PROJECT_DIR / "examples" / "azure-aks.yaml")


def test_hpa_scales_on_cpu_and_on_gpu_utilisation_as_a_pods_metric(dev_plan, prod_plan, aks):
    model2 = _by_name(dev_plan, HPA)["model2"]["spec"]
    assert (model2["minReplicas"], model2["maxReplicas"]) == (1, 2)
    assert model2["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
        }
    ]
    assert model2["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "model2"}
    gpu_model = _by_name(aks, HPA)["model2"]["spec"]
    assert gpu_model["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "DCGM_FI_DEV_GPU_UTIL"},
                "target": {"type": "AverageValue", "averageValue": "70"},
            },
        }
    ]
    assert _by_name(prod_plan, HPA)["model1-candidate"]["spec"]["maxReplicas"] == 4


def test_pdb_never_blocks_drains_on_unhealthy_pods(dev_plan):
    pdb = _by_name(dev_plan, "kubernetes:policy/v1:PodDisruptionBudget")["model1"]["spec"]
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert pdb["maxUnavailable"] == 1


def test_service_account_has_no_token_and_the_workload_identity(dev_plan):
    account = _by_name(dev_plan, "kubernetes:core/v1:ServiceAccount")["model1"]
    assert account["automountServiceAccountToken"] is False
    assert account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].endswith(
        "@acme-ml-dev.iam.gserviceaccount.com"
    )


def test_bucket_access_is_a_workload_identity_binding_and_bucket_iam(dev_plan):
    binding = one(dev_plan, "gcp:serviceaccount/iAMMember:IAMMember", "main-model1-workload-identity").inputs
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "serviceAccount:acme-ml-dev.svc.id.goog[ml/model1]"
    grants = {
        r.name: (r.inputs["bucket"], r.inputs["role"])
        for r in dev_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.name.startswith("main-nightly-batch")
    }
    assert grants == {
        "main-nightly-batch-artifacts-write": (
            grants["main-nightly-batch-artifacts-write"][0],
            "roles/storage.objectUser",
        ),
        "main-nightly-batch-datasets-read": (
            grants["main-nightly-batch-datasets-read"][0],
            "roles/storage.objectViewer",
        ),
    }
    assert grants["main-nightly-batch-artifacts-write"][0].startswith("main-artifacts-")
    assert grants["main-nightly-batch-datasets-read"][0].startswith("main-datasets-")


def test_gke_load_balancer_health_checks_use_the_readiness_path(dev_plan):
    policy = one(
        dev_plan, "kubernetes:networking.gke.io/v1:HealthCheckPolicy", "main-model2-healthcheck"
    ).inputs
    assert dig(policy, "spec.default.config.httpHealthCheck") == {
        # The CRD's CEL rules refuse `port` without USE_FIXED_PORT: no route would attach.
        "portSpecification": "USE_FIXED_PORT",
        "port": 8080,
        "requestPath": "/ready",
    }
    assert dig(policy, "spec.targetRef") == {"group": "", "kind": "Service", "name": "model2"}


def test_gpu_metrics_api_installed_only_when_a_model_scales_on_gpu(dev_plan, aks):
    def charts(plan):
        return {r.inputs["chart"]: r.inputs for r in plan.of_type("kubernetes:helm.sh/v3:Release")}

    assert "prometheus-adapter" not in charts(dev_plan)
    releases = charts(aks)
    assert {"dcgm-exporter", "prometheus", "prometheus-adapter"} <= set(releases)
    assert releases["prometheus-adapter"]["namespace"] == "mlplatform-monitoring"
    rule = dig(releases["prometheus-adapter"], "values.rules.custom.0")
    assert rule["name"] == {"as": "DCGM_FI_DEV_GPU_UTIL"}
    assert dig(releases["prometheus-adapter"], "values.prometheus.url") == (
        "http://prometheus-server.mlplatform-monitoring.svc"
    )
