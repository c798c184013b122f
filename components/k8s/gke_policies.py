"""GKE Gateway policies for a Service behind the load balancer: its health check and timeout."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.k8s.pod import object_metadata


def gke_service_policies(
    prefix: str,
    service: str,
    namespace: str,
    labels: dict[str, str],
    port: int,
    path: str,
    timeout_seconds: int | None,
    opts: pulumi.ResourceOptions,
) -> None:
    """A HealthCheckPolicy probing `path` on the pods' `port`, and with `timeout_seconds` a
    GCPBackendPolicy raising the backend service's request timeout."""
    k8s.apiextensions.CustomResource(
        f"{prefix}-healthcheck",
        api_version="networking.gke.io/v1",
        kind="HealthCheckPolicy",
        metadata=object_metadata(service, namespace, labels),
        spec={
            "default": {
                "config": {
                    "type": "HTTP",
                    # The CRD's CEL rules accept `port` only with USE_FIXED_PORT
                    # (GoogleCloudPlatform/gke-gateway-api@983ac3d,
                    # apis/networking/v1/healthcheck_types.go, CommonHealthCheck).
                    "httpHealthCheck": {
                        "portSpecification": "USE_FIXED_PORT",
                        "port": port,
                        "requestPath": path,
                    },
                }
            },
            "targetRef": {"group": "", "kind": "Service", "name": service},
        },
        opts=opts,
    )
    if timeout_seconds is not None:
        k8s.apiextensions.CustomResource(
            f"{prefix}-backend-policy",
            api_version="networking.gke.io/v1",
            kind="GCPBackendPolicy",
            metadata=object_metadata(service, namespace, labels),
            spec={
                # The backend service's timeout, 30 s unless set (GKE docs, "Configure
                # Gateway resources using Policies": GCPBackendPolicy default.timeoutSec).
                "default": {"timeoutSec": timeout_seconds},
                "targetRef": {"group": "", "kind": "Service", "name": service},
            },
            opts=opts,
        )
