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
HTTP_SCALER = "kubernetes:http.keda.sh/v1alpha1:HTTPScaledObject"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


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
        },
        # The HTTP add-on's scaler: requests held at the interceptor count while no replica runs.
        {
            "type": "external-push",
            "metadata": {
                "scalerAddress": "keda-add-ons-http-external-scaler.keda:9090",
                "httpScaledObject": "llm",
            },
        },
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


def test_prod_llm_wakes_on_its_first_request_through_the_interceptor(prod_plan):
    """min 0: the route goes through the HTTP add-on's interceptor (a ReferenceGrant lets the
    HTTPRoute cross into its namespace); the HTTPScaledObject routes and counts; one ScaledObject."""
    release = one(prod_plan, RELEASE, "main-keda-http-add-on").inputs
    assert (release["chart"], release["version"], release["namespace"]) == (
        "keda-add-ons-http",
        "0.15.0",
        "keda",
    )
    assert release["values"]["interceptor"]["nodeSelector"] == {POOL_LABEL: "system"}

    rule = one(prod_plan, ROUTE, "main-fanout-llm-route").inputs["spec"]["rules"][0]
    assert rule["backendRefs"] == [
        {"name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080, "weight": 100}
    ]
    header = {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "x-mlplatform-model", "value": "ml/llm"}]},
    }
    assert header in rule["filters"]
    grant = one(prod_plan, GRANT, "main-fanout-keda-grant").inputs
    assert grant["metadata"]["namespace"] == "keda"
    assert grant["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "ml"}],
        "to": [{"group": "", "kind": "Service", "name": "keda-add-ons-http-interceptor-proxy"}],
    }

    http = one(prod_plan, HTTP_SCALER, "main-llm-http-scaler").inputs
    assert http["metadata"]["annotations"] == {"httpscaledobject.keda.sh/skip-scaledobject-creation": "true"}
    spec = http["spec"]
    # The route strips /llm: /llm/v1/x reaches the interceptor as /v1/x; the header the route
    # sets tells stripped models apart.
    assert spec["hosts"] == ["ml.example.com"] and spec["pathPrefixes"] == ["/"]
    assert spec["headers"] == [{"name": "x-mlplatform-model", "value": "ml/llm"}]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "llm",
        "service": "llm",
        "port": 80,
    }
    assert (spec["replicas"], spec["scaledownPeriod"]) == ({"min": 0, "max": 8}, 900)
    assert spec["timeouts"] == {"responseHeader": "600s"}
    # KEDA allows one scaler per Deployment: ours, not a second one from the add-on.
    assert [
        r.name for r in prod_plan.of_type(SCALER) if r.inputs["spec"]["scaleTargetRef"]["name"] == "llm"
    ] == ["main-llm-scaler"]

    # The interceptor may reach the model's pods; the load balancer waits for the cold start.
    serving = one(prod_plan, POLICY, "main-ml-allow-serving").inputs["spec"]["ingress"]
    assert {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
                "podSelector": {
                    "matchLabels": {
                        "app.kubernetes.io/component": "interceptor",
                        "app.kubernetes.io/name": "http-add-on",
                    }
                },
            }
        ],
        "ports": [{"protocol": "TCP", "port": "http"}],
    } in serving
    backend = one(
        prod_plan, "kubernetes:networking.gke.io/v1:GCPBackendPolicy", "main-keda-interceptor-backend-policy"
    )
    # 1200 s cold start + the vLLM preset's 600 s request budget.
    assert backend.inputs["spec"]["default"] == {"timeoutSec": 1800}
    health = one(
        prod_plan, "kubernetes:networking.gke.io/v1:HealthCheckPolicy", "main-keda-interceptor-healthcheck"
    )
    assert health.inputs["spec"]["default"]["config"]["httpHealthCheck"]["requestPath"] == "/readyz"


def test_models_at_min_one_keep_their_route_and_scaler(prod_plan, dev_plan):
    rule = one(prod_plan, ROUTE, "main-fanout-model2-route").inputs["spec"]["rules"][0]
    assert rule["backendRefs"] == [{"name": "model2", "port": 80, "weight": 100}]
    assert [r.inputs["metadata"]["name"] for r in prod_plan.of_type(HTTP_SCALER)] == ["llm"]
    # Nothing at zero in dev: no add-on, no grant.
    assert [r for r in dev_plan.of_type(RELEASE) if r.inputs["chart"] == "keda-add-ons-http"] == []
    assert dev_plan.of_type(GRANT) == [] and dev_plan.of_type(HTTP_SCALER) == []


def test_an_unstripped_route_is_matched_on_its_path(dev_config, plan_of):
    model = dev_config["config"]["mlplatform:models"]["model1"]
    for key in ("variants", "weight"):
        model.pop(key)
    model["autoscale"] = {"min": 0, "max": 1, "requests": {"target": 4}}
    model["route"]["stripPrefix"] = False
    record = plan_of(dev_config)
    spec = one(record, HTTP_SCALER, "main-model1-http-scaler").inputs["spec"]
    assert spec["pathPrefixes"] == ["/model1"]
    assert spec["headers"] == [{"name": "x-mlplatform-model", "value": "ml/model1"}]


def test_weighted_variants_at_zero_exit_2_naming_the_key(prod_config, write_stack, capsys):
    """The interceptor forwards to one Service: prod's A/B model cannot go to zero."""
    model1 = prod_config["config"]["mlplatform:models"]["model1"]
    model1.update(pool="gpu-l4", autoscale={"min": 0, "max": 2, "requests": {"target": 4}}, server="vllm")
    model1["resources"] = {"cpu": "6", "memory": "24Gi", "gpu": 1}
    assert main(["preview", "--config", str(write_stack(prod_config))]) == 2
    err = capsys.readouterr().err
    assert "mlplatform:models.model1.autoscale.min: 0 (woken by its first request" in err
    assert "Traceback" not in err
