"""Fanout (Gateway API and Ingress, weighted splits), batch jobs and team namespaces."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.handle import Routing
from components.k8s.fanout import Fanout, FanoutArgs, RouteSpec
from components.k8s.model_service import Backend
from tests.helpers import dig, one

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def test_gateway_routes_paths_to_models_with_a_weighted_split(dev_plan):
    gateway = one(dev_plan, "kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs
    assert gateway["spec"]["gatewayClassName"] == "gke-l7-global-external-managed"
    https = next(listener for listener in gateway["spec"]["listeners"] if listener["name"] == "https")
    assert dig(https, "allowedRoutes.namespaces.from") == "Selector"
    # GKE provisions the load balancer from the class, on the address reserved for the hosts'
    # DNS (tests/test_outputs.py); the certificate rides on the certmap annotation.
    assert gateway["spec"]["addresses"] == [{"type": "NamedAddress", "value": "dev-main-entry"}]
    assert set(gateway["metadata"]["annotations"]) == {"networking.gke.io/certmap"}
    routes = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in dev_plan.of_type(ROUTE)
        if r.inputs["metadata"]["namespace"] == "ml"
    }
    assert set(routes) == {"model1", "model2"}
    rule = routes["model1"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/model1"}}]
    assert rule["backendRefs"] == [
        {"name": "model1", "port": 80, "weight": 90},
        {"name": "model1-candidate", "port": 80, "weight": 10},
    ]
    assert routes["model2"]["parentRefs"] == [
        {"name": "ml-gateway", "namespace": "mlplatform-gateway", "sectionName": "https"}
    ]


def _ingress_fanout(routing: Routing):
    def declare():
        provider = k8s.Provider("test-k8s", kubeconfig="{}")
        Fanout(
            "edge",
            FanoutArgs(
                mode="ingress",
                class_name=routing.ingress_class,
                routing=routing,
                routes=[
                    RouteSpec("a", "team", "/a", [Backend("a", 80, 100)]),
                    RouteSpec("b", "team", "/b", [Backend("b", 80, 80), Backend("b-canary", 80, 20)]),
                ],
                hosts=("ml.example.com",),
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return declare


def test_alb_ingress_weights_a_split_through_an_action_annotation(run_components):
    routing = Routing(
        gateway_class=None,
        ingress_class="alb",
        ingress_weights="alb-actions",
        ingress_annotations={"alb.ingress.kubernetes.io/scheme": "internet-facing"},
    )
    ingress = one(run_components(_ingress_fanout(routing)), "kubernetes:networking.k8s.io/v1:Ingress").inputs
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    action = json.loads(annotations["alb.ingress.kubernetes.io/actions.split-b"])
    assert action["forwardConfig"]["targetGroups"] == [
        {"serviceName": "b", "servicePort": "80", "weight": 80},
        {"serviceName": "b-canary", "servicePort": "80", "weight": 20},
    ]
    paths = {p["path"]: p["backend"]["service"] for p in dig(ingress, "spec.rules.0.http.paths")}
    assert paths == {
        "/a": {"name": "a", "port": {"number": 80}},
        "/b": {"name": "split-b", "port": {"name": "use-annotation"}},
    }
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert dig(ingress, "spec.rules.0.host") == "ml.example.com"


def test_training_job_runs_once_without_blocking_pulumi(dev_plan):
    job = one(dev_plan, "kubernetes:batch/v1:Job").inputs
    assert job["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert job["spec"]["backoffLimit"] == 4
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert dig(job, "spec.template.spec.restartPolicy") == "Never"
    assert job["spec"]["activeDeadlineSeconds"] == 43200


def test_nightly_cronjob_has_schedule_zone_concurrency_and_history(dev_plan):
    cron = one(dev_plan, "kubernetes:batch/v1:CronJob").inputs["spec"]
    assert (cron["schedule"], cron["timeZone"]) == ("0 2 * * *", "Europe/Berlin")
    assert cron["concurrencyPolicy"] == "Forbid"
    assert (cron["successfulJobsHistoryLimit"], cron["failedJobsHistoryLimit"]) == (3, 3)
    assert cron["startingDeadlineSeconds"] == 600
    assert dig(cron, "jobTemplate.spec.ttlSecondsAfterFinished") == 86400
    assert dig(cron, "jobTemplate.spec.template.spec.containers.0.args") == ["--date", "yesterday"]


def _job_pod_templates(record) -> dict[str, dict]:
    templates = {r.name: r.inputs["spec"]["template"] for r in record.of_type("kubernetes:batch/v1:Job")}
    for cron in record.of_type("kubernetes:batch/v1:CronJob"):
        templates[cron.name] = cron.inputs["spec"]["jobTemplate"]["spec"]["template"]
    return templates


def test_an_ownership_label_change_leaves_job_pod_templates_alone(dev_config, plan_of):
    """A Job's pod template is immutable: a label there would replace (and re-run) the Job."""
    # One stack name: physical bucket names (BUCKET_* env in the template) derive from it.
    before = plan_of(dev_config)
    dev_config["config"]["mlplatform:ownership"] = {"owner": "search-team", "costCenter": "cc-2077"}
    after = plan_of(dev_config)
    assert _job_pod_templates(before) == _job_pod_templates(after)
    assert set(_job_pod_templates(before)) == {"main-train-bert-job", "main-nightly-batch-cronjob"}
    # The labels stay where they are mutable: the Job and CronJob objects and the Jobs it spawns.
    job = one(after, "kubernetes:batch/v1:Job").inputs
    assert (job["metadata"]["labels"]["owner"], job["metadata"]["labels"]["cost-center"]) == (
        "search-team",
        "cc-2077",
    )
    cron = one(after, "kubernetes:batch/v1:CronJob").inputs
    assert dig(cron, "spec.jobTemplate.metadata.labels")["owner"] == "search-team"
    assert "owner" not in dig(cron, "spec.jobTemplate.spec.template.metadata.labels")


