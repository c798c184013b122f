"""Kubernetes workload rules: a compliant and a violating object (or stack) for every rule."""

from __future__ import annotations

import pytest

from policies.rules.kubernetes import image_tag, selector_matches
from tests.policies.support import DELETE, bad, messages, ok, patched, provider, resource, run, urn

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"

PROBE = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
CONTAINER = {
    "name": "server",
    "image": "europe-west4-docker.pkg.dev/acme/models/sentiment:1.4.2",
    "ports": [{"name": "http", "containerPort": 8080}],
    "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "8Gi"}},
    "readinessProbe": PROBE,
    "livenessProbe": PROBE,
    "startupProbe": PROBE,
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
}
POD_SPEC = {
    "serviceAccountName": "sentiment",
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "containers": [CONTAINER],
}
LABELS = {"app.kubernetes.io/name": "sentiment"}
DEPLOYMENT_PROPS = {
    "metadata": {"name": "sentiment", "namespace": "ml"},
    "spec": {
        "selector": {"matchLabels": LABELS},
        "template": {"metadata": {"labels": LABELS}, "spec": POD_SPEC},
    },
}
JOB_PROPS = {
    "metadata": {"name": "train", "namespace": "ml"},
    "spec": {
        "backoffLimit": 4,
        "activeDeadlineSeconds": 86400,
        "template": {
            "metadata": {"labels": {"job": "train"}},
            "spec": {**POD_SPEC, "restartPolicy": "Never"},
        },
    },
}
CRON_JOB_PROPS = {
    "metadata": {"name": "nightly", "namespace": "ml"},
    "spec": {
        "schedule": "0 2 * * *",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": JOB_PROPS["spec"]},
    },
}
HPA_PROPS = {
    "metadata": {"name": "sentiment", "namespace": "ml"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sentiment"},
        "minReplicas": 2,
        "maxReplicas": 6,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}],
    },
}
PDB_PROPS = {
    "metadata": {"name": "sentiment", "namespace": "ml"},
    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": LABELS}},
}
DENY_ALL = {
    "metadata": {"name": "default-deny", "namespace": "ml"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}
GPU_SCHEDULING = {
    "spec.template.spec.nodeSelector": {
        "mlplatform.io/pool": "gpu-t4",
        "cloud.google.com/gke-accelerator": "t4",
    },
    "spec.template.spec.tolerations": [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ],
}


def deployment(name: str = "web", **changes) -> object:
    return resource(DEPLOYMENT, name, patched(DEPLOYMENT_PROPS, changes))


def workload(type_token: str, props: dict, **changes) -> object:
    return resource(type_token, "w", patched(props, changes))


def gpu_deployment(resources: dict | None = None, **changes) -> object:
    """A pod asking for one GPU (in limits unless `resources` says otherwise), on the GPU pool."""
    resources = resources or {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"memory": "8Gi", "nvidia.com/gpu": "1"},
    }
    props = patched(
        DEPLOYMENT_PROPS, {**GPU_SCHEDULING, "spec.template.spec.containers.0.resources": resources}
    )
    return resource(DEPLOYMENT, "gpu", patched(props, changes))


def hpa(**changes) -> object:
    return resource(HPA, "web-hpa", patched(HPA_PROPS, changes))


def scaled_object(**changes) -> object:
    """A KEDA ScaledObject idle at zero, serving on at least two replicas."""
    props = {
        "metadata": {"name": "sentiment", "namespace": "ml"},
        "spec": {
            "scaleTargetRef": {"name": "sentiment"},
            "idleReplicaCount": 0,
            "minReplicaCount": 2,
            "maxReplicaCount": 6,
            "triggers": [{"type": "prometheus", "metadata": {"query": "sum(x)", "threshold": "4"}}],
        },
    }
    return resource(SCALED_OBJECT, "web-scaler", patched(props, changes))


def pdb(**changes) -> object:
    return resource(PDB, "web-pdb", patched(PDB_PROPS, changes))


