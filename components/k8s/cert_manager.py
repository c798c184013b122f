"""cert-manager and a Let's Encrypt ClusterIssuer that proves host names through the fanout's
Gateway (ACME HTTP-01 on port 80): the certificate source of an entry point whose load balancer
has no managed certificates of its own (AKS Application Gateway for Containers: AGC docs,
"Cert-manager and Let's Encrypt with Application Gateway for Containers - Gateway API").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, scheduling_values

# The version the AGC guide installs. Values keys used below, read at v1.19.1
# (deploy/charts/cert-manager/values.yaml): crds.enabled; config (a ControllerConfiguration,
# whose enableGatewayAPI turns on Gateway API support: internal/apis/config/controller/types.go);
# nodeSelector/tolerations at the top level (controller) and under webhook, cainjector and
# startupapicheck.
CERT_MANAGER = Chart("cert-manager", "oci://quay.io/jetstack/charts", "v1.19.1")
NAMESPACE = "cert-manager"
ISSUER = "letsencrypt"
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class CertManagerArgs:
    kubernetes_provider: k8s.Provider
    # The controller pods run here, and so do the HTTP-01 solver pods.
    system_pool: PoolContract
    # What the release waits for (the system pool's nodes).
    depends_on: tuple[pulumi.Resource, ...]
    # The Gateway (name, namespace) and listener whose port-80 routes answer the challenges.
    gateway: tuple[str, str]
    listener: str = "http"
    # The ACME account's contact address; None: an account without one (Let's Encrypt sends
    # no expiry mail any more, and renewal is automatic).
    email: str | None = None


class CertManager(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    issuer: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:CertManager", name, None, opts)
        scheduling = scheduling_values(args.system_pool)
        self.release = chart_release(
            name,
            CERT_MANAGER,
            NAMESPACE,
            {
                "crds": {"enabled": True},
                "config": {
                    "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                    "kind": "ControllerConfiguration",
                    "enableGatewayAPI": True,
                },
                **scheduling,
                "webhook": scheduling,
                "cainjector": scheduling,
                "startupapicheck": scheduling,
            },
            pulumi.ResourceOptions(
                parent=self, provider=args.kubernetes_provider, depends_on=list(args.depends_on)
            ),
        )
        gateway_name, gateway_namespace = args.gateway
        acme: dict = {
            "server": LETS_ENCRYPT,
            "privateKeySecretRef": {"name": f"{ISSUER}-account"},
            "solvers": [
                {
                    # cert-manager v1.19 ACMEChallengeSolverHTTP01GatewayHTTPRoute: the solver's
                    # HTTPRoute attaches to the port-80 listener; its Service needs no NodePort
                    # (AGC reaches pod IPs), and its pod runs on the system pool. The solver pod
                    # runs as non-root with RuntimeDefault seccomp, no capabilities and a
                    # read-only root (pkg/issuer/acme/http/pod.go at v1.19.1), so the gateway
                    # namespace's `restricted` Pod Security level admits it.
                    "http01": {
                        "gatewayHTTPRoute": {
                            "parentRefs": [
                                {
                                    "group": "gateway.networking.k8s.io",
                                    "kind": "Gateway",
                                    "name": gateway_name,
                                    "namespace": gateway_namespace,
                                    "sectionName": args.listener,
                                }
                            ],
                            "serviceType": "ClusterIP",
                            "podTemplate": {"spec": scheduling},
                        }
                    }
                }
            ],
        }
        if args.email is not None:
            acme["email"] = args.email
        self.issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": ISSUER, "labels": {"app.kubernetes.io/part-of": "mlplatform"}},
            spec={"acme": acme},
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.kubernetes_provider, depends_on=[self.release]
            ),
        )
        self.register_outputs({"issuer": ISSUER})
