"""The entry point's config: host names, certificates and the explicit plain-HTTP opt-out."""

from __future__ import annotations

import pytest

from stacks import ConfigError, load_stack_file
from stacks.config import StackConfig

ROUTING = "mlplatform:clusters.main.routing"


def _routing(document) -> dict:
    return document["config"]["mlplatform:clusters"]["main"].setdefault("routing", {})


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        pytest.param(
            {},
            f"{ROUTING}.hosts: the entry point serves HTTPS with a certificate Certificate Manager issues "
            "for its host names: list them (e.g. hosts: [ml.dev.example.com]), or set insecureHttp: true",
            id="managed-certificate-needs-hosts",
        ),
        pytest.param(
            {"hosts": ["ML.example.com"]},
            "'ML.example.com' is not a DNS host name (RFC 1123",
            id="uppercase",
        ),
        pytest.param({"hosts": ["*.example.com"]}, "no wildcard", id="wildcard"),
        pytest.param({"hosts": ["localhost"]}, "'localhost' is not a DNS host name", id="one-label"),
        pytest.param({"hosts": [f"{'a' * 64}.example.com"]}, "is not a DNS host name", id="label-over-63"),
        pytest.param({"hosts": ["-ml.example.com"]}, "is not a DNS host name", id="leading-dash"),
        pytest.param(
            {"hosts": ["ml.example.com", "ml.example.com"]}, "a host is listed twice", id="duplicate"
        ),
        pytest.param(
            {"insecureHttp": True, "tls": {"secretName": "ml-tls"}},
            f"{ROUTING}.tls: insecureHttp: true serves plain HTTP; remove tls",
            id="insecure-with-tls",
        ),
        pytest.param(
            {"hosts": ["ml.example.com"], "tls": {"secretName": "ml-tls"}},
            f"{ROUTING}.tls.secretName: the platform issues this entry point's certificate; remove it",
            id="managed-with-own-secret",
        ),
        pytest.param(
            {"hosts": ["ml.example.com"], "tls": {"acmeEmail": "ops@example.com"}},
            f"{ROUTING}.tls.acmeEmail: acmeEmail is the Let's Encrypt account",
            id="acme-email-off-aks",
        ),
        pytest.param(
            {"mode": "ingress", "hosts": ["ml.example.com"]},
            f"{ROUTING}.tls.secretName: this entry point (ingress on gcp) serves HTTPS from a "
            "kubernetes.io/tls Secret",
            id="gce-ingress-needs-a-secret",
        ),
        pytest.param(
            {"mode": "ingress", "tls": {"secretName": "ml-tls", "clusterIssuer": "letsencrypt"}},
            f"{ROUTING}.hosts: cert-manager issues the certificate for the host names",
            id="issuer-needs-hosts",
        ),
    ],
)
def test_bad_entry_point_config_is_named_at_the_door(dev_config, write_stack, routing, message):
    _routing(dev_config).clear()
    _routing(dev_config).update(routing)
    if routing.get("mode") == "ingress":
        for model in dev_config["config"]["mlplatform:models"].values():
            model["route"]["stripPrefix"] = False
            model.pop("variants", None), model.pop("weight", None)
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(dev_config))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_plain_http_is_allowed_when_asked_for_and_warned_about(dev_config, write_stack):
    _routing(dev_config).clear()
    _routing(dev_config)["insecureHttp"] = True
    stack: StackConfig = load_stack_file(write_stack(dev_config))
    assert not stack.clusters["main"].managed_tls
    assert [w for w in stack.warnings if "insecureHttp" in w] == [
        f"{ROUTING}.insecureHttp: the entry point serves plain HTTP (no TLS): requests and API keys "
        "cross the network readable"
    ]


def test_shipped_stack_serves_https_for_its_host(dev_config, write_stack):
    stack = load_stack_file(write_stack(dev_config))
    cluster = stack.clusters["main"]
    assert cluster.managed_tls and cluster.routing.hosts == ["ml.dev.example.com"]
    assert not [w for w in stack.warnings if "insecureHttp" in w]
