"""AKS-specific config rules: what AKS or Azure would reject fails at the door, naming the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from plan.engine import PROJECT_DIR
from stacks import ConfigError, load_stack_file, versions
from stacks.aks import agc_subnet_cidr, aks_pool_name, node_subnet_cidr

EXAMPLE = PROJECT_DIR / "examples" / "azure-aks.yaml"
KEY = "mlplatform:clusters.aks"


@pytest.fixture
def aks_document() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def _cluster(document: dict[str, Any]) -> dict[str, Any]:
    return document["config"]["mlplatform:clusters"]["aks"]


def test_example_loads_with_azure_settings():
    cluster = load_stack_file(EXAMPLE).clusters["aks"]
    settings = cluster.azure
    assert cluster.cloud == "azure" and settings is not None
    assert settings.spot_max_price == {"gpu-t4": 0.35}
    assert settings.kubelogin_mode == "azurecli"
    assert (settings.deployer_object_id, settings.deployer_principal_type) == (
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "ServicePrincipal",
    )
    assert cluster.system_pool == "system"
    # Gateway API through Application Gateway for Containers is the AKS default: it can weigh.
    assert cluster.routing_mode == "gateway" and cluster.weighted_routing


def _pool(name: str, **changes):
    def mutate(document):
        _cluster(document)["pools"].setdefault(name, {}).update(changes)

    return mutate


def _cluster_key(key: str, value):
    def mutate(document):
        _cluster(document)[key] = value

    return mutate


def _azure(key: str, value):
    def mutate(document):
        _cluster(document)["azure"][key] = value

    return mutate


def _azure_keys(**values):
    def mutate(document):
        _cluster(document)["azure"].update(values)

    return mutate


def _drop_workloads(document):
    # Workload rules are not under test here; keep the pools they reference free to change.
    for key in ("mlplatform:models", "mlplatform:jobs"):
        document["config"].pop(key, None)


GPU = {
    "kind": "gpu",
    "machineType": "Standard_NC4as_T4_v3",
    "accelerator": "nvidia-tesla-t4",
    "min": 0,
    "max": 2,
}
TPU = {"kind": "tpu", "machineType": "ct5lp-hightpu-4t", "topology": "2x2", "min": 0, "max": 1}

INVALID = [
    pytest.param(
        _pool("tpu", **TPU),
        f"{KEY}.pools.tpu.kind: TPU pools exist only on GKE (cloud: gcp), not on azure",
        id="tpu-on-azure",
    ),
    pytest.param(
        _pool("gpu-a100-xlarge", **GPU),
        f"{KEY}.pools.gpu-a100-xlarge: AKS names node pools with 1-12 lowercase letters and digits; "
        "'gpu-a100-xlarge' would become 'gpua100xlarge' (13 characters)",
        id="pool-name-too-long",
    ),
    pytest.param(
        _pool("gput4", **GPU),
        f"{KEY}.pools.gput4: pools 'gpu-t4' and 'gput4' both become AKS pool 'gput4'",
        id="pool-names-collide",
    ),
    pytest.param(
        _pool("gpu-t4", machineType="Standard_D8ds_v5"),
        f"{KEY}.pools.gpu-t4.machineType: 'Standard_D8ds_v5' is not an NVIDIA GPU VM size",
        id="gpu-pool-on-cpu-vm",
    ),
    pytest.param(
        _pool("gpu-t4", machineType="Standard_NV8as_v4"),
        f"{KEY}.pools.gpu-t4.machineType: 'Standard_NV8as_v4' is not an NVIDIA GPU VM size",
        id="amd-gpu-vm",
    ),
    pytest.param(
        _pool("gpu-t4", accelerator="amd-mi300x"),
        f"{KEY}.pools.gpu-t4.accelerator: AKS supports NVIDIA GPUs only",
        id="non-nvidia-gpu",
    ),
    pytest.param(
        _pool("gpu-t4", gpuSharing={"strategy": "time-sharing", "maxSharedClientsPerGpu": 4}),
        f"{KEY}.pools.gpu-t4.gpuSharing: GPU time-sharing/MPS is configured by GKE only",
        id="gpu-sharing",
    ),
    pytest.param(
        _pool("cpu", zones=["westeurope-1"]),
        f"{KEY}.pools.cpu.zones: Azure availability zones are '1', '2' and '3', not 'westeurope-1'",
        id="pool-zone-name",
    ),
    pytest.param(
        _azure("zones", ["4"]),
        f"{KEY}.azure.zones.0: Input should be '1', '2' or '3'",
        id="cluster-zone",
    ),
    pytest.param(
        _azure("spotMaxPrice", {"cpu": 0.2}),
        f"{KEY}.azure.spotMaxPrice.cpu: 'cpu' is not a spot pool of this cluster",
        id="max-price-for-on-demand-pool",
    ),
    pytest.param(
        _azure("spotMaxPrice", {"gpu-t4": 0}),
        f"{KEY}.azure.spotMaxPrice.gpu-t4: 0.0 is not a price",
        id="max-price-zero",
    ),
    pytest.param(
        _azure("adminGroupObjectIds", ["ml-admins"]),
        f"{KEY}.azure.adminGroupObjectIds.0: String should match pattern",
        id="admin-group-not-an-object-id",
    ),
    pytest.param(
        _azure("authorizedIpRanges", ["198.51.100.0/24"]),
        f"{KEY}.azure.authorizedIpRanges: unknown key 'authorizedIpRanges'",
        id="api-ranges-belong-to-the-cluster",
    ),
    pytest.param(
        _cluster_key("authorizedNetworks", []),
        f"{KEY}.authorizedNetworks: a public AKS API server must be restricted",
        id="public-api-unrestricted",
    ),
    pytest.param(
        _cluster_key("authorizedNetworks", [f"198.51.{i // 256}.{i % 256}/32" for i in range(200)]),
        f"{KEY}.authorizedNetworks: AKS admits at most 200 authorized ranges, one of which the platform "
        "takes for the NAT gateway's egress IP: list at most 199",
        id="too-many-authorized-ranges",
    ),
    pytest.param(
        lambda d: _cluster(d)["registry"].update(keepRecent=10),
        f"{KEY}.registry.keepRecent: ACR never deletes tagged images",
        id="keep-recent-on-acr",
    ),
    pytest.param(
        lambda d: _cluster(d)["registry"].update(untaggedRetentionDays=400),
        f"{KEY}.registry.untaggedRetentionDays: ACR keeps untagged manifests at most 365 days, not 400",
        id="acr-retention-too-long",
    ),
    pytest.param(
        lambda d: _cluster(d)["buckets"].update({"ml": {}}),
        f"{KEY}.buckets.ml: bucket 'ml' becomes a blob container, whose name needs at least 3 characters",
        id="container-name-too-short",
    ),
    pytest.param(
        lambda d: _cluster(d)["network"].update(cidr="10.60.0.0/27"),
        f"{KEY}.network.cidr: the node subnet 10.60.0.0/28 (first half of 10.60.0.0/27) has 16 addresses "
        "but the pools need 22 at max scale",
        id="node-subnet-too-small",
    ),
    pytest.param(
        _cluster_key("network", {"cidr": "10.60.0.0/24"}),
        f"{KEY}.network.cidr: 10.60.0.0/24 leaves no room for the /24 subnet of Application Gateway for "
        "Containers in its second half: use a /23 or larger cidr, or routing.mode: ingress",
        id="vnet-without-room-for-agc",
    ),
    pytest.param(
        _cluster_key("kubernetesVersion", "1.31"),
        f"{KEY}.kubernetesVersion: AKS offers no Kubernetes 1.31 in the version catalog",
        id="version-not-offered",
    ),
    pytest.param(
        _cluster_key("kubernetesVersion", "1.34"),
        f"{KEY}.kubernetesVersion: Kubernetes 1.34 on AKS left standard support on 2026-11-30; stay on it "
        "only by choosing azure.supportPlan: AKSLongTermSupport",
        id="version-past-standard-support",
    ),
    pytest.param(
        _azure("supportPlan", "AKSLongTermSupport"),
        f"{KEY}.azure.supportPlan: AKS long-term support is part of the Premium tier, not Standard: "
        "set azure.skuTier: Premium, or supportPlan: KubernetesOfficial",
        id="lts-off-premium",
    ),
    pytest.param(
        _azure("supportPlan", "LTS"),
        f"{KEY}.azure.supportPlan: Input should be 'KubernetesOfficial' or 'AKSLongTermSupport'",
        id="unknown-support-plan",
    ),
    pytest.param(
        _azure("kubeloginMode", "devicecode"),
        f"{KEY}.azure.kubeloginMode: Input should be 'azurecli', 'workloadidentity', 'msi', 'spn' or 'azd'",
        id="interactive-kubelogin",
    ),
    pytest.param(
        _azure("flowLogRetentionDays", 400),
        f"{KEY}.azure.flowLogRetentionDays: Input should be less than or equal to 365",
        id="flow-log-retention-beyond-a-year",
    ),
    pytest.param(
        _azure_keys(logRetentionDays=None, trafficAnalytics=True),
        f"{KEY}.azure.trafficAnalytics: traffic analytics writes to the cluster's Log Analytics workspace",
        id="traffic-analytics-without-a-workspace",
    ),
    pytest.param(
        _azure_keys(flowLogRetentionDays=None, trafficAnalytics=True),
        f"{KEY}.azure.trafficAnalytics: traffic analytics reads the VNet flow logs",
        id="traffic-analytics-without-flow-logs",
    ),
    pytest.param(
        _azure("networkWatcher", {"name": "watcher-", "resourceGroup": "network"}),
        f"{KEY}.azure.networkWatcher.name: String should match pattern",
        id="network-watcher-name",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), INVALID)
def test_invalid_aks_config_names_file_key_and_problem(aks_document, write_stack, mutate, message):
    _drop_workloads(aks_document)
    mutate(aks_document)
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(aks_document))
    text = str(caught.value)
    assert text.startswith("Pulumi.test.yaml: "), text
    assert message in text, text
    assert "\n" not in text


def test_weighted_variants_need_the_gateway_on_aks(aks_document, write_stack):
    # The example splits model1 90/10: fine through AGC, refused through the app routing Ingress.
    assert load_stack_file(write_stack(aks_document)).models["model1"].variants
    _cluster(aks_document)["routing"] = {"mode": "ingress", "tls": {"secretName": "ml-tls"}}
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(aks_document))
    assert (
        "mlplatform:models.model1.variants: cluster 'aks' routes through an Ingress, which on azure cannot "
        "split traffic by weight; use routing.mode: gateway or drop the variants"
    ) in str(caught.value)


def test_the_ingress_mode_needs_neither_agc_room_nor_a_recent_kubernetes(aks_document, write_stack):
    _drop_workloads(aks_document)
    cluster = _cluster(aks_document)
    cluster.update(
        routing={"mode": "ingress", "tls": {"secretName": "ml-tls"}},
        kubernetesVersion="1.35",
        network={"cidr": "10.60.0.0/24"},
    )
    loaded = load_stack_file(write_stack(aks_document)).clusters["aks"]
    assert loaded.routing_mode == "ingress" and not loaded.weighted_routing


def test_private_cluster_needs_no_authorized_networks(aks_document, write_stack):
    _drop_workloads(aks_document)
    _cluster(aks_document).update(privateEndpoint=True, authorizedNetworks=[])
    assert load_stack_file(write_stack(aks_document)).clusters["aks"].private_endpoint


def test_node_subnet_room_counts_every_node_at_max_plus_surge(aks_document, write_stack):
    _drop_workloads(aks_document)
    document = copy.deepcopy(aks_document)
    # A /25 VNet gives a /26 node subnet: 64 addresses, 5 reserved by Azure. (Too small for
    # the gateway's /24 as well: the app routing Ingress keeps this about the node subnet.)
    _cluster(document)["network"]["cidr"] = "10.60.0.0/25"
    _cluster(document)["routing"] = {"mode": "ingress", "tls": {"secretName": "ml-tls"}}
    pools = _cluster(document)["pools"]
    pools["system"]["max"], pools["cpu"]["max"], pools["gpu-t4"]["max"] = 4, 46, 6  # 56 + 3 surge + 5 = 64
    assert load_stack_file(write_stack(document)).clusters["aks"]
    pools["cpu"]["max"] = 47
    with pytest.raises(ConfigError, match=r"has 64 addresses but the pools need 65 at max scale"):
        load_stack_file(write_stack(document))


@pytest.mark.parametrize(("pool", "aks_name"), [("system", "system"), ("gpu-t4", "gput4"), ("a-b-c", "abc")])
def test_aks_pool_names_drop_hyphens(pool, aks_name):
    assert aks_pool_name(pool) == aks_name


@pytest.mark.parametrize(
    ("vnet", "subnet"), [("10.60.0.0/20", "10.60.0.0/21"), ("172.16.8.0/22", "172.16.8.0/23")]
)
def test_node_subnet_is_the_first_half_of_the_vnet(vnet, subnet):
    assert node_subnet_cidr(vnet) == subnet


@pytest.mark.parametrize(
    ("vnet", "subnet"),
    [
        ("10.60.0.0/20", "10.60.8.0/24"),
        ("10.60.0.0/23", "10.60.1.0/24"),
        ("172.16.0.0/16", "172.16.128.0/24"),
    ],
)
def test_agc_subnet_is_the_first_slash_24_of_the_second_half(vnet, subnet):
    assert agc_subnet_cidr(vnet) == subnet


def _lts(document: dict[str, Any], version: str) -> None:
    _cluster(document)["azure"].update(skuTier="Premium", supportPlan="AKSLongTermSupport")
    _cluster(document)["kubernetesVersion"] = version


def test_long_term_support_keeps_a_version_past_its_community_year(aks_document, write_stack):
    _drop_workloads(aks_document)
    _lts(aks_document, "1.34")  # community support ended 2026-11-30, LTS runs to 2027-11-30
    cluster = load_stack_file(write_stack(aks_document)).clusters["aks"]
    assert cluster.azure is not None and cluster.azure.support_plan == "AKSLongTermSupport"
    assert cluster.support_phase == "extended"


@pytest.fixture
def catalog_without_lts_for_1_35(tmp_path, monkeypatch):
    """The version catalog as if AKS offered no long-term support for 1.35."""
    document = yaml.safe_load(versions.CATALOG.read_text())
    del document["aks"]["1.35"]["extendedEnd"]
    path = tmp_path / "kubernetes.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(versions, "CATALOG", path)
    versions._catalog.cache_clear()
    yield
    monkeypatch.undo()
    versions._catalog.cache_clear()


def test_long_term_support_on_a_version_without_it_is_refused(
    aks_document, write_stack, catalog_without_lts_for_1_35
):
    _drop_workloads(aks_document)
    _lts(aks_document, "1.35")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(aks_document))
    assert (
        f"{KEY}.azure.supportPlan: AKS offers no long-term support for Kubernetes 1.35 "
        "(stacks/catalogs/kubernetes.yaml, checked 2026-12-01): use an LTS version (1.33, 1.34, 1.36, 1.37) "
        "or supportPlan: KubernetesOfficial"
    ) in str(caught.value)


def test_without_a_version_a_stale_catalog_is_a_config_error(aks_document, write_stack, monkeypatch):
    _drop_workloads(aks_document)
    del _cluster(aks_document)["kubernetesVersion"]
    monkeypatch.setenv(versions.TODAY_VARIABLE, "2030-01-01")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(aks_document))
    assert (
        f"{KEY}.kubernetesVersion: stacks/catalogs/kubernetes.yaml (checked 2026-12-01) lists no aks version "
        "in standard support on 2030-01-01: refresh it from its sources, or set kubernetesVersion"
    ) in str(caught.value)


def test_a_team_named_by_e_mail_is_refused_on_aks_with_the_reason(aks_document, write_stack):
    aks_document["config"]["mlplatform:teams"]["ml"]["viewers"] = ["data-scientists@acme.example"]
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(aks_document))
    assert str(caught.value) == (
        "Pulumi.test.yaml: mlplatform:teams.ml.viewers.0: 'data-scientists@acme.example' cannot work on AKS "
        "cluster 'aks': AKS puts Entra group object IDs in tokens, not names or e-mails (Azure/AKS#515); "
        "give the group's object ID (az ad group show --group <name> --query id)"
    )
