"""One offline run of the AKS example for every component test of this package.

The platform is declared directly (not through __main__) so the test can also export what
only the components know (the kubelet identity, the OIDC issuer, a binding's principal) and
keep the cluster handle; the workloads are added exactly as the stack wiring does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from components.azure.identity import WorkloadIdentityBinding, WorkloadIdentityBindingArgs
from components.azure.platform import AksPlatform, AksPlatformArgs
from components.handle import ClusterHandle
from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord
from stacks import load_stack_file
from stacks.platform import build_workloads

EXAMPLE = PROJECT_DIR / "examples" / "azure-aks.yaml"
SUBSCRIPTION = "11111111-2222-4333-8444-555555555555"


@dataclass
class AksPlan:
    record: PlanRecord
    outputs: dict[str, Any]
    handle: ClusterHandle


@pytest.fixture(scope="package")
def aks() -> AksPlan:
    captured: dict[str, ClusterHandle] = {}

    def declare() -> None:
        stack = load_stack_file(EXAMPLE)
        platform = AksPlatform(
            "aks",
            AksPlatformArgs(
                environment=stack.environment,
                cluster=stack.clusters["aks"],
                tags=stack.labels,
                team_groups=stack.team_subjects_on("aks"),
            ),
        )
        captured["handle"] = platform.handle
        build_workloads(stack, "aks", platform.handle)
        assert platform.storage is not None
        containers = platform.storage.containers
        # A binding declared directly, so its identity's outputs can be compared with the
        # federated credential and role assignments it declares.
        probe = WorkloadIdentityBinding(
            "probe",
            WorkloadIdentityBindingArgs(
                subscription_id=SUBSCRIPTION,
                resource_group_name=platform.resource_group.name,
                location="westeurope",
                oidc_issuer_url=platform.cluster.oidc_issuer_url,
                namespace="research",
                service_account="probe",
                containers={"datasets": (containers["datasets"].id, "write")},
            ),
            opts=pulumi.ResourceOptions(providers={"azure-native": platform.provider}),
        )
        pulumi.export("kubelet", platform.cluster.kubelet_object_id)
        pulumi.export("issuer", platform.cluster.oidc_issuer_url)
        pulumi.export("kubeconfig", pulumi.Output.unsecret(platform.cluster.kubeconfig))
        pulumi.export("probe.principal", probe.identity.principal_id)
        assert platform.gateway is not None
        pulumi.export("gateway.principal", platform.gateway.identity.principal_id)
        pulumi.export("gateway.client", platform.gateway.identity.client_id)
        pulumi.export("gateway.fqdn", platform.gateway.frontend.fqdn)
        pulumi.export("nodeResourceGroup", platform.cluster.node_resource_group_id)
        pulumi.export("egressIp", platform.network.egress_ip.ip_address)
        pulumi.export("probe.client", probe.client_id)
        for bucket, container in containers.items():
            pulumi.export(f"container.{bucket}", container.id)

    record = run_program(EXAMPLE, program=declare)
    return AksPlan(record=record, outputs=record.outputs, handle=captured["handle"])
