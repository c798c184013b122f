"""Serving a model, not a container: server presets, prefix stripping, artifacts, cache,
timeouts, config and per-variant labels."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.handle import Routing
from components.k8s.fanout import Fanout, FanoutArgs, RouteSpec
from components.k8s.model_service import Backend
from stacks.loading import ConfigError, load_stack_file
from tests.helpers import dig, one

PROJECT_DIR = Path(__file__).resolve().parents[3]
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def _objects(record, type_token: str) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in record.of_type(type_token)}


def _server(record, name: str) -> dict:
    return dig(_objects(record, DEPLOYMENT)[name], "spec.template.spec.containers.0")


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_vllm_preset_sets_port_probes_metrics_and_a_long_load_budget(dev_plan):
    server = _server(dev_plan, "model1")
    assert server["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert dig(server, "startupProbe.httpGet.path") == "/health"
    # 900 s of loading at a 10 s period before the pod is restarted.
    assert dig(server, "startupProbe.failureThreshold") * dig(server, "startupProbe.periodSeconds") == 900
    assert dig(server, "livenessProbe.timeoutSeconds") >= 10
    assert dig(server, "readinessProbe.httpGet.path") == "/health"
    assert server["args"][:2] == ["--port", "8000"]
    annotations = dig(_objects(dev_plan, DEPLOYMENT)["model1"], "spec.template.metadata.annotations")
    assert {k: v for k, v in annotations.items() if k.startswith("prometheus.io/")} == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8000",
        "prometheus.io/path": "/metrics",
    }


def test_triton_preset_separates_readiness_and_serves_metrics_on_its_own_port(dev_config, plan_of):
    model = dev_config["config"]["mlplatform:models"]["model1"]
    model.update(server="triton", image={"repository": "tritonserver", "tag": "25.10-py3"})
    model.pop("args")
    record = plan_of(dev_config)
    server = _server(record, "model1")
    assert dig(server, "readinessProbe.httpGet.path") == "/v2/health/ready"
    assert dig(server, "livenessProbe.httpGet.path") == "/v2/health/live"
    assert {p["name"]: p["containerPort"] for p in server["ports"]} == {"http": 8000, "metrics": 8002}
    # The repository is the artifacts path as mounted (or downloaded), on every cloud.
    assert "--model-repository=$(MODEL_DIR)" in server["args"]
    service = _objects(record, "kubernetes:core/v1:Service")["model1"]
    assert {p["name"]: p["targetPort"] for p in service["spec"]["ports"]} == {
        "http": "http",
        "metrics": "metrics",
    }


def test_gateway_route_strips_its_prefix_unless_told_not_to(dev_config, plan_of):
    route = _objects(plan_of(dev_config), ROUTE)["model1"]
    assert dig(route, "spec.rules.0.filters") == [
        {
            "type": "URLRewrite",
            "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
        }
    ]
    # Weights keep working next to the rewrite.
    assert [b["weight"] for b in dig(route, "spec.rules.0.backendRefs")] == [90, 10]
    dev_config["config"]["mlplatform:models"]["model1"]["route"]["stripPrefix"] = False
    assert "filters" not in dig(_objects(plan_of(dev_config), ROUTE)["model1"], "spec.rules.0")


def test_alb_ingress_strips_prefixes_by_transforms_and_raises_its_idle_timeout(run_components):
    routing = Routing(gateway_class=None, ingress_class="alb", ingress_weights="alb-actions")

    def declare():
        provider = k8s.Provider("test-k8s", kubeconfig="{}")
        Fanout(
            "edge",
            FanoutArgs(
                mode="ingress",
                class_name="alb",
                routing=routing,
                routes=[
                    RouteSpec(
                        "a", "team", "/a", [Backend("a", 80, 100)], strip_prefix=True, timeout_seconds=600
                    ),
                    RouteSpec("b", "team", "/b", [Backend("b", 80, 100)], timeout_seconds=120),
                ],
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    annotations = one(run_components(declare), "kubernetes:networking.k8s.io/v1:Ingress").inputs["metadata"][
        "annotations"
    ]
    transform = json.loads(annotations["alb.ingress.kubernetes.io/transforms.a"])
    assert transform == [
        {"type": "url-rewrite", "urlRewriteConfig": {"rewrites": [{"regex": "^/a/?(.*)$", "replace": "/$1"}]}}
    ]
    assert "alb.ingress.kubernetes.io/transforms.b" not in annotations
    assert (
        annotations["alb.ingress.kubernetes.io/load-balancer-attributes"]
        == "idle_timeout.timeout_seconds=600"
    )


def test_plain_ingress_refuses_to_strip_a_prefix_it_cannot(write_stack):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    del document["config"]["mlplatform:models"]["chat"]["route"]["stripPrefix"]
    with pytest.raises(ConfigError, match=r"models\.chat\.route\.stripPrefix: .*no standard way to strip"):
        load_stack_file(write_stack(document))


def test_artifacts_and_buckets_reach_the_pod_as_env_in_the_clouds_uri_form(dev_plan, prod_plan):
    env = _env(_server(dev_plan, "model1"))
    assert env["MODEL_PATH"] == "models/llm/1.2"
    assert env["MODEL_URI"] == f"gs://{env['MODEL_BUCKET']}/models/llm/1.2"
    assert env["BUCKET_ARTIFACTS"] == env["MODEL_BUCKET"]
    # Jobs see every bucket they use.
    cron = one(prod_plan, "kubernetes:batch/v1:CronJob").inputs
    job_env = _env(dig(cron, "spec.jobTemplate.spec.template.spec.containers.0"))
    assert {"BUCKET_DATASETS", "BUCKET_ARTIFACTS"} <= set(job_env)


def test_artifacts_on_s3_are_s3_uris(plan_of):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "aws-eks.yaml").read_text())
    document["config"]["mlplatform:models"]["embeddings"]["artifacts"] = {
        "bucket": "artifacts",
        "path": "emb/0.9",
    }
    env = _env(_server(plan_of(document), "embeddings"))
    assert env["MODEL_URI"] == f"s3://{env['MODEL_BUCKET']}/emb/0.9"


def test_artifacts_need_access_to_their_bucket(dev_config, write_stack):
    dev_config["config"]["mlplatform:models"]["model1"]["buckets"] = {}
    with pytest.raises(ConfigError, match=r"models\.model1\.artifacts\.bucket: the workload has no access"):
        load_stack_file(write_stack(dev_config))


def test_cache_home_shm_and_ephemeral_storage_are_sized(dev_plan):
    pod = dig(_objects(dev_plan, DEPLOYMENT)["model1"], "spec.template.spec")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["cache"]["emptyDir"] == {"sizeLimit": "40Gi"}
    # Half of the 16Gi memory limit, not a fixed 1Gi.
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "8192Mi"}
    server = pod["containers"][0]
    assert {"name": "cache", "mountPath": "/cache"} in server["volumeMounts"]
    assert _env(server)["HOME"] == "/cache"
    # The 1Gi default plus the 40Gi cache.
    assert server["resources"]["requests"]["ephemeral-storage"] == "41984Mi"


def test_llm_route_timeouts_cover_long_generations(dev_plan):
    policies = _objects(dev_plan, "kubernetes:networking.gke.io/v1:GCPBackendPolicy")
    assert set(policies) == {"model1", "model1-candidate"}
    assert policies["model1"]["spec"] == {
        "default": {"timeoutSec": 600},
        "targetRef": {"group": "", "kind": "Service", "name": "model1"},
    }
    pod = dig(_objects(dev_plan, DEPLOYMENT)["model1"], "spec.template.spec")
    assert pod["terminationGracePeriodSeconds"] >= 600 + dig(
        pod, "containers.0.lifecycle.preStop.sleep.seconds"
    )


def test_config_map_is_named_by_its_content_and_mounted_read_only(dev_config, plan_of):
    def mounted(record):
        maps = _objects(record, "kubernetes:core/v1:ConfigMap")
        pod = dig(_objects(record, DEPLOYMENT)["model1"], "spec.template.spec")
        volume = next(v for v in pod["volumes"] if v["name"] == "model-config")
        assert {"name": "model-config", "mountPath": "/etc/model-config", "readOnly": True} in dig(
            pod, "containers.0.volumeMounts"
        )
        name = volume["configMap"]["name"]
        assert maps[name]["immutable"] is True
        return name, maps[name]["data"]

    name, data = mounted(plan_of(dev_config))
    assert data == {"vllm.yaml": "max-model-len: 4096"}
    dev_config["config"]["mlplatform:models"]["model1"]["config"] = {"vllm.yaml": "max-model-len: 8192\n"}
    changed, _ = mounted(plan_of(dev_config))
    assert changed != name and changed.startswith("model1-config-")


def test_every_variant_pod_is_labelled_and_selected_by_its_variant(dev_plan):
    for name, variant in (("model1", "primary"), ("model1-candidate", "candidate")):
        deployment = _objects(dev_plan, DEPLOYMENT)[name]
        assert dig(deployment, "spec.template.metadata.labels")["mlplatform.io/variant"] == variant
        assert deployment["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "model1",
            "mlplatform.io/variant": variant,
        }
        service = _objects(dev_plan, "kubernetes:core/v1:Service")[name]
        assert service["spec"]["selector"]["mlplatform.io/variant"] == variant
