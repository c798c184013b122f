"""Stack outputs: one structured output per cluster (name, endpoint, kubeconfig as a secret,
registry URL, bucket names), what `pulumi stack output <cluster>` shows."""

from __future__ import annotations

import asyncio

import pulumi
from pulumi.runtime import settings

from plan.engine import PROJECT_DIR
from stacks import load_stack_file
from stacks.platform import build_platform, export_outputs

STACKS = {
    "gcp": PROJECT_DIR / "Pulumi.dev.yaml",
    "aws": PROJECT_DIR / "examples" / "aws-eks.yaml",
    "azure": PROJECT_DIR / "examples" / "azure-aks.yaml",
}


def test_each_cluster_exports_how_to_reach_it_and_where_its_artifacts_go(run_components):
    for cloud, stack_file in STACKS.items():
        exported = {}

        def program(stack_file=stack_file, exported=exported):
            export_outputs(build_platform(load_stack_file(stack_file)))
            exported.update(settings.get_root_resource().outputs)

        record = run_components(program, stack_file)
        [(name, output)] = record.outputs.items()
        assert output["cloud"] == cloud
        assert {"name", "endpoint", "kubeconfig", "registry", "buckets"} <= set(output), cloud
        assert output["endpoint"] and output["registry"] and output["buckets"], cloud
        assert "kind: Config" in output["kubeconfig"]
        # The kubeconfig is exported as a secret (its future resolved during the run).
        assert is_secret(exported[name]["kubeconfig"]), cloud
        assert not is_secret(exported[name]["endpoint"]), cloud


def is_secret(output: pulumi.Output) -> bool:
    # Resolved during the run: awaiting a done future needs no running engine.
    return asyncio.run(output.is_secret())
