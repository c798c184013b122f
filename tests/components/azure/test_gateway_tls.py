"""HTTPS on Application Gateway for Containers: cert-manager with a Let's Encrypt ClusterIssuer
solving HTTP-01 through the Gateway, a 443 listener on the issued Secret, port 80 redirecting,
and RoutePolicy timeouts for long routes."""

from __future__ import annotations

import yaml

from components.contract import POOL_LABEL
from tests.components.azure.conftest import EXAMPLE
from tests.helpers import dig, one

RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
ROUTE_POLICY = "kubernetes:alb.networking.azure.io/v1:RoutePolicy"
SYSTEM_POOL = {
    "nodeSelector": {POOL_LABEL: "system"},
    "tolerations": [
        {"key": "CriticalAddonsOnly", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ],
}


def test_cert_manager_is_a_pinned_chart_with_gateway_api_on_the_system_pool(aks):
    inputs = one(aks.record, RELEASE, "aks-cert-manager").inputs
    assert (inputs["chart"], inputs["version"], inputs["namespace"]) == (
        "oci://quay.io/jetstack/charts/cert-manager",
        "v1.19.1",
        "cert-manager",
    )
    values = inputs["values"]
    assert values["crds"] == {"enabled": True}
    assert values["config"]["enableGatewayAPI"] is True
    for component in (values, values["webhook"], values["cainjector"], values["startupapicheck"]):
        assert {key: component[key] for key in SYSTEM_POOL} == SYSTEM_POOL


def test_the_issuer_solves_http01_on_the_gateways_port_80_listener(aks):
    issuer = one(aks.record, ISSUER)
    acme = issuer.inputs["spec"]["acme"]
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert "email" not in acme
    solver = acme["solvers"][0]["http01"]["gatewayHTTPRoute"]
    assert solver["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "ml-gateway",
            "namespace": "mlplatform-gateway",
            "sectionName": "http",
        }
    ]
    assert solver["podTemplate"]["spec"] == SYSTEM_POOL
    assert aks.record.depends_on(issuer.urn, one(aks.record, RELEASE, "aks-cert-manager").urn)


def test_the_https_listener_serves_the_certificate_cert_manager_issues(aks):
    gateway = one(aks.record, GATEWAY)
    listeners = {lis["name"]: lis for lis in gateway.inputs["spec"]["listeners"]}
    assert (listeners["https"]["port"], listeners["https"]["protocol"]) == (443, "HTTPS")
    assert listeners["https"]["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": "ml-gateway-tls"}],
    }
    assert listeners["http"]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    certificate = one(aks.record, CERTIFICATE)
    assert certificate.inputs["metadata"]["namespace"] == "mlplatform-gateway"
    assert certificate.inputs["spec"]["secretName"] == "ml-gateway-tls"
    assert certificate.inputs["spec"]["dnsNames"] == ["ml.aks.example.com"]
    assert (
        certificate.inputs["spec"]["issuerRef"]["name"] == one(aks.record, ISSUER).inputs["metadata"]["name"]
    )
    # The issuer exists before its first Certificate is asked for.
    assert aks.record.depends_on(certificate.urn, one(aks.record, ISSUER).urn)
    redirect = next(
        r.inputs for r in aks.record.of_type(ROUTE) if r.inputs["metadata"]["name"] == "https-redirect"
    )
    assert dig(redirect, "spec.rules.0.filters.0.requestRedirect") == {"scheme": "https", "statusCode": 301}


def test_a_route_policy_raises_agcs_timeout_for_long_routes_only(aks):
    policies = {r.inputs["metadata"]["name"]: r.inputs for r in aks.record.of_type(ROUTE_POLICY)}
    # model2 asks for 120 s; model1 (a custom server without timeoutSeconds) keeps AGC's default.
    assert set(policies) == {"model2"}
    assert policies["model2"]["spec"] == {
        "targetRef": {
            "group": "gateway.networking.k8s.io",
            "kind": "HTTPRoute",
            "name": "model2",
            "namespace": "ml",
        },
        "default": {"timeouts": {"routeTimeout": "120s"}},
    }


def test_an_llm_preset_sets_the_route_timeout_and_an_email_reaches_the_account(plan_of):
    document = yaml.safe_load(EXAMPLE.read_text())
    config = document["config"]
    config["mlplatform:clusters"]["aks"]["routing"]["tls"] = {"acmeEmail": "ml-platform@acme.example"}
    model1 = config["mlplatform:models"]["model1"]
    model1["server"] = "vllm"
    model1.pop("port")  # the preset's
    record = plan_of(document)
    assert one(record, ISSUER).inputs["spec"]["acme"]["email"] == "ml-platform@acme.example"
    policies = {r.inputs["metadata"]["name"]: r.inputs for r in record.of_type(ROUTE_POLICY)}
    assert dig(policies["model1"], "spec.default.timeouts.routeTimeout") == "600s"