def netpol(name: str = "deny", **changes) -> object:
    return resource(NETWORK_POLICY, name, patched(DENY_ALL, changes))


C0 = "spec.template.spec.containers.0"

# Image provenance: a cluster's Kubernetes provider, its admission objects and a workload on it.
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
REGISTRY = "europe-west4-docker.pkg.dev/acme/models/"
EKS_K8S = provider("kubernetes", "main-k8s", {})
GKE_COMPONENT = urn("mlplatform:gcp:Cluster", "main")
GKE_K8S = resource("pulumi:providers:kubernetes", "main-k8s", {}, parent=GKE_COMPONENT)


def vap(prefixes: str = f'["{REGISTRY}"]', actions: tuple[str, ...] = ("Deny",)) -> tuple:
    name = {"name": "mlplatform-image-provenance"}
    return (
        resource(
            VAP,
            "main-image-policy-policy",
            {"metadata": name, "spec": {"variables": [{"name": "allowedPrefixes", "expression": prefixes}]}},
            provider=EKS_K8S,
        ),
        resource(
            VAP_BINDING,
            "main-image-policy-binding",
            {"metadata": name, "spec": {"policyName": name["name"], "validationActions": list(actions)}},
            provider=EKS_K8S,
        ),
    )


def on_cluster(k8s_provider, image: str = REGISTRY + "sentiment:1.4.2") -> object:
    return resource(
        DEPLOYMENT, "web", patched(DEPLOYMENT_PROPS, {f"{C0}.image": image}), provider=k8s_provider
    )


def binary_authorization(enforced: str = "PROJECT_SINGLETON_POLICY_ENFORCE") -> tuple:
    return (
        resource("mlplatform:gcp:Cluster", "main", {}),
        GKE_K8S,
        resource(
            "gcp:container/cluster:Cluster",
            "main",
            {"binaryAuthorization": {"evaluationMode": enforced}},
            parent=GKE_COMPONENT,
        ),
        resource(
            "gcp:binaryauthorization/policy:Policy",
            "main-binary-authorization",
            {
                "defaultAdmissionRule": {"evaluationMode": "ALWAYS_DENY"},
                "admissionWhitelistPatterns": [{"namePattern": REGISTRY + "**"}],
            },
            parent=GKE_COMPONENT,
        ),
    )


