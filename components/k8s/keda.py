"""KEDA: the request autoscaler (ScaledObjects with prometheus triggers), able to scale to zero,
and its HTTP add-on, whose interceptor holds a scaled-to-zero model's first requests and wakes it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.contract import PoolContract
from components.k8s.gke_policies import gke_service_policies
from components.k8s.helm import Chart, chart_release, scheduling_values

NAMESPACE = "keda"
# v2.20 is tested on Kubernetes 1.33-1.35 (keda.sh/docs/2.20/operate/cluster, compatibility matrix).
KEDA = Chart("keda", "https://kedacore.github.io/charts", "2.20.2")
# kedacore/charts c4b92e9 "release v0.15.0" (http-add-on/Chart.yaml 0.15.0, app 0.15.0, published
# in docs/index.yaml); the add-on talks to KEDA through the external-push scaler protocol.
HTTP_ADD_ON = Chart("keda-add-ons-http", "https://kedacore.github.io/charts", "0.15.0")


@dataclass(frozen=True)
class Interceptor:
    """Where the HTTP add-on's interceptor answers (chart 0.15.0: Service
    `<chart>-<interceptor.proxy.service>` on `interceptor.proxy.port`, readiness `/readyz` on the
    admin port 9090; templates/interceptor/service-proxy.yaml, deployment.yaml), and the
    add-on's external scaler (`<chart>-<scaler.service>` on `scaler.grpcPort`)."""

    namespace: str = NAMESPACE
    service: str = f"{HTTP_ADD_ON.name}-interceptor-proxy"
    port: int = 8080
    admin_port: int = 9090
    readiness_path: str = "/readyz"
    scaler_address: str = f"{HTTP_ADD_ON.name}-external-scaler.{NAMESPACE}:9090"
    # The interceptor's pod labels (templates/interceptor/deployment.yaml).
    pod_labels: tuple[tuple[str, str], ...] = (
        ("app.kubernetes.io/component", "interceptor"),
        ("app.kubernetes.io/name", "http-add-on"),
    )


INTERCEPTOR = Interceptor()
# The request header the entry route sets and the model's HTTPScaledObject matches on: the
# interceptor routes by host, path prefix and headers (http-add-on v0.15.0 pkg/routing), and
# stripped prefixes would otherwise leave several models on the same "/".
WAKE_HEADER = "x-mlplatform-model"


def wake_header_value(namespace: str, model: str) -> str:
    return f"{namespace}/{model}"


@dataclass(frozen=True)
class KedaArgs:
    system_pool: PoolContract
    system_pool_ready: list[pulumi.Resource] = field(default_factory=list)
    # Install the HTTP add-on: a model scales to zero and wakes on its first request.
    http_add_on: bool = False
    # GKE Gateway: the load balancer's health check and request budget for the interceptor.
    gke_policies: bool = False
    # The longest a request through the interceptor may take (cold start + request), seconds.
    interceptor_timeout_seconds: int | None = None
    labels: dict[str, str] = field(default_factory=dict)


class Keda(pulumi.ComponentResource):
    # The release (operator, metrics API server, admission webhooks and the CRDs, chart value
    # crds.install defaults to true): what ScaledObjects wait for.
    release: pulumi.Resource
    # The HTTP add-on's release (its CRDs, interceptor and scaler), if installed.
    http_add_on: pulumi.Resource | None

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:Keda", name, None, opts)
        scheduling = scheduling_values(args.system_pool)
        # Values of kedacore/charts keda/values.yaml at v2.20.2: top-level nodeSelector and
        # tolerations apply to all three Deployments.
        self.release = chart_release(
            f"{name}-keda",
            KEDA,
            NAMESPACE,
            scheduling,
            pulumi.ResourceOptions(parent=self, depends_on=args.system_pool_ready),
        )
        self.http_add_on = None
        if args.http_add_on:
            # http-add-on/values.yaml at 0.15.0: scheduling per component (operator, scaler,
            # interceptor); CRDs installed by default (crds.install). Timeouts stay the code's
            # defaults: readiness wait disabled (the first request waits for the cold start),
            # response headers 300 s (each HTTPScaledObject raises its own).
            self.http_add_on = chart_release(
                f"{name}-http-add-on",
                HTTP_ADD_ON,
                NAMESPACE,
                {component: dict(scheduling) for component in ("operator", "scaler", "interceptor")},
                pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
                create_namespace=False,
            )
            if args.gke_policies:
                gke_service_policies(
                    f"{name}-interceptor",
                    INTERCEPTOR.service,
                    NAMESPACE,
                    args.labels,
                    INTERCEPTOR.admin_port,
                    INTERCEPTOR.readiness_path,
                    args.interceptor_timeout_seconds,
                    pulumi.ResourceOptions(parent=self, depends_on=[self.http_add_on]),
                )
        self.register_outputs({"namespace": NAMESPACE})
