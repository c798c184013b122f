"""The CEL rules (`x-kubernetes-validations`) of the CRDs the platform renders, as plain checks.

The @kubernetes-models validators (tests/manifests/validate_crds.mjs) check a custom resource
against the OpenAPI part of its CRD only. The API server also evaluates the CRD's CEL rules on
admission, and a controller ignores an object that fails them (a HealthCheckPolicy that never
attaches, an HTTPRoute that is refused): each rule that matters here is restated below with the
CRD it comes from, CRD defaults applied first as the API server does.

Sources (read 2026-12-01):
- GKE: GoogleCloudPlatform/gke-gateway-api@983ac3d apis/networking/v1/healthcheck_types.go
  (the CEL rules of networking.gke.io/v1 HealthCheckPolicy).
- Gateway API: kubernetes-sigs/gateway-api@v1.4.0 config/crd/standard/
  gateway.networking.k8s.io_httproutes.yaml and _gateways.yaml (v1); weights from
  apis/v1/shared_types.go (BackendRef.Weight).
- KEDA HTTP add-on: kedacore/http-add-on@v0.15.0 config/crd/bases/http.keda.sh_httpscaledobjects.yaml
  (scaleTargetRef and coldStartTimeoutFailoverRef: port or portName).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

Manifest = dict[str, Any]

GATEWAY_API = "gateway.networking.k8s.io/v1"
GKE_NETWORKING = "networking.gke.io/v1"

# HealthCheckPolicy: the protocol member each `config.type` needs (HealthCheck's CEL rules).
_HEALTH_CHECK_MEMBERS = {
    "TCP": "tcpHealthCheck",
    "HTTP": "httpHealthCheck",
    "HTTPS": "httpsHealthCheck",
    "HTTP2": "http2HealthCheck",
    "GRPC": "grpcHealthCheck",
}
# checkIntervalSec and timeoutSec default to 5 (HealthCheckPolicyConfig's CEL messages).
_DEFAULT_HEALTH_CHECK_SECONDS = 5


def violations(manifest: Manifest) -> list[str]:
    """`<field path>: <CRD message>` for every CEL rule the object breaks (none for other kinds)."""
    check = _CHECKS.get((manifest.get("apiVersion", ""), manifest.get("kind", "")))
    return list(check(manifest.get("spec") or {})) if check else []


def _health_check_policy(spec: dict) -> Iterator[str]:
    default = spec.get("default")
    if default is None:
        return
    interval = default.get("checkIntervalSec", _DEFAULT_HEALTH_CHECK_SECONDS)
    timeout = default.get("timeoutSec", _DEFAULT_HEALTH_CHECK_SECONDS)
    if timeout > interval:
        yield f"spec.default: timeoutSec ({timeout}) cannot exceed checkIntervalSec ({interval})"
    config = default.get("config")
    if config is None:
        return
    member = _HEALTH_CHECK_MEMBERS.get(config.get("type", ""))
    if member and member not in config:
        yield f"spec.default.config: {member} must be specified for type {config['type']}"
    for key in _HEALTH_CHECK_MEMBERS.values():
        if key in config:
            yield from _health_check_port(f"spec.default.config.{key}", config[key])


def _health_check_port(path: str, check: dict) -> Iterator[str]:
    """CommonHealthCheck: `port` only with USE_FIXED_PORT, `portName` only with USE_NAMED_PORT;
    without portSpecification (USE_SERVING_PORT) neither may be set."""
    specification = check.get("portSpecification", "USE_SERVING_PORT")
    has_port, has_name = "port" in check, "portName" in check
    if specification == "USE_FIXED_PORT" and not (has_port and not has_name):
        yield f"{path}: for portSpecification USE_FIXED_PORT, port must be set and portName unset"
    elif specification == "USE_NAMED_PORT" and not (has_name and not has_port):
        yield f"{path}: for portSpecification USE_NAMED_PORT, portName must be set and port unset"
    elif specification == "USE_SERVING_PORT" and (has_port or has_name):
        yield (
            f"{path}: port and portName must be unset for portSpecification USE_SERVING_PORT "
            "(the default): set portSpecification USE_FIXED_PORT to probe a fixed port"
        )


# HTTPPathMatch (Exact, PathPrefix): the characters an absolute path may hold.
_PATH_CHARACTERS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_PATH_FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#")
_PATH_FORBIDDEN_ENDINGS = ("/..", "/.")
# A rule without matches matches every path (the CRD's default for `matches`).
_DEFAULT_MATCHES = [{"path": {"type": "PathPrefix", "value": "/"}}]
_MAX_MATCHES_PER_ROUTE = 128
_UNREPEATABLE_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")
# HTTPRouteFilter: the member each filter type needs and no other type may carry.
_FILTER_MEMBERS = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestMirror": "requestMirror",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
    "ExtensionRef": "extensionRef",
}
_PATH_MODIFIERS = {"ReplaceFullPath": "replaceFullPath", "ReplacePrefixMatch": "replacePrefixMatch"}


def _http_route(spec: dict) -> Iterator[str]:
    yield from _parent_refs(spec.get("parentRefs") or [])
    rules = spec.get("rules") or []
    total = sum(len(rule.get("matches", _DEFAULT_MATCHES)) for rule in rules)
    if total > _MAX_MATCHES_PER_ROUTE:
        yield f"spec.rules: {total} matches; the total across all rules must be at most 128"
    for index, rule in enumerate(rules):
        yield from _route_rule(f"spec.rules[{index}]", rule)


def _parent_refs(refs: list[dict]) -> Iterator[str]:
    """Two references to one parent must each name a distinct sectionName."""
    by_parent: dict[tuple, list[str]] = {}
    for ref in refs:
        parent = (
            ref.get("group", "gateway.networking.k8s.io"),
            ref.get("kind", "Gateway"),
            ref.get("namespace", ""),
            ref["name"],
        )
        by_parent.setdefault(parent, []).append(ref.get("sectionName", ""))
    for parent, sections in by_parent.items():
        if len(sections) > 1 and "" in sections:
            yield f"spec.parentRefs: sectionName must be set on every reference to {parent[3]}"
        elif len(set(sections)) != len(sections):
            yield f"spec.parentRefs: sectionName must be unique among the references to {parent[3]}"


def _route_rule(path: str, rule: dict) -> Iterator[str]:
    matches = rule.get("matches", _DEFAULT_MATCHES)
    backend_refs = rule.get("backendRefs") or []
    filters = rule.get("filters") or []
    for index, match in enumerate(matches):
        if "path" in match:
            yield from _path_match(f"{path}.matches[{index}].path", match["path"])
    if backend_refs and any("requestRedirect" in f for f in filters):
        yield f"{path}: a RequestRedirect filter must not be used together with backendRefs"
    single_prefix = len(matches) == 1 and matches[0].get("path", {}).get("type", "PathPrefix") == "PathPrefix"
    yield from _filters(f"{path}.filters", filters, single_prefix)
    for index, ref in enumerate(backend_refs):
        ref_path = f"{path}.backendRefs[{index}]"
        if ref.get("group", "") == "" and ref.get("kind", "Service") == "Service" and "port" not in ref:
            yield f"{ref_path}: a Service reference must have a port"
        yield from _filters(f"{ref_path}.filters", ref.get("filters") or [], single_prefix)
    # Weight 0 forwards no traffic (BackendRef.Weight): a rule whose every backend weighs 0 sends
    # all its requests nowhere. Weights default to 1.
    if backend_refs and all(ref.get("weight", 1) == 0 for ref in backend_refs):
        yield f"{path}.backendRefs: every weight is 0, so no request reaches a backend"
    timeouts = rule.get("timeouts") or {}
    request, backend = _seconds(timeouts.get("request")), _seconds(timeouts.get("backendRequest"))
    if request and backend is not None and backend > request:
        yield f"{path}.timeouts: backendRequest cannot be longer than request"


def _path_match(path: str, match: dict) -> Iterator[str]:
    kind, value = match.get("type", "PathPrefix"), match.get("value", "/")
    if kind not in ("Exact", "PathPrefix", "RegularExpression"):
        yield f"{path}: type must be one of Exact, PathPrefix, RegularExpression"
        return
    if kind != "RegularExpression":
        yield from (f"{path}: {problem}" for problem in path_problems(value))


def path_problems(value: str) -> Iterator[str]:
    """Why an HTTPRoute refuses `value` as an Exact or PathPrefix path (the config checks route
    paths with this too)."""
    if not value.startswith("/"):
        yield f"{value!r} must be an absolute path starting with '/'"
    for part in _PATH_FORBIDDEN:
        if part in value:
            yield f"{value!r} must not contain {part!r}"
    for ending in _PATH_FORBIDDEN_ENDINGS:
        if value.endswith(ending):
            yield f"{value!r} must not end with {ending!r}"
    if not _PATH_CHARACTERS.match(value):
        yield f"{value!r} has characters a path may not hold"


def _filters(path: str, filters: list[dict], single_prefix_match: bool) -> Iterator[str]:
    types = Counter(f.get("type") for f in filters)
    if types["RequestRedirect"] and types["URLRewrite"]:
        yield f"{path}: RequestRedirect and URLRewrite cannot both be used"
    for repeated in _UNREPEATABLE_FILTERS:
        if types[repeated] > 1:
            yield f"{path}: the {repeated} filter cannot be repeated"
    for index, item in enumerate(filters):
        item_path = f"{path}[{index}]"
        for kind, member in _FILTER_MEMBERS.items():
            if member in item and item.get("type") != kind:
                yield f"{item_path}: {member} must be unset unless type is {kind}"
            if member not in item and item.get("type") == kind:
                yield f"{item_path}: {member} must be set for type {kind}"
        for member in ("requestRedirect", "urlRewrite"):
            modifier = (item.get(member) or {}).get("path")
            if modifier is None:
                continue
            yield from _path_modifier(f"{item_path}.{member}.path", modifier)
            if modifier.get("type") == "ReplacePrefixMatch" and not single_prefix_match:
                # The prefix to replace is the match's: only one PathPrefix match defines it.
                yield (
                    f"{item_path}.{member}: ReplacePrefixMatch needs the rule to have exactly "
                    "one match, of type PathPrefix"
                )


def _path_modifier(path: str, modifier: dict) -> Iterator[str]:
    for kind, member in _PATH_MODIFIERS.items():
        if modifier.get("type") == kind and member not in modifier:
            yield f"{path}: {member} must be set when type is {kind}"
        if member in modifier and modifier.get("type") != kind:
            yield f"{path}: type must be {kind} when {member} is set"


_DURATION = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
_DURATION_PART = re.compile(r"([0-9]{1,5})(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _seconds(duration: str | None) -> float | None:
    """Gateway API Duration (GEP-2257: e.g. `1h30m`, `500ms`) in seconds; None when unset."""
    if duration is None or not _DURATION.match(duration):
        return None
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(duration))


_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _gateway(spec: dict) -> Iterator[str]:
    listeners = spec.get("listeners") or []
    names = Counter(listener.get("name") for listener in listeners)
    for name, count in names.items():
        if count > 1:
            yield f"spec.listeners: listener name {name!r} must be unique within the Gateway"
    bindings = Counter((lis.get("port"), lis.get("protocol"), lis.get("hostname")) for lis in listeners)
    for (port, protocol, hostname), count in bindings.items():
        if count > 1:
            yield f"spec.listeners: port {port}, protocol {protocol}, hostname {hostname} is not unique"
    for index, listener in enumerate(listeners):
        path, protocol, tls = f"spec.listeners[{index}]", listener.get("protocol"), listener.get("tls")
        if protocol in ("HTTP", "TCP", "UDP") and tls is not None:
            yield f"{path}: tls must not be set for protocol {protocol}"
        if protocol == "HTTPS" and tls is not None and tls.get("mode", "Terminate") != "Terminate":
            yield f"{path}: tls mode must be Terminate for protocol HTTPS"
        if protocol in ("TCP", "UDP") and listener.get("hostname"):
            yield f"{path}: hostname must not be set for protocol {protocol}"
        if (
            tls is not None
            and tls.get("mode", "Terminate") == "Terminate"
            and not (tls.get("certificateRefs") or tls.get("options"))
        ):
            yield f"{path}.tls: certificateRefs or options must be set when mode is Terminate"
    addresses = spec.get("addresses") or []
    for kind in ("IPAddress", "Hostname"):
        values = Counter(a["value"] for a in addresses if a.get("type", "IPAddress") == kind and "value" in a)
        for value, count in values.items():
            if count > 1:
                yield f"spec.addresses: {kind} {value!r} must be unique"
    for index, address in enumerate(addresses):
        value = address.get("value")
        if address.get("type") == "Hostname" and isinstance(value, str) and not _HOSTNAME.match(value):
            yield f"spec.addresses[{index}]: {value!r} is not a valid hostname"


def _http_scaled_object(spec: dict) -> Iterator[str]:
    for key in ("scaleTargetRef", "coldStartTimeoutFailoverRef"):
        ref = spec.get(key)
        if ref is not None and ("portName" in ref) == ("port" in ref):
            yield f"spec.{key}: must define either the 'portName' or the 'port'"


_CHECKS: dict[tuple[str, str], Callable[[dict], Iterator[str]]] = {
    ("http.keda.sh/v1alpha1", "HTTPScaledObject"): _http_scaled_object,
    (GKE_NETWORKING, "HealthCheckPolicy"): _health_check_policy,
    (GATEWAY_API, "HTTPRoute"): _http_route,
    (GATEWAY_API, "Gateway"): _gateway,
}
