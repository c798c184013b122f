"""A team's namespace: restricted pod security, RBAC, default-deny network, quota and limits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import GPU_RESOURCE, TPU_RESOURCE
from components.handle import Egress
from components.k8s.pod import object_metadata

TEAM_NAMESPACE_LABEL = "mlplatform.io/team-namespace"

# What a deployer manages in its namespace (no RBAC, no quota changes: those are the platform's).
MANAGE = ["get", "list", "watch", "create", "update", "patch", "delete"]
DEPLOYER_RULES = [
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "deployments/scale", "replicasets"],
        "verbs": MANAGE,
    },
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": MANAGE},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": MANAGE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": MANAGE},
    {"apiGroups": [""], "resources": ["services", "configmaps"], "verbs": MANAGE},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log", "events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    # kubectl exec and port-forward: a POST (verb create), or a WebSocket upgrade, a GET that
    # Kubernetes 1.35+ also authorizes as create (AuthorizePodWebsocketUpgradeCreatePermission,
    # CHANGELOG-1.35); older servers authorize the GET as get.
    {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
    # What their pods run as and are configured with, to debug a rollout (no secrets: those stay
    # with the platform and the cloud's secret manager).
    {
        "apiGroups": [""],
        "resources": ["serviceaccounts", "resourcequotas", "limitranges"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": MANAGE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": MANAGE},
]


@dataclass(frozen=True)
class QuotaLimits:
    cpu: str
    memory: str
    gpu: int = 0
    tpu: int = 0
    pods: int = 200


@dataclass(frozen=True)
class TeamNamespaceArgs:
    namespace: str
    deployers: list[str] = field(default_factory=list)
    viewers: list[str] = field(default_factory=list)
    quota: QuotaLimits | None = None
    # Where serving traffic comes from: load balancer source ranges and/or a controller namespace.
    ingress_cidrs: list[str] = field(default_factory=list)
    ingress_namespace: str | None = None
    extra_egress: list[Egress] = field(default_factory=list)
    # The namespace whose Prometheus scrapes the model servers' metrics (None: nothing scrapes).
    metrics_namespace: str | None = None
    # Where the wake interceptor forwards from (namespace, its pods' labels): models at min 0.
    wake_source: tuple[str, dict[str, str]] | None = None
    labels: dict[str, str] = field(default_factory=dict)


class TeamNamespace(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace

    def __init__(self, name: str, args: TeamNamespaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:TeamNamespace", name, None, opts)
        ns = args.namespace
        labels = {
            "app.kubernetes.io/part-of": "mlplatform",
            "app.kubernetes.io/managed-by": "pulumi",
            **args.labels,
        }
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=object_metadata(
                ns,
                None,
                {
                    **labels,
                    TEAM_NAMESPACE_LABEL: "true",
                    # Every pod here must meet the restricted Pod Security Standard.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        if args.deployers:
            role = k8s.rbac.v1.Role(
                f"{name}-deployer",
                metadata=object_metadata("deployer", ns, labels),
                rules=DEPLOYER_RULES,
                opts=child,
            )
            k8s.rbac.v1.RoleBinding(
                f"{name}-deployers",
                metadata=object_metadata("deployers", ns, labels),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
                subjects=_groups(args.deployers),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
            )
        if args.viewers:
            k8s.rbac.v1.RoleBinding(
                f"{name}-viewers",
                metadata=object_metadata("viewers", ns, labels),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                subjects=_groups(args.viewers),
                opts=child,
            )

        for policy_name, spec in self._network_policies(args).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=object_metadata(policy_name, ns, labels),
                spec=spec,
                opts=child,
            )

        if args.quota is not None:
            hard = {
                "requests.cpu": args.quota.cpu,
                "requests.memory": args.quota.memory,
                "limits.cpu": args.quota.cpu,
                "limits.memory": args.quota.memory,
                f"requests.{GPU_RESOURCE}": str(args.quota.gpu),
                f"requests.{TPU_RESOURCE}": str(args.quota.tpu),
                "pods": str(args.quota.pods),
            }
            k8s.core.v1.ResourceQuota(
                f"{name}-quota",
                metadata=object_metadata("team-quota", ns, labels),
                spec={"hard": hard},
                opts=child,
            )
        # Defaults for containers that forget requests/limits (quota admission needs them).
        k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=object_metadata("container-defaults", ns, labels),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "default": {"cpu": "500m", "memory": "512Mi"},
                    }
                ]
            },
            opts=child,
        )
        self.register_outputs({"namespace": self.namespace.metadata["name"]})

    @staticmethod
    def _network_policies(args: TeamNamespaceArgs) -> dict[str, dict]:
        egress = [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            },
            # Cloud APIs (object storage, token exchange) and model hubs, over TLS only; never
            # the node's metadata endpoint (credentials come from workload identity).
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
                "ports": [{"protocol": "TCP", "port": 443}],
            },
        ]
        for rule in args.extra_egress:
            egress.append(
                {
                    "to": [{"ipBlock": {"cidr": rule.cidr}}],
                    "ports": [{"protocol": rule.protocol, "port": rule.port}],
                }
            )

        sources: list[dict] = [{"ipBlock": {"cidr": cidr}} for cidr in args.ingress_cidrs]
        if args.ingress_namespace:
            sources.append(
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": args.ingress_namespace}
                    }
                }
            )
        serving_ingress: dict = {"ports": [{"protocol": "TCP", "port": "http"}]}
        if sources:
            serving_ingress["from"] = sources
        ingress = [serving_ingress]
        if args.wake_source is not None:
            # The KEDA HTTP add-on's interceptor forwards a woken model's requests to its pods.
            namespace, pod_labels = args.wake_source
            ingress.append(
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                            "podSelector": {"matchLabels": dict(pod_labels)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": "http"}],
                }
            )
        if args.metrics_namespace:
            # Prometheus scrapes the server's metrics: on the serving port (vLLM) or its own
            # named port `metrics` (Triton, TorchServe).
            ingress.append(
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": args.metrics_namespace}
                            }
                        }
                    ],
                    "ports": [
                        {"protocol": "TCP", "port": "http"},
                        {"protocol": "TCP", "port": "metrics"},
                    ],
                }
            )
        return {
            "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            "allow-egress": {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
            "allow-serving": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/component": "model-server"}},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        }


def peers_policy(pod_labels: dict[str, str]) -> dict:
    """A NetworkPolicy spec letting one workload's pods (a distributed job's ranks) reach each
    other on any port, and nothing else: the namespace's default-deny blocks pod-to-pod traffic
    both ways, so it allows ingress from and egress to exactly those pods. No port list: NCCL and
    the TPU runtime pick their ports at run time, beyond the rendezvous port."""
    peers = [{"podSelector": {"matchLabels": pod_labels}}]
    return {
        "podSelector": {"matchLabels": pod_labels},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": peers}],
        "egress": [{"to": peers}],
    }


def _groups(names: list[str]) -> list[dict]:
    return [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group} for group in names]
