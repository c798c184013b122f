"""GKE with `routing.mode: ingress`: gce Ingresses serve the stack's TLS Secret and redirect HTTP."""

from __future__ import annotations

from tests.manifests.crd_schemas import validate_custom_resources

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
FRONTEND_CONFIG = "kubernetes:networking.gke.io/v1beta1:FrontendConfig"


def _ingress_mode(dev_config):
    main = dev_config["config"]["mlplatform:clusters"]["main"]
    main["routing"] = {"mode": "ingress", "hosts": ["ml.dev.example.com"], "tls": {"secretName": "ml-tls"}}
    # A gce Ingress can neither weight a split nor strip a prefix (the config refuses both).
    models = dev_config["config"]["mlplatform:models"]
    models["model1"].pop("variants")
    models["model1"].pop("weight", None)
    for model in models.values():
        if "route" in model:
            model["route"]["stripPrefix"] = False
    return dev_config


def test_each_gce_ingress_redirects_http_to_https_through_its_frontend_config(dev_config, plan_of):
    record = plan_of(_ingress_mode(dev_config))
    ingresses = record.of_type(INGRESS)
    configs = {r.inputs["metadata"]["namespace"]: r for r in record.of_type(FRONTEND_CONFIG)}
    assert ingresses and set(configs) == {i.inputs["metadata"]["namespace"] for i in ingresses}
    for ingress in ingresses:
        metadata = ingress.inputs["metadata"]
        config = configs[metadata["namespace"]]
        assert (
            metadata["annotations"]["networking.gke.io/v1beta1.FrontendConfig"]
            == config.inputs["metadata"]["name"]
        )
        assert ingress.inputs["spec"]["tls"] == [{"secretName": "ml-tls", "hosts": ["ml.dev.example.com"]}]
        assert record.depends_on(ingress.urn, config.urn)
        assert config.inputs["spec"] == {
            "redirectToHttps": {"enabled": True, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"}
        }
    manifests = {
        r.urn: {"apiVersion": "networking.gke.io/v1beta1", "kind": "FrontendConfig", **r.inputs}
        for r in configs.values()
    }
    assert {r["status"] for r in validate_custom_resources(manifests).values()} == {"valid"}


def test_plain_http_gets_no_redirect(dev_config, plan_of):
    document = _ingress_mode(dev_config)
    document["config"]["mlplatform:clusters"]["main"]["routing"] = {"mode": "ingress", "insecureHttp": True}
    assert plan_of(document).of_type(FRONTEND_CONFIG) == []
