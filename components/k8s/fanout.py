"""One HTTP entry point per cluster: URL path -> model, weighted between a model's variants."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.handle import EntryTls, Routing
from components.k8s.model_service import Backend
from components.k8s.namespace import TEAM_NAMESPACE_LABEL
from components.k8s.pod import object_metadata

GATEWAY_NAMESPACE = "mlplatform-gateway"
GATEWAY_NAME = "ml-gateway"
INGRESS_NAME = "ml-fanout"


@dataclass(frozen=True)
class RouteSpec:
    model: str
    namespace: str
    path: str
    backends: list[Backend]
    # What serves the route (the model's ModelService); the route waits for it, and only for it:
    # depending on every model would make each route wait on the whole cluster's workloads.
    service: pulumi.Resource | None = None
    # Serve `<path>/x` to the model as `/x` (HTTPRoute URLRewrite, ALB transforms).
    strip_prefix: bool = False
    # The route's request budget at the load balancer; None: the load balancer's default.
    timeout_seconds: int | None = None


@dataclass(frozen=True)
class FanoutArgs:
    mode: Literal["gateway", "ingress"]
    class_name: str
    routing: Routing
    routes: list[RouteSpec]
    # Host names the entry point serves (routes and certificates); empty: any host.
    hosts: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


class Fanout(pulumi.ComponentResource):
    def __init__(self, name: str, args: FanoutArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:Fanout", name, None, opts)
        labels = {
            "app.kubernetes.io/part-of": "mlplatform",
            "app.kubernetes.io/managed-by": "pulumi",
            **args.labels,
        }
        # Where clients reach the routes: what the cloud reserved ahead (routing.address), else
        # the load balancer the first Ingress reports (the provider waits for it: Ingress await
        # logic); a Gateway's own status is not an output of CustomResource, so None there.
        self.address: pulumi.Input[str] | None = args.routing.address
        if args.mode == "gateway":
            self._gateway(name, args, labels)
        else:
            ingresses = self._ingresses(name, args, labels)
            if self.address is None and ingresses:
                self.address = ingresses[0].status.apply(_load_balancer_address)
        self.register_outputs({"routes": {r.path: r.model for r in args.routes}, "address": self.address})

    def _gateway(self, name: str, args: FanoutArgs, labels: dict[str, str]) -> None:
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=object_metadata(
                GATEWAY_NAMESPACE, None, {**labels, "pod-security.kubernetes.io/enforce": "restricted"}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        gateway_spec: dict = {"gatewayClassName": args.class_name, "listeners": _listeners(args.routing.tls)}
        if args.routing.gateway_addresses:
            gateway_spec["addresses"] = [
                {"type": address.type, "value": address.value} for address in args.routing.gateway_addresses
            ]
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata=object_metadata(
                GATEWAY_NAME, GATEWAY_NAMESPACE, labels, args.routing.gateway_annotations or None
            ),
            spec=gateway_spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *args.routing.ready]),
        )
        tls = args.routing.tls
        if tls is not None:
            self._tls_objects(name, args, labels, tls, gateway)
        # Models attach to the HTTPS listener when there is one; port 80 then only redirects.
        section = "https" if tls is not None else "http"
        grants = self._reference_grants(name, args.routes, labels)
        for route in args.routes:
            rule: dict = {
                "matches": [{"path": {"type": "PathPrefix", "value": route.path}}],
                "backendRefs": [_backend_ref(b) for b in route.backends],
            }
            filters: list[dict] = []
            if route.strip_prefix:
                # Gateway API v1.4.0 HTTPURLRewriteFilter: ReplacePrefixMatch needs a PathPrefix
                # match; "/" turns /model1/v1/x into /v1/x (Core support for HTTPRoute).
                filters.append(
                    {
                        "type": "URLRewrite",
                        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
                    }
                )
            headers = {k: v for b in route.backends for k, v in b.request_headers.items()}
            if headers:
                # Gateway API v1.4.0 HTTPHeaderFilter `set` (Core): replaces what a client sent.
                filters.append(
                    {
                        "type": "RequestHeaderModifier",
                        "requestHeaderModifier": {
                            "set": [{"name": k, "value": v} for k, v in sorted(headers.items())]
                        },
                    }
                )
            if filters:
                rule["filters"] = filters
            spec: dict = {
                "parentRefs": [
                    {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "sectionName": section}
                ],
                "rules": [rule],
            }
            if args.hosts:
                spec["hostnames"] = list(args.hosts)
            http_route = k8s.apiextensions.CustomResource(
                f"{name}-{route.model}-route",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata=object_metadata(route.model, route.namespace, labels),
                spec=spec,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        gateway,
                        *_services([route]),
                        *(grants[b.namespace] for b in route.backends if b.namespace in grants),
                    ],
                ),
            )
            if args.routing.route_timeouts == "agc-route-policy" and route.timeout_seconds is not None:
                self._route_policy(name, route, labels, http_route)

    def _reference_grants(
        self, name: str, routes: list[RouteSpec], labels: dict[str, str]
    ) -> dict[str, pulumi.Resource]:
        """A route's backend in another namespace (the wake interceptor) needs a ReferenceGrant
        there naming the routes' namespaces and that Service (Gateway API v1.4.0 ReferenceGrant,
        gateway.networking.k8s.io/v1beta1; HTTPBackendRef: "a ReferenceGrant is required")."""
        wanted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        waits: dict[str, list[pulumi.Resource]] = defaultdict(list)
        for route in routes:
            for backend in route.backends:
                if backend.namespace is not None and backend.namespace != route.namespace:
                    wanted[backend.namespace][backend.service].add(route.namespace)
                    waits[backend.namespace].extend(_services([route]))
        grants: dict[str, pulumi.Resource] = {}
        for namespace, services in sorted(wanted.items()):
            sources = sorted({source for spaces in services.values() for source in spaces})
            grants[namespace] = k8s.apiextensions.CustomResource(
                f"{name}-{namespace}-grant",
                api_version="gateway.networking.k8s.io/v1beta1",
                kind="ReferenceGrant",
                metadata=object_metadata("mlplatform-routes", namespace, labels),
                spec={
                    "from": [
                        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": source}
                        for source in sources
                    ],
                    "to": [{"group": "", "kind": "Service", "name": service} for service in sorted(services)],
                },
                # The namespace exists once the add-on serving it does (the model waits for it).
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits[namespace]),
            )
        return grants

    def _tls_objects(
        self,
        name: str,
        args: FanoutArgs,
        labels: dict[str, str],
        tls: EntryTls,
        gateway: pulumi.Resource,
    ) -> None:
        """The port-80 redirect to HTTPS and, with cert-manager, the listener's Certificate."""
        if tls.cluster_issuer is not None and tls.secret_name is not None:
            # cert-manager v1.19 Certificate: the issuer keeps the listener's Secret filled (the
            # Gateway's own namespace: Gateway API certificateRefs default to it). The private key
            # is cert-manager's default (RSA 2048, rotated at each renewal since v1.18).
            k8s.apiextensions.CustomResource(
                f"{name}-certificate",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata=object_metadata(GATEWAY_NAME, GATEWAY_NAMESPACE, labels),
                spec={
                    "secretName": tls.secret_name,
                    "dnsNames": list(args.hosts),
                    "issuerRef": {
                        "group": "cert-manager.io",
                        "kind": "ClusterIssuer",
                        "name": tls.cluster_issuer,
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
            )
        redirect: dict = {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "sectionName": "http"}],
            # Gateway API v1.4.0 HTTPRequestRedirectFilter (Core): scheme https, its well-known
            # port 443, path and host kept; 301 so that clients remember.
            "rules": [
                {
                    "filters": [
                        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
                    ]
                }
            ],
        }
        if args.hosts:
            redirect["hostnames"] = list(args.hosts)
        k8s.apiextensions.CustomResource(
            f"{name}-https-redirect",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata=object_metadata("https-redirect", GATEWAY_NAMESPACE, labels),
            spec=redirect,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _route_policy(
        self, name: str, route: RouteSpec, labels: dict[str, str], http_route: pulumi.Resource
    ) -> None:
        """AGC cuts a request at 60 s unless the route's RoutePolicy raises it (AGC API
        specification for Kubernetes, alb.networking.azure.io/v1 RoutePolicy:
        default.timeouts.routeTimeout, a metav1.Duration; targetRef names the HTTPRoute)."""
        k8s.apiextensions.CustomResource(
            f"{name}-{route.model}-route-policy",
            api_version="alb.networking.azure.io/v1",
            kind="RoutePolicy",
            metadata=object_metadata(route.model, route.namespace, labels),
            spec={
                "targetRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "name": route.model,
                    "namespace": route.namespace,
                },
                "default": {"timeouts": {"routeTimeout": f"{route.timeout_seconds}s"}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[http_route]),
        )

    def _ingresses(
        self, name: str, args: FanoutArgs, labels: dict[str, str]
    ) -> list[k8s.networking.v1.Ingress]:
        ingresses = []
        by_namespace: dict[str, list[RouteSpec]] = defaultdict(list)
        for route in args.routes:
            by_namespace[route.namespace].append(route)
        for namespace, routes in sorted(by_namespace.items()):
            annotations = dict(args.routing.ingress_annotations)
            paths = []
            for route in routes:
                if len(route.backends) == 1:
                    backend = {
                        "service": {
                            "name": route.backends[0].service,
                            "port": {"number": route.backends[0].port},
                        }
                    }
                else:
                    # Only validated configs reach here: this cloud's Ingress can weight.
                    action = f"split-{route.model}"
                    annotations[f"alb.ingress.kubernetes.io/actions.{action}"] = json.dumps(
                        {
                            "type": "forward",
                            "forwardConfig": {
                                "targetGroups": [
                                    {"serviceName": b.service, "servicePort": str(b.port), "weight": b.weight}
                                    for b in route.backends
                                ]
                            },
                        },
                        sort_keys=True,
                    )
                    backend = {"service": {"name": action, "port": {"name": "use-annotation"}}}
                if route.strip_prefix:
                    # AWS LB Controller v2.14 (chart 1.14.0) URL rewrite, keyed by the path's
                    # backend name (kubernetes-sigs/aws-load-balancer-controller#4396,
                    # docs guide/tasks/url_rewrite): /model1 and /model1/x become / and /x.
                    prefix = re.escape(route.path.rstrip("/"))
                    annotations[f"alb.ingress.kubernetes.io/transforms.{backend['service']['name']}"] = (
                        json.dumps(
                            [
                                {
                                    "type": "url-rewrite",
                                    "urlRewriteConfig": {
                                        "rewrites": [{"regex": f"^{prefix}/?(.*)$", "replace": "/$1"}]
                                    },
                                }
                            ]
                        )
                    )
                paths.append({"path": route.path, "pathType": "Prefix", "backend": backend})
            timeouts = [r.timeout_seconds for r in routes if r.timeout_seconds is not None]
            if timeouts and args.routing.ingress_weights == "alb-actions":
                # One ALB per Ingress: its idle timeout (60 s by default, AWS LB Controller
                # annotations docs, load-balancer-attributes) must cover the longest route.
                annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] = (
                    f"idle_timeout.timeout_seconds={max(timeouts)}"
                )
            rules = [{"host": host, "http": {"paths": paths}} for host in args.hosts] or [
                {"http": {"paths": paths}}
            ]
            spec: dict = {"ingressClassName": args.class_name, "rules": rules}
            tls = args.routing.tls
            if tls is not None and tls.secret_name is not None:
                # networking.k8s.io/v1 IngressTLS: the Secret lives in the Ingress's namespace.
                entry: dict = {"secretName": tls.secret_name}
                if args.hosts:
                    entry["hosts"] = list(args.hosts)
                spec["tls"] = [entry]
                if tls.cluster_issuer is not None:
                    # cert-manager v1.19 ingress-shim: a Certificate for spec.tls, from this issuer.
                    annotations["cert-manager.io/cluster-issuer"] = tls.cluster_issuer
            redirects: list[pulumi.Resource] = []
            if tls is not None and args.routing.ingress_redirect == "gke-frontend-config":
                # GKE Ingress redirects HTTP to HTTPS through a FrontendConfig the Ingress names
                # (GKE docs, "Configuring Ingress features through FrontendConfig parameters",
                # HTTP to HTTPS redirects; networking.gke.io/v1beta1 FrontendConfig schema).
                redirect = k8s.apiextensions.CustomResource(
                    f"{name}-{namespace}-https-redirect",
                    api_version="networking.gke.io/v1beta1",
                    kind="FrontendConfig",
                    metadata=object_metadata(INGRESS_NAME, namespace, labels),
                    spec={
                        "redirectToHttps": {"enabled": True, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"}
                    },
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.routing.ready)),
                )
                annotations["networking.gke.io/v1beta1.FrontendConfig"] = INGRESS_NAME
                redirects.append(redirect)
            ingress = k8s.networking.v1.Ingress(
                f"{name}-{namespace}-ingress",
                metadata=object_metadata(INGRESS_NAME, namespace, labels, annotations or None),
                spec=spec,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[*_services(routes), *args.routing.ready, *redirects]
                ),
            )
            ingresses.append(ingress)
        return ingresses


