"""`cloud: existing`: a kubeconfig context and pools declared by the labels/taints nodes carry."""

from __future__ import annotations

import pytest
import yaml

from plan.engine import PROJECT_DIR, run_program
from tests.helpers import dig, one, shipped_plan


@pytest.fixture(scope="module")
def existing_plan():
    return shipped_plan(PROJECT_DIR / "examples" / "existing-cluster.yaml")


def test_no_cloud_resources_only_kubernetes(existing_plan):
    packages = {r.type.split(":")[0] for r in existing_plan.resources if r.custom}
    assert packages == {"kubernetes", "pulumi"}
    provider = one(existing_plan, "pulumi:providers:kubernetes").inputs
    assert provider["context"] == "dgx-prod"


def test_pools_are_selected_by_the_declared_node_labels_and_taints(existing_plan):
    pod = dig(one(existing_plan, "kubernetes:apps/v1:Deployment").inputs, "spec.template.spec")
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    assert pod["containers"][0]["image"] == "registry.lab.acme.example/mirror/vllm-openai:v0.11.0"
    job = one(existing_plan, "kubernetes:batch/v1:Job").inputs["spec"]
    assert (job["parallelism"], job["completions"], job["completionMode"]) == (2, 2, "Indexed")
    assert dig(job, "template.spec.restartPolicy") == "Never"


def test_ingress_uses_the_clusters_own_controller_class(existing_plan):
    ingress = one(existing_plan, "kubernetes:networking.k8s.io/v1:Ingress").inputs
    assert ingress["spec"]["ingressClassName"] == "nginx-internal"
    assert dig(ingress, "spec.rules.0.host") == "ml.lab.acme.example"


def test_ingress_serves_the_named_tls_secret(existing_plan):
    ingress = one(existing_plan, "kubernetes:networking.k8s.io/v1:Ingress").inputs
    assert ingress["spec"]["tls"] == [{"secretName": "ml-lab-tls", "hosts": ["ml.lab.acme.example"]}]
    assert "cert-manager.io/cluster-issuer" not in ingress["metadata"].get("annotations", {})


def test_a_gateway_serves_the_secret_that_cert_manager_keeps_filled(write_stack):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    document["config"]["mlplatform:clusters"]["dgx"]["routing"] = {
        "mode": "gateway",
        "className": "istio",
        "hosts": ["ml.lab.acme.example"],
        "tls": {"secretName": "ml-lab-tls", "clusterIssuer": "lab-ca"},
    }
    record = run_program(write_stack(document))
    gateway = one(record, "kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs
    https = next(lis for lis in gateway["spec"]["listeners"] if lis["name"] == "https")
    assert https["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"kind": "Secret", "name": "ml-lab-tls"}],
    }
    certificate = one(record, "kubernetes:cert-manager.io/v1:Certificate").inputs
    assert certificate["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    assert certificate["spec"]["secretName"] == "ml-lab-tls"
    assert certificate["spec"]["dnsNames"] == ["ml.lab.acme.example"]
    assert certificate["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "lab-ca",
    }
