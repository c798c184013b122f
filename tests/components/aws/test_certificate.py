"""EKS entry point TLS: an ACM certificate on the ALB's HTTPS listener, HTTP redirected."""

from __future__ import annotations

import json

CERTIFICATE = ("aws:acm/certificate:Certificate", "main-tls")
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def test_a_dns_validated_acm_certificate_for_the_hosts(eks):
    certificate = eks.resource(CERTIFICATE).inputs
    assert (certificate["domainName"], certificate["validationMethod"]) == ("ml.eks.example.com", "DNS")
    assert certificate["subjectAlternativeNames"] == []
    records = eks.record.outputs["main"]["certificateDnsRecords"]
    assert [r["type"] for r in records] == ["CNAME"]
    assert records[0]["data"].endswith(".acm-validations.aws.")


def test_every_ingress_listens_on_443_with_the_certificate_and_redirects_80(eks):
    ingresses = eks.custom(INGRESS)
    assert ingresses
    for name, ingress in ingresses.items():
        annotations = ingress["metadata"]["annotations"]
        assert annotations["alb.ingress.kubernetes.io/certificate-arn"].startswith(
            "arn:aws:acm:eu-west-1:123456789012:certificate/"
        )
        assert eks.waits_for((INGRESS, name), CERTIFICATE)
        assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [
            {"HTTP": 80},
            {"HTTPS": 443},
        ]
        assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
        assert annotations["alb.ingress.kubernetes.io/ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["ml.eks.example.com"]
        # The ALB holds the certificate: no Secret for the controller to look for.
        assert "tls" not in ingress["spec"]
