"""Custom resources of every shipped stack and example against their CRDs: the OpenAPI schema
(@kubernetes-models validators, tests/manifests/validate_crds.mjs) and the CEL rules
(components/k8s/crd_rules.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from components.k8s.crd_rules import violations
from tests.manifests.crd_schemas import is_custom_resource, validate_custom_resources


def _custom_resources(rendered: dict[str, Path]) -> dict[str, dict]:
    found = {}
    for stack, directory in rendered.items():
        for path in sorted(directory.rglob("*.yaml")):
            manifest = yaml.safe_load(path.read_text())
            if "apiVersion" in manifest and is_custom_resource(manifest["apiVersion"]):
                found[f"{stack}:{path.relative_to(directory)}"] = manifest
    return found


@pytest.fixture(scope="module")
def custom_resources(rendered) -> dict[str, dict]:
    return _custom_resources(rendered)


def _one(custom_resources: dict[str, dict], kind: str) -> dict:
    return copy.deepcopy(next(m for m in custom_resources.values() if m["kind"] == kind))


def test_the_stacks_render_the_custom_resources_under_check(custom_resources):
    kinds = {(m["apiVersion"], m["kind"]) for m in custom_resources.values()}
    assert {
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("networking.gke.io/v1", "HealthCheckPolicy"),
        ("networking.gke.io/v1", "GCPBackendPolicy"),
        ("alb.networking.azure.io/v1", "RoutePolicy"),
        ("cert-manager.io/v1", "Certificate"),
        ("cert-manager.io/v1", "ClusterIssuer"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("http.keda.sh/v1alpha1", "HTTPScaledObject"),
        ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
    } <= kinds


def test_custom_resources_match_their_crd_schemas(custom_resources):
    results = validate_custom_resources(custom_resources)
    failures = {key: r["errors"] for key, r in results.items() if r["status"] != "valid"}
    # No schema (e.g. Application Gateway for Containers' alb.networking.azure.io, for which no
    # models package exists) fails too: add a validator before rendering such an object.
    assert failures == {}


def test_custom_resources_pass_their_crd_cel_rules(custom_resources):
    broken = {key: violations(m) for key, m in custom_resources.items() if violations(m)}
    assert broken == {}


def test_schema_validation_sees_a_wrongly_typed_field(custom_resources):
    route = _one(custom_resources, "HTTPRoute")
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = "ten"
    policy = _one(custom_resources, "HealthCheckPolicy")
    policy["spec"]["default"]["config"]["httpHealthCheck"]["portSpecification"] = "USE_ANY_PORT"
    gateway = _one(custom_resources, "Gateway")
    del gateway["spec"]["listeners"][0]["protocol"]
    results = validate_custom_resources({"route": route, "policy": policy, "gateway": gateway})
    assert {key: r["status"] for key, r in results.items()} == {
        "route": "invalid",
        "policy": "invalid",
        "gateway": "invalid",
    }
    assert any("weight" in e for e in results["route"]["errors"])
    assert any("portSpecification" in e for e in results["policy"]["errors"])


def test_schema_validation_sees_a_scaled_object_without_its_target(custom_resources):
    scaler = _one(custom_resources, "ScaledObject")
    del scaler["spec"]["scaleTargetRef"]
    trigger_typed = _one(custom_resources, "ScaledObject")
    trigger_typed["spec"]["minReplicaCount"] = "zero"
    results = validate_custom_resources({"no-target": scaler, "typed": trigger_typed})
    assert {key: r["status"] for key, r in results.items()} == {"no-target": "invalid", "typed": "invalid"}
    assert any("scaleTargetRef" in e for e in results["no-target"]["errors"])


def test_schema_validation_sees_a_misspelt_http_scaled_object_field(custom_resources):
    misspelt = _one(custom_resources, "HTTPScaledObject")
    misspelt["spec"]["scaledownPeriodSeconds"] = misspelt["spec"].pop("scaledownPeriod")
    typed = _one(custom_resources, "HTTPScaledObject")
    typed["spec"]["replicas"]["max"] = "eight"
    results = validate_custom_resources({"misspelt": misspelt, "typed": typed})
    assert {key: r["status"] for key, r in results.items()} == {"misspelt": "invalid", "typed": "invalid"}
    assert results["misspelt"]["errors"] == ["/spec must NOT have additional properties"]


def test_cel_rules_see_an_http_scaled_object_target_with_two_ports(custom_resources):
    scaler = _one(custom_resources, "HTTPScaledObject")
    scaler["spec"]["scaleTargetRef"]["portName"] = "http"
    assert violations(scaler) == ["spec.scaleTargetRef: must define either the 'portName' or the 'port'"]


def test_schema_validation_refuses_a_kind_it_has_no_schema_for():
    frontend_policy = {
        "apiVersion": "alb.networking.azure.io/v1",
        "kind": "FrontendTLSPolicy",
        "metadata": {"name": "x", "namespace": "ml"},
        "spec": {},
    }
    assert validate_custom_resources({"x": frontend_policy})["x"]["status"] == "no-schema"


def test_schema_validation_sees_a_misspelt_agc_timeout_and_a_certificate_without_secret(custom_resources):
    policy = _one(custom_resources, "RoutePolicy")
    policy["spec"]["default"]["timeouts"] = {"requestTimeout": "600s"}
    certificate = _one(custom_resources, "Certificate")
    del certificate["spec"]["secretName"]
    issuer = _one(custom_resources, "ClusterIssuer")
    issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["serviceType"] = 80
    results = validate_custom_resources({"policy": policy, "certificate": certificate, "issuer": issuer})
    assert {key: r["status"] for key, r in results.items()} == {
        "policy": "invalid",
        "certificate": "invalid",
        "issuer": "invalid",
    }
    assert results["policy"]["errors"] == ["/spec/default/timeouts must NOT have additional properties"]
    assert any("secretName" in e for e in results["certificate"]["errors"])


def test_cel_rules_see_a_dropped_port_specification(custom_resources):
    policy = _one(custom_resources, "HealthCheckPolicy")
    del policy["spec"]["default"]["config"]["httpHealthCheck"]["portSpecification"]
    assert violations(policy) == [
        "spec.default.config.httpHealthCheck: port and portName must be unset for portSpecification "
        "USE_SERVING_PORT (the default): set portSpecification USE_FIXED_PORT to probe a fixed port"
    ]


def test_cel_rules_see_a_health_check_without_its_protocol_member(custom_resources):
    policy = _one(custom_resources, "HealthCheckPolicy")
    policy["spec"]["default"]["config"]["type"] = "HTTPS"
    policy["spec"]["default"]["timeoutSec"] = 10
    assert violations(policy) == [
        "spec.default: timeoutSec (10) cannot exceed checkIntervalSec (5)",
        "spec.default.config: httpsHealthCheck must be specified for type HTTPS",
    ]


def test_cel_rules_see_a_prefix_rewrite_without_a_single_path_prefix_match(custom_resources):
    route = _one(custom_resources, "HTTPRoute")
    rule = route["spec"]["rules"][0]
    rule["filters"] = [
        {
            "type": "URLRewrite",
            "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
        }
    ]
    assert violations(route) == []
    rule["matches"] = [{"path": {"type": "Exact", "value": "/predict"}}]
    assert violations(route) == [
        "spec.rules[0].filters[0].urlRewrite: ReplacePrefixMatch needs the rule to have exactly one "
        "match, of type PathPrefix"
    ]


def test_cel_rules_see_bad_paths_filters_and_weights(custom_resources):
    route = _one(custom_resources, "HTTPRoute")
    rule = route["spec"]["rules"][0]
    rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/a//b"}}]
    rule["filters"] = [{"type": "RequestRedirect", "urlRewrite": {}}]
    for ref in rule["backendRefs"]:
        ref["weight"] = 0
    assert violations(route) == [
        "spec.rules[0].matches[0].path: '/a//b' must not contain '//'",
        "spec.rules[0].filters[0]: requestRedirect must be set for type RequestRedirect",
        "spec.rules[0].filters[0]: urlRewrite must be unset unless type is URLRewrite",
        "spec.rules[0].backendRefs: every weight is 0, so no request reaches a backend",
    ]


def test_cel_rules_see_duplicate_gateway_listeners(custom_resources):
    gateway = _one(custom_resources, "Gateway")
    gateway["spec"]["listeners"].append(copy.deepcopy(gateway["spec"]["listeners"][0]))
    gateway["spec"]["listeners"][0]["tls"] = {"mode": "Terminate"}
    assert violations(gateway) == [
        "spec.listeners: listener name 'http' must be unique within the Gateway",
        f"spec.listeners: port 80, protocol HTTP, hostname {gateway['spec']['listeners'][0].get('hostname')} "
        "is not unique",
        "spec.listeners[0]: tls must not be set for protocol HTTP",
        "spec.listeners[0].tls: certificateRefs or options must be set when mode is Terminate",
    ]
