"""The GKE entry point's certificate: Google-managed, from Certificate Manager, served through a
certificate map that the Gateway names (GKE docs, "Secure a Gateway": the
`networking.gke.io/certmap` annotation on a Gateway of a global external class).

DNS authorization, not load-balancer authorization: the certificate is issued before the host
names point at the load balancer, so the first request already finds HTTPS. The platform does
not manage DNS: the `_acme-challenge` CNAME records each authorization asks for are exported
(ClusterHandle.certificate_dns_records) for whoever holds the zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.naming import fitted_name

CERTMAP_ANNOTATION = "networking.gke.io/certmap"
# Certificate Manager resource ids: 1-63 lowercase letters, digits and '-' (API reference,
# projects.locations.certificates.create, certificateId).
NAME_LIMIT = 63


@dataclass(frozen=True)
class ManagedCertificateArgs:
    project: str
    # The readable start of every resource name (unique in the project: environment and cluster).
    prefix: str
    hosts: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


class ManagedCertificate(pulumi.ComponentResource):
    """Needs the google provider in `opts.providers`."""

    certificate_map: gcp.certificatemanager.CertificateMap
    dns_records: pulumi.Output[list]

    def __init__(self, name: str, args: ManagedCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:ManagedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        authorizations = {
            host: gcp.certificatemanager.DnsAuthorization(
                f"{name}-{_dashed(host)}",
                name=fitted_name(args.prefix, _dashed(host), max_length=NAME_LIMIT),
                project=args.project,
                domain=host,
                description=f"Proves {host} for the ML platform's entry point certificate",
                labels=args.labels,
                opts=child,
            )
            for host in args.hosts
        }
        certificate = gcp.certificatemanager.Certificate(
            name,
            name=fitted_name(args.prefix, "entry", max_length=NAME_LIMIT),
            project=args.project,
            description="The ML platform's entry point (Gateway) certificate",
            # Google-managed, renewed by Certificate Manager; DEFAULT scope serves global external
            # Application Load Balancers (gke-l7-global-external-managed).
            managed=gcp.certificatemanager.CertificateManagedArgs(
                domains=list(args.hosts),
                dns_authorizations=[authorization.id for authorization in authorizations.values()],
            ),
            labels=args.labels,
            opts=child,
        )
        self.certificate_map = gcp.certificatemanager.CertificateMap(
            f"{name}-map",
            name=fitted_name(args.prefix, "entry", max_length=NAME_LIMIT),
            project=args.project,
            description="Host name -> certificate for the ML platform's Gateway",
            labels=args.labels,
            opts=child,
        )
        for host in args.hosts:
            gcp.certificatemanager.CertificateMapEntry(
                f"{name}-{_dashed(host)}-entry",
                name=fitted_name(args.prefix, _dashed(host), max_length=NAME_LIMIT),
                project=args.project,
                map=self.certificate_map.name,
                hostname=host,
                certificates=[certificate.id],
                labels=args.labels,
                opts=child,
            )
        self.dns_records = pulumi.Output.all(
            *(authorization.dns_resource_records for authorization in authorizations.values())
        ).apply(lambda records: [record for group in records for record in group or []])
        self.register_outputs({"certificateMap": self.certificate_map.name, "dnsRecords": self.dns_records})


def _dashed(host: str) -> str:
    return host.replace(".", "-")
