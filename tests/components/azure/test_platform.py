"""The AKS platform as a whole: explicit providers, Azure resource ids, the cluster handle."""

from __future__ import annotations

import re

import yaml

from components.contract import POOL_LABEL
from plan.engine import PROJECT_DIR
from stacks import versions
from tests.components.azure.conftest import SUBSCRIPTION
from tests.helpers import one

AZURE_ID = re.compile(rf"^/subscriptions/{SUBSCRIPTION}/resourceGroups/[-\w.()]+(/providers/[\w.]+/.+)?$")


def test_every_custom_resource_has_an_explicit_provider(aks):
    providers = {r.urn: r for r in aks.record.resources if r.is_provider}
    for resource in aks.record.resources:
        if not resource.custom or resource.is_provider:
            continue
        assert resource.provider in providers, f"{resource.type} {resource.name} has no explicit provider"
        expected = "azure-native" if resource.type.startswith("azure-native:") else "kubernetes"
        assert providers[resource.provider].type == f"pulumi:providers:{expected}", resource.name


def test_the_azure_provider_targets_the_configured_subscription_and_location(aks):
    provider = one(aks.record, "pulumi:providers:azure-native", "aks-azure")
    assert provider.inputs["subscriptionId"] == SUBSCRIPTION
    assert provider.inputs["location"] == "westeurope"


def test_cloud_resources_get_azure_resource_ids_and_ownership_tags(aks):
    azure = [r for r in aks.record.resources if r.custom and r.type.startswith("azure-native:")]
    assert len(azure) > 20
    for resource in azure:
        if resource.type == "azure-native:authorization:RoleAssignment":
            assert "/providers/Microsoft.Authorization/roleAssignments/" in resource.id
            continue
        assert AZURE_ID.match(resource.id or ""), f"{resource.type} {resource.name}: {resource.id}"
        if "tags" in resource.inputs and not resource.name.startswith("probe"):
            assert resource.inputs["tags"]["owner"] == "ml-platform"
            assert resource.inputs["tags"]["mlplatform-cluster"] == "aks"


def test_resources_live_in_the_platforms_resource_group(aks):
    group = one(aks.record, "azure-native:resources:ResourceGroup", "aks-rg")
    assert group.inputs["location"] == "westeurope"
    group_name = group.id.rsplit("/", 1)[-1]
    scoped = [r for r in aks.record.resources if "resourceGroupName" in r.inputs]
    # But the region's Network Watcher (the subscription's, in Azure's NetworkWatcherRG) and the
    # flow log, a child of the watcher.
    assert sorted(r.type for r in scoped if r.inputs["resourceGroupName"] != group_name) == [
        "azure-native:network:FlowLog",
        "azure-native:network:NetworkWatcher",
        "azure-native:resources:ResourceGroup",
    ]


def test_handle_offers_pools_routing_registry_and_buckets(aks):
    handle = aks.handle
    assert handle.cloud == "azure"
    assert handle.system_pool == "system"
    assert set(handle.pools) == {"system", "cpu", "gpu-t4"}
    # Gateway API through Application Gateway for Containers; no Ingress class (the add-on is off).
    assert handle.routing.gateway_class == "azure-alb-external"
    assert handle.routing.ingress_class is None
    # AGC's proxies reach model pods from its subnet (NetworkPolicy), and probe their readiness
    # probes themselves (no health check policy).
    assert handle.routing.source_cidrs == ("10.60.8.0/24",)
    assert handle.routing.source_namespace is None
    assert handle.routing.health_check is None
    # The Gateway waits for the controller that serves its class and installs its CRDs.
    # With cert-manager: its ClusterIssuer must exist before the listener's Certificate.
    assert [type(r).__name__ for r in handle.routing.ready] == ["GatewayController", "CertManager"]
    assert handle.identity is not None
    assert aks.record.outputs["container.artifacts"].endswith("/containers/artifacts")


def test_workloads_land_on_their_pool_with_its_tolerations(aks):
    deployment = one(aks.record, "kubernetes:apps/v1:Deployment", "aks-model2-deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {POOL_LABEL: "gpu-t4"}
    assert {(t["key"], t.get("value")) for t in pod["tolerations"]} == {
        ("sku", "gpu"),
        ("kubernetes.azure.com/scalesetpriority", "spot"),
    }
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["containers"][0]["image"].endswith(".azurecr.io/tritonserver:25.10-py3")


def test_kubernetes_objects_wait_for_pools_and_pull_rights(aks):
    # `ready` is what the workloads depend on: every user pool, AcrPull and the device plugin.
    ready_types = {type(r).__name__ for r in aks.handle.ready}
    assert {"AksAgentPool", "RoleAssignment", "NvidiaDevicePlugin"} <= ready_types
    assert len([r for r in aks.handle.ready if type(r).__name__ == "AksAgentPool"]) == 2


def test_a_private_minimal_cluster_gets_no_registry_storage_or_device_plugin(plan_of):
    # Its only add-on is the gateway's ALB controller: the entry point is part of the platform,
    # ready before the first model is routed.
    document = yaml.safe_load((PROJECT_DIR / "examples" / "azure-aks.yaml").read_text())
    config = document["config"]
    for key in ("mlplatform:models", "mlplatform:jobs", "mlplatform:teams"):
        config.pop(key)
    cluster = config["mlplatform:clusters"]["aks"]
    for key in ("registry", "buckets", "kubernetesVersion"):
        cluster.pop(key)
    cluster["azure"].pop("spotMaxPrice")
    cluster["pools"].pop("gpu-t4")
    cluster.update(privateEndpoint=True, authorizedNetworks=[])
    record = plan_of(document)
    assert record.of_type("azure-native:containerregistry:Registry") == []
    # The one storage account holds the VNet flow logs, none the buckets.
    assert [a.name for a in record.of_type("azure-native:storage:StorageAccount")] == ["aks-flow-logs"]
    assert [r.inputs["name"] for r in record.of_type("kubernetes:helm.sh/v3:Release")] == [
        "alb-controller",
        "cert-manager",
    ]
    cluster_inputs = one(record, "azure-native:containerservice:ManagedCluster", "aks").inputs
    assert cluster_inputs["apiServerAccessProfile"] == {
        "enablePrivateCluster": True,
        "disableRunCommand": True,
    }
    # Without a configured version the catalog's default is pinned; AKS applies its patches.
    assert cluster_inputs["kubernetesVersion"] == versions.default_kubernetes_version("azure")
    assert cluster_inputs["autoUpgradeProfile"]["upgradeChannel"] == "patch"
