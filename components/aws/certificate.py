"""The EKS entry point's certificate: an ACM public certificate, DNS-validated, that the AWS Load
Balancer Controller attaches to the ALB's HTTPS listener.

The platform does not manage DNS: the validation CNAME records ACM asks for are exported
(ClusterHandle.certificate_dns_records). Until they resolve, the certificate stays pending and
the controller retries the listener; ACM renews a DNS-validated certificate as long as the
records stay (ACM User Guide, "DNS validation").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# AWS Load Balancer Controller v2.14 (chart 1.14.0) Ingress annotations
# (docs/guide/ingress/annotations.md at v2.14.0): listen-ports defaults to HTTP 80 alone, so
# both ports are named; ssl-redirect turns every HTTP listener into a redirect to that port;
# ssl-policy defaults to ELBSecurityPolicy-2016-08 (TLS 1.0): TLS 1.2 and 1.3 only instead
# (Elastic Load Balancing User Guide, "Security policies for your Application Load Balancer").
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class AcmCertificateArgs:
    # The first is the certificate's domain name, the others its subject alternative names.
    hosts: tuple[str, ...]


class AcmCertificate(pulumi.ComponentResource):
    """Needs the aws provider in `opts.providers`."""

    certificate: aws.acm.Certificate
    dns_records: pulumi.Output[list]

    def __init__(self, name: str, args: AcmCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:AcmCertificate", name, None, opts)
        self.certificate = aws.acm.Certificate(
            name,
            domain_name=args.hosts[0],
            subject_alternative_names=list(args.hosts[1:]),
            validation_method="DNS",
            options=aws.acm.CertificateOptionsArgs(certificate_transparency_logging_preference="ENABLED"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dns_records = self.certificate.domain_validation_options.apply(
            lambda options: [
                {
                    "name": option.resource_record_name,
                    "type": option.resource_record_type,
                    "data": option.resource_record_value,
                }
                for option in options or []
            ]
        )
        self.register_outputs({"arn": self.certificate.arn, "dnsRecords": self.dns_records})


def https_annotations(certificate_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """What every Ingress of the fanout tells the controller to serve HTTPS and redirect HTTP."""
    return {
        "alb.ingress.kubernetes.io/certificate-arn": certificate_arn,
        "alb.ingress.kubernetes.io/listen-ports": json.dumps([{"HTTP": 80}, {"HTTPS": 443}]),
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/ssl-policy": SSL_POLICY,
    }
