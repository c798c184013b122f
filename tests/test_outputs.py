"""Stack outputs: one structured output per cluster (name, endpoint, kubeconfig as a secret,
registry URL, bucket names, the gateway address), what `pulumi stack output <cluster>` shows."""

from __future__ import annotations

import asyncio
import re

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
        # Where the hosts' DNS records point: the address the load balancer answers on.
        assert re.fullmatch(ADDRESS_FORMS[cloud], output["gatewayAddress"]), (cloud, output["gatewayAddress"])


# GKE: the reserved global IP (A record); EKS: the ALB's DNS name, AKS: AGC's frontend FQDN (CNAME).
ADDRESS_FORMS = {
    "gcp": r"\d+\.\d+\.\d+\.\d+",
    "aws": r"k8s-[a-z0-9-]+\.elb\.amazonaws\.com",
    "azure": r"[a-z0-9.-]+\.alb\.azure\.com",
}


def test_the_gke_gateway_asks_for_the_reserved_address_its_hosts_point_at(dev_plan):
    (address,) = dev_plan.of_type("gcp:compute/globalAddress:GlobalAddress")
    (gateway,) = dev_plan.of_type("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert gateway.inputs["spec"]["addresses"] == [{"type": "NamedAddress", "value": address.inputs["name"]}]


def test_without_host_names_no_address_is_reserved(plan_of, dev_config):
    routing = dev_config["config"]["mlplatform:clusters"]["main"]["routing"]
    routing.pop("hosts", None)
    routing["insecureHttp"] = True
    record = plan_of(dev_config)
    assert record.of_type("gcp:compute/globalAddress:GlobalAddress") == []


def is_secret(output: pulumi.Output) -> bool:
    # Resolved during the run: awaiting a done future needs no running engine.
    return asyncio.run(output.is_secret())
