"""GKE entry point TLS: a Certificate Manager certificate map on the Gateway, port 80 redirecting."""

from __future__ import annotations

from tests.helpers import one

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
CM = "gcp:certificatemanager/"


def test_a_managed_certificate_for_each_host_through_a_certificate_map(dev_plan):
    authorization = one(dev_plan, f"{CM}dnsAuthorization:DnsAuthorization").inputs
    assert authorization["domain"] == "ml.dev.example.com"
    certificate = one(dev_plan, f"{CM}certificate:Certificate")
    assert certificate.inputs["managed"]["domains"] == ["ml.dev.example.com"]
    assert certificate.inputs["managed"]["dnsAuthorizations"] == [
        "projects/acme-ml-dev/locations/global/dnsAuthorizations/dev-main-ml-dev-example-com"
    ]
    certificate_map = one(dev_plan, f"{CM}certificateMap:CertificateMap").inputs
    entry = one(dev_plan, f"{CM}certificateMapEntry:CertificateMapEntry").inputs
    assert (entry["map"], entry["hostname"]) == (certificate_map["name"], "ml.dev.example.com")
    assert entry["certificates"] == ["projects/acme-ml-dev/locations/global/certificates/dev-main-entry"]
    gateway = one(dev_plan, GATEWAY).inputs
    assert gateway["metadata"]["annotations"] == {"networking.gke.io/certmap": certificate_map["name"]}


def test_the_gateway_serves_https_and_port_80_only_redirects(dev_plan):
    gateway = one(dev_plan, GATEWAY).inputs
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert (listeners["https"]["protocol"], listeners["https"]["port"]) == ("HTTPS", 443)
    # The certificate comes from the map: no Secret reference.
    assert "tls" not in listeners["https"]
    assert listeners["http"]["allowedRoutes"] == {"namespaces": {"from": "Same"}}
    routes = {r.inputs["metadata"]["name"]: r.inputs for r in dev_plan.of_type(ROUTE)}
    redirect = routes["https-redirect"]
    assert redirect["metadata"]["namespace"] == "mlplatform-gateway"
    assert redirect["spec"]["parentRefs"] == [
        {"name": "ml-gateway", "namespace": "mlplatform-gateway", "sectionName": "http"}
    ]
    assert redirect["spec"]["hostnames"] == ["ml.dev.example.com"]
    assert redirect["spec"]["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]
    for model in ("model1", "model2"):
        assert routes[model]["spec"]["parentRefs"][0]["sectionName"] == "https"
        assert routes[model]["spec"]["hostnames"] == ["ml.dev.example.com"]


def test_the_dns_records_to_create_are_a_stack_output(dev_plan):
    records = dev_plan.outputs["main"]["certificateDnsRecords"]
    assert [(r["name"], r["type"]) for r in records] == [("_acme-challenge.ml.dev.example.com.", "CNAME")]


def test_plain_http_when_the_stack_says_so(dev_config, plan_of):
    dev_config["config"]["mlplatform:clusters"]["main"]["routing"] = {"insecureHttp": True}
    record = plan_of(dev_config)
    assert not record.of_type(f"{CM}certificate:Certificate")
    gateway = one(record, GATEWAY).inputs
    assert [(lis["name"], lis["port"]) for lis in gateway["spec"]["listeners"]] == [("http", 80)]
    assert "annotations" not in gateway["metadata"]
    assert {r.inputs["metadata"]["name"] for r in record.of_type(ROUTE)} == {"model1", "model2"}