def test_tpu_job_lands_on_the_tpu_slice(prod_plan):
    pod = dig(one(prod_plan, "kubernetes:batch/v1:Job").inputs, "spec.template.spec")
    assert pod["nodeSelector"]["cloud.google.com/gke-tpu-topology"] == "2x2"
    assert pod["nodeSelector"]["cloud.google.com/gke-tpu-accelerator"] == "tpu-v5-lite-podslice"
    assert pod["tolerations"] == [{"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["limits"]["google.com/tpu"] == "4"


def test_team_namespace_denies_by_default_and_allows_what_serving_needs(dev_plan):
    namespace = one(dev_plan, "kubernetes:core/v1:Namespace", "main-ml").inputs
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in dev_plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    sources = [s["ipBlock"]["cidr"] for s in policies["allow-serving"]["ingress"][0]["from"]]
    assert sources == ["35.191.0.0/16", "130.211.0.0/22"]
    egress = policies["allow-egress"]["egress"]
    assert {"protocol": "UDP", "port": 53} in egress[0]["ports"]
    assert {
        "to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}],
        "ports": [{"protocol": "TCP", "port": 988}],
    } in egress


def test_team_namespace_rbac_quota_and_defaults(dev_plan):
    role = one(dev_plan, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs
    assert all("*" not in rule["verbs"] for rule in role["rules"])
    bindings = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in dev_plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    }
    assert bindings["deployers"]["subjects"][0] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Group",
        "name": "ml-engineers@acme.example",
    }
    assert bindings["viewers"]["roleRef"]["name"] == "view"
    quota = one(dev_plan, "kubernetes:core/v1:ResourceQuota", "main-ml-quota").inputs["spec"]["hard"]
    assert quota["requests.nvidia.com/gpu"] == "3" and quota["requests.cpu"] == "32"
    assert one(dev_plan, "kubernetes:core/v1:LimitRange").inputs["spec"]["limits"][0]["type"] == "Container"


def _allows(rules: list[dict], group: str, resource: str, verb: str) -> bool:
    """RBAC's own matching: a rule grants when group, resource and verb all match (no wildcards)."""
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in rules
    )


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("apps", "deployments", "patch"),  # kubectl rollout restart / set image
        ("apps", "deployments/scale", "update"),  # kubectl scale
        ("apps", "replicasets", "list"),  # kubectl rollout status / history
        ("", "pods/log", "get"),  # kubectl logs
        ("", "events", "list"),  # kubectl get events
        ("events.k8s.io", "events", "list"),  # kubectl events
        ("", "pods/exec", "create"),  # kubectl exec (POST; WebSocket GET on 1.35+)
        ("", "pods/exec", "get"),  # kubectl exec (WebSocket GET before 1.35)
        ("", "pods/portforward", "create"),  # kubectl port-forward
        ("batch", "jobs", "create"),  # re-run a job from a CronJob
        ("", "pods", "delete"),  # kill a stuck pod
    ],
)
def test_deployers_can_do_daily_ml_work(dev_plan, group, resource, verb):
    rules = one(dev_plan, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs["rules"]
    assert _allows(rules, group, resource, verb)


@pytest.mark.parametrize(
    ("group", "resource", "verb"),
    [
        ("", "secrets", "get"),
        ("rbac.authorization.k8s.io", "rolebindings", "create"),
        ("", "resourcequotas", "update"),
        ("networking.k8s.io", "networkpolicies", "delete"),
        ("", "namespaces", "delete"),
    ],
)
def test_deployers_cannot_widen_their_own_access(dev_plan, group, resource, verb):
    rules = one(dev_plan, "kubernetes:rbac.authorization.k8s.io/v1:Role").inputs["rules"]
    assert not _allows(rules, group, resource, verb)
