"""examples/program: another Pulumi program built from the components runs under the offline
engine and declares the cluster and the model service it asks for."""

from __future__ import annotations

import runpy

import yaml

from plan.engine import PROJECT_DIR, run_program

PROGRAM = PROJECT_DIR / "examples" / "program"


def test_the_example_program_declares_a_cluster_and_a_model_service():
    assert yaml.safe_load((PROGRAM / "Pulumi.yaml").read_text())["name"] == "sentiment-serving"
    record = run_program(
        PROGRAM / "Pulumi.dev.yaml", program=lambda: runpy.run_path(str(PROGRAM / "__main__.py"))
    )
    types = {resource.type for resource in record.resources}
    assert {
        "mlplatform:gcp:Platform",
        "mlplatform:k8s:ModelService",
        "gcp:container/cluster:Cluster",
    } <= types
    [deployment] = record.of_type("kubernetes:apps/v1:Deployment")
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "europe-west4-docker.pkg.dev/acme-nlp-dev/dev-models/sentiment:1.4.2"
    assert deployment.inputs["metadata"]["namespace"] == "nlp"
    assert record.outputs["endpoint"] and "kind: Config" in record.outputs["kubeconfig"]