CASES = [
    ok("k8s-image-pinned", "version tag", deployment()),
    ok("k8s-image-pinned", "digest", deployment(**{f"{C0}.image": "repo/model@sha256:" + "a" * 64})),
    ok("k8s-image-pinned", "registry port", deployment(**{f"{C0}.image": "registry.lab:5000/model:2.0"})),
    bad(
        "k8s-image-pinned",
        "latest",
        "moving tag 'latest'",
        deployment(**{f"{C0}.image": "repo/model:latest"}),
    ),
    bad(
        "k8s-image-pinned", "untagged", "has no tag", deployment(**{f"{C0}.image": "registry.lab:5000/model"})
    ),
    bad(
        "k8s-image-pinned",
        "cronjob init container",
        "init container fetch image 'busybox:latest'",
        workload(
            CRON_JOB,
            CRON_JOB_PROPS,
            **{
                "spec.jobTemplate.spec.template.spec.initContainers": [
                    {"name": "fetch", "image": "busybox:latest"}
                ]
            },
        ),
    ),
    ok("k8s-resources", "requests and memory limit", deployment()),
    bad(
        "k8s-resources", "no limits", "has no limits.memory", deployment(**{f"{C0}.resources.limits": DELETE})
    ),
    bad(
        "k8s-resources",
        "no cpu request",
        "requests.cpu",
        deployment(**{f"{C0}.resources.requests.cpu": DELETE}),
    ),
    bad(
        "k8s-resources",
        "cpu limit required by config",
        "limits.cpu",
        deployment(),
        config={"requiredLimits": ["cpu", "memory"]},
    ),
    ok("k8s-probes", "all probes", deployment()),
    ok(
        "k8s-probes",
        "jobs need none",
        workload(JOB, JOB_PROPS, **{"spec.template.spec.containers.0.livenessProbe": DELETE}),
    ),
    bad(
        "k8s-probes", "no readiness", "has no readinessProbe", deployment(**{f"{C0}.readinessProbe": DELETE})
    ),
    bad(
        "k8s-probes",
        "startup required by config",
        "startupProbe",
        deployment(**{f"{C0}.startupProbe": DELETE}),
        config={"requiredProbes": ["readinessProbe", "livenessProbe", "startupProbe"]},
    ),
    ok("k8s-run-as-non-root", "pod-level non-root", deployment()),
    ok(
        "k8s-run-as-non-root",
        "container user only",
        deployment(**{"spec.template.spec.securityContext": {}, f"{C0}.securityContext.runAsUser": 1000}),
    ),
    bad(
        "k8s-run-as-non-root",
        "unset",
        "may run as root",
        deployment(**{"spec.template.spec.securityContext": {}}),
    ),
    bad(
        "k8s-run-as-non-root",
        "root user",
        "runs as user 0",
        deployment(**{f"{C0}.securityContext.runAsUser": 0}),
    ),
    ok("k8s-read-only-root-filesystem", "read-only", deployment()),
    bad(
        "k8s-read-only-root-filesystem",
        "writable",
        "writable root filesystem",
        deployment(**{f"{C0}.securityContext.readOnlyRootFilesystem": False}),
    ),
    ok("k8s-no-privilege-escalation", "locked down", deployment()),
    bad(
        "k8s-no-privilege-escalation",
        "escalation unset",
        "allowPrivilegeEscalation: false",
        deployment(**{f"{C0}.securityContext.allowPrivilegeEscalation": DELETE}),
    ),
    bad(
        "k8s-no-privilege-escalation",
        "privileged",
        "is privileged",
        deployment(**{f"{C0}.securityContext.privileged": True}),
    ),
    ok("k8s-drop-capabilities", "drop all", deployment()),
    ok(
        "k8s-drop-capabilities",
        "allowed add",
        deployment(**{f"{C0}.securityContext.capabilities.add": ["NET_BIND_SERVICE"]}),
    ),
    bad(
        "k8s-drop-capabilities",
        "keeps all",
        "does not drop ALL",
        deployment(**{f"{C0}.securityContext.capabilities": {}}),
    ),
    bad(
        "k8s-drop-capabilities",
        "adds sys admin",
        "adds capabilities SYS_ADMIN",
        deployment(**{f"{C0}.securityContext.capabilities.add": ["SYS_ADMIN"]}),
    ),
    ok("k8s-seccomp", "runtime default", deployment()),
    bad(
        "k8s-seccomp",
        "unconfined",
        "seccomp profile",
        deployment(**{"spec.template.spec.securityContext.seccompProfile": {"type": "Unconfined"}}),
    ),
    ok("k8s-no-host-namespaces", "isolated", deployment()),
    bad(
        "k8s-no-host-namespaces",
        "host network",
        "hostNetwork: true",
        deployment(**{"spec.template.spec.hostNetwork": True}),
    ),
    bad(
        "k8s-no-host-namespaces",
        "host path",
        "mounts host path /var/run",
        deployment(**{"spec.template.spec.volumes": [{"name": "sock", "hostPath": {"path": "/var/run"}}]}),
    ),
    bad(
        "k8s-no-host-namespaces",
        "host port",
        "binds host port 8080",
        deployment(**{f"{C0}.ports.0.hostPort": 8080}),
    ),
    ok("k8s-no-default-namespace", "team namespace", deployment()),
    bad(
        "k8s-no-default-namespace",
        "implicit default",
        "default namespace",
        deployment(**{"metadata.namespace": DELETE}),
    ),
    ok(
        "k8s-service-account-token",
        "not automounted",
        resource(
            SERVICE_ACCOUNT,
            "sa",
            {"metadata": {"name": "sa", "namespace": "ml"}, "automountServiceAccountToken": False},
        ),
    ),
    bad(
        "k8s-service-account-token",
        "automounted by default",
        "automounts its token",
        resource(SERVICE_ACCOUNT, "sa", {"metadata": {"name": "sa", "namespace": "ml"}}),
    ),
    ok("k8s-accelerator-scheduling", "cpu pod", deployment()),
    ok("k8s-accelerator-scheduling", "gpu pod on its pool", gpu_deployment()),
    bad(
        "k8s-accelerator-scheduling",
        "gpu without toleration",
        "without a toleration for the accelerator taint",
        gpu_deployment(**{"spec.template.spec.tolerations": []}),
    ),
    bad(
        "k8s-accelerator-scheduling",
        "gpu without selector",
        "without a node selector",
        gpu_deployment(**{"spec.template.spec.nodeSelector": {"kubernetes.io/os": "linux"}}),
    ),
    bad(
        "k8s-accelerator-scheduling",
        "cpu pod tolerating gpu taint",
        "could keep an accelerator node awake",
        deployment(**{"spec.template.spec.tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}),
    ),
    ok("k8s-hpa-bounds", "2..6 on cpu", hpa()),
    bad(
        "k8s-hpa-bounds",
        "min above max",
        "minReplicas 8 is greater than maxReplicas 6",
        hpa(**{"spec.minReplicas": 8}),
    ),
    bad("k8s-hpa-bounds", "no metrics", "spec.metrics is empty", hpa(**{"spec.metrics": []})),
    ok("k8s-ha-replicas", "hpa min 2", deployment("sentiment"), hpa()),
    ok(
        "k8s-ha-replicas",
        "dev allows 1",
        deployment("sentiment"),
        hpa(**{"spec.minReplicas": 1}),
        config={"minReplicas": 1},
    ),
    bad(
        "k8s-ha-replicas",
        "hpa min 1",
        "can run 1 replica(s) (HPA minReplicas); this stack requires at least 2",
        deployment("sentiment"),
        hpa(**{"spec.minReplicas": 1}),
    ),
    ok(
        "k8s-ha-replicas",
        "scaled to zero when idle, two while serving",
        deployment("sentiment"),
        scaled_object(),
    ),
    bad(
        "k8s-ha-replicas",
        "scaled object serving on one",
        "can run 1 replica(s) (ScaledObject minReplicaCount); this stack requires at least 2",
        deployment("sentiment"),
        scaled_object(**{"spec.minReplicaCount": 1}),
    ),
    bad(
        "k8s-ha-replicas",
        "no hpa, replicas unset",
        "can run 1 replica(s) (spec.replicas)",
        deployment("sentiment"),
    ),
    ok("k8s-hpa-owns-replicas", "replicas left to the hpa", deployment("sentiment"), hpa()),
    ok(
        "k8s-hpa-owns-replicas", "fixed replicas without hpa", deployment("sentiment", **{"spec.replicas": 3})
    ),
    bad(
        "k8s-hpa-owns-replicas",
        "both",
        "Deployment ml/sentiment sets spec.replicas 3 although an HPA scales it",
        deployment("sentiment", **{"spec.replicas": 3}),
        hpa(),
    ),
    ok("k8s-pod-disruption-budget", "budget selects the pods", deployment("sentiment"), hpa(), pdb()),
    ok("k8s-pod-disruption-budget", "single replica needs none", deployment("sentiment")),
    bad(
        "k8s-pod-disruption-budget",
        "replicated without budget",
        "runs up to 6 replicas without a PodDisruptionBudget",
        deployment("sentiment"),
        hpa(),
        pdb(**{"spec.selector.matchLabels": {"app.kubernetes.io/name": "other"}}),
    ),
    ok(
        "k8s-pod-disruption-budget",
        "budget selects by expression",
        deployment("sentiment"),
        hpa(),
        pdb(
            **{
                "spec.selector": {
                    "matchExpressions": [
                        {"key": "app.kubernetes.io/name", "operator": "In", "values": ["sentiment"]}
                    ]
                }
            }
        ),
    ),
    bad(
        "k8s-pod-disruption-budget",
        "budget in another namespace",
        "runs up to 6 replicas without a PodDisruptionBudget",
        deployment("sentiment"),
        hpa(),
        pdb(**{"metadata.namespace": "serving"}),
    ),
    bad(
        "k8s-pod-disruption-budget",
        "budget needs a label the pods lack",
        "runs up to 6 replicas without a PodDisruptionBudget",
        deployment("sentiment"),
        hpa(),
        pdb(**{"spec.selector.matchLabels": {**LABELS, "a-label-sorted-first": "x"}}),
    ),
    bad(
        "k8s-pod-disruption-budget",
        "budget needs another label the pods lack",
        "runs up to 6 replicas without a PodDisruptionBudget",
        deployment("sentiment"),
        hpa(),
        pdb(**{"spec.selector.matchLabels": {**LABELS, "zz-label-sorted-last": "x"}}),
    ),
    bad(
        "k8s-pod-disruption-budget",
        "budget blocks drains",
        "node drains would block",
        deployment("sentiment"),
        hpa(),
        pdb(**{"spec.maxUnavailable": DELETE, "spec.minAvailable": 2}),
    ),
    ok("k8s-cronjob-limits", "bounded", workload(CRON_JOB, CRON_JOB_PROPS)),
    bad(
        "k8s-cronjob-limits",
        "allow concurrency",
        "concurrencyPolicy is Allow",
        workload(CRON_JOB, CRON_JOB_PROPS, **{"spec.concurrencyPolicy": "Allow"}),
    ),
    bad(
        "k8s-cronjob-limits",
        "no history limits",
        "spec.failedJobsHistoryLimit is not set",
        workload(CRON_JOB, CRON_JOB_PROPS, **{"spec.failedJobsHistoryLimit": DELETE}),
    ),
    ok("k8s-job-limits", "bounded job", workload(JOB, JOB_PROPS)),
    ok("k8s-job-limits", "bounded cronjob", workload(CRON_JOB, CRON_JOB_PROPS)),
    bad(
        "k8s-job-limits",
        "no deadline",
        "spec.activeDeadlineSeconds is not set",
        workload(JOB, JOB_PROPS, **{"spec.activeDeadlineSeconds": DELETE}),
    ),
    bad(
        "k8s-job-limits",
        "cronjob restarts always",
        "restartPolicy is Always",
        workload(CRON_JOB, CRON_JOB_PROPS, **{"spec.jobTemplate.spec.template.spec.restartPolicy": "Always"}),
    ),
    bad(
        "k8s-job-limits",
        "too many retries",
        "backoffLimit is 50; at most 10",
        workload(JOB, JOB_PROPS, **{"spec.backoffLimit": 50}),
    ),
    ok("k8s-default-deny-network-policy", "deny all in ml", deployment(), netpol()),
    bad(
        "k8s-default-deny-network-policy",
        "deny in another namespace",
        "namespace ml runs workloads (e.g. sentiment) without a default-deny NetworkPolicy for "
        "Ingress, Egress",
        deployment(),
        netpol(**{"metadata.namespace": "other"}),
    ),
    bad(
        "k8s-default-deny-network-policy",
        "ingress only",
        "for Egress",
        deployment(),
        netpol(**{"spec.policyTypes": ["Ingress"]}),
    ),
    bad(
        "k8s-default-deny-network-policy",
        "selective policy is no default deny",
        "without a default-deny NetworkPolicy",
        deployment(),
        netpol(**{"spec.podSelector": {"matchLabels": LABELS}}),
    ),
    ok("image-provenance", "eks registry under a deny binding", EKS_K8S, *vap(), on_cluster(EKS_K8S)),
    ok("image-provenance", "gke binary authorization", *binary_authorization(), on_cluster(GKE_K8S)),
    bad(
        "image-provenance",
        "docker hub",
        "runs 'docker.io/library/nginx:1.27', outside the admitted registries",
        EKS_K8S,
        *vap(),
        on_cluster(EKS_K8S, "docker.io/library/nginx:1.27"),
    ),
    bad(
        "image-provenance",
        "a look-alike path",
        "outside the admitted registries",
        EKS_K8S,
        *vap(),
        on_cluster(EKS_K8S, REGISTRY.rstrip("/") + "-evil/x:1"),
    ),
    bad(
        "image-provenance",
        "audit only",
        "admission control does not limit where images come from",
        EKS_K8S,
        *vap(actions=("Audit",)),
        on_cluster(EKS_K8S),
    ),
    bad(
        "image-provenance",
        "no admission policy",
        "admission control does not limit",
        EKS_K8S,
        on_cluster(EKS_K8S),
    ),
    bad(
        "image-provenance",
        "binary authorization not enforced by the cluster",
        "admission control does not limit",
        *binary_authorization("DISABLED"),
        on_cluster(GKE_K8S),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(case):
    case.check()


def test_tpu_pods_need_the_gke_tpu_selectors():
    tpu = deployment(
        **{
            "spec.template.spec.nodeSelector": {"mlplatform.io/pool": "tpu-v5e"},
            "spec.template.spec.tolerations": [{"key": "google.com/tpu", "operator": "Exists"}],
            f"{C0}.resources": {
                "requests": {"cpu": "2", "memory": "8Gi"},
                "limits": {"memory": "8Gi", "google.com/tpu": "4"},
            },
        }
    )
    found = messages("k8s-accelerator-scheduling", tpu)
    assert found == [
        "requests google.com/tpu without the GKE TPU selectors "
        "cloud.google.com/gke-tpu-accelerator, cloud.google.com/gke-tpu-topology"
    ]


def test_gpu_feature_discovery_labels_select_gpu_nodes_of_existing_clusters():
    dgx = gpu_deployment(
        **{"spec.template.spec.nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}}
    )
    assert messages("k8s-accelerator-scheduling", dgx) == []


def test_device_plugin_daemonsets_may_tolerate_gpu_taints():
    agent = workload(
        DAEMON_SET,
        DEPLOYMENT_PROPS,
        **{"spec.template.spec.tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
    )
    assert messages("k8s-accelerator-scheduling", agent) == []


def test_gpu_requested_only_in_requests_is_reported():
    found = messages(
        "k8s-accelerator-scheduling",
        gpu_deployment(
            {"requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"}, "limits": {"memory": "8Gi"}}
        ),
    )
    assert found == [
        "container server requests nvidia.com/gpu but does not set it in limits "
        "(extended resources need limits)"
    ]


def test_statefulsets_count_and_hpas_in_other_namespaces_do_not():
    stateful = resource(STATEFUL_SET, "db", patched(DEPLOYMENT_PROPS, {"metadata.name": "sentiment"}))
    elsewhere = hpa(**{"metadata.namespace": "other", "spec.scaleTargetRef.kind": "StatefulSet"})
    report = run("k8s-ha-replicas", stateful, elsewhere)
    assert [v.message for v in report.violations] == [
        "StatefulSet ml/sentiment can run 1 replica(s) (spec.replicas); this stack requires at least 2"
    ]
    assert report.violations[0].resource_name == "db"


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("model:1.2", "1.2"),
        ("registry:5000/team/model", None),
        ("registry:5000/team/model:3", "3"),
        ("model@sha256:abc", None),
        ("model:1.0@sha256:abc", "1.0"),
    ],
)
def test_image_tag(image, tag):
    assert image_tag(image) == tag


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
        ({}, {"any": "pod"}, True),
    ],
)
def test_selector_matches(selector, labels, matches):
    assert selector_matches(selector, labels) is matches