def _load_balancer_address(status) -> str | None:
    """networking.k8s.io/v1 IngressStatus: the first load balancer entry's host name (ALB) or IP."""
    entries = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    if not entries:
        return None
    return entries[0].hostname or entries[0].ip


def _listeners(tls: EntryTls | None) -> list[dict]:
    # Only team namespaces may attach routes to the shared entry point.
    team_routes = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {TEAM_NAMESPACE_LABEL: "true"}}}
    }
    if tls is None:
        return [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": team_routes}]
    https: dict = {"name": "https", "protocol": "HTTPS", "port": 443, "allowedRoutes": team_routes}
    if tls.secret_name is not None:
        # Without certificateRefs the implementation brings the certificate (GKE: the certmap
        # annotation, "Secure a Gateway"); the CRD allows an HTTPS listener without tls.
        https["tls"] = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": tls.secret_name}]}
    # Port 80 serves the platform's redirect (and cert-manager's HTTP-01 challenges), both in the
    # gateway namespace: no team route can answer in plain HTTP.
    http = {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}}
    return [http, https]


def _backend_ref(backend: Backend) -> dict:
    ref: dict = {"name": backend.service, "port": backend.port, "weight": backend.weight}
    if backend.namespace is not None:
        ref["namespace"] = backend.namespace
    return ref


def _services(routes: list[RouteSpec]) -> list[pulumi.Resource]:
    return [route.service for route in routes if route.service is not None]
