"""The AKS cluster: Entra ID only, workload identity, overlay networking, autoscaler, kubeconfig."""

from __future__ import annotations

import base64

import pytest
import yaml

from components.azure.cluster import AKS_AAD_SERVER_ID, aks_kubeconfig, dns_service_ip
from components.azure.roles import AKS_CLUSTER_USER, AKS_RBAC_CLUSTER_ADMIN, NETWORK_CONTRIBUTOR
from plan.emulators import CALLS, load_all
from stacks import versions
from tests.components.azure.conftest import EXAMPLE, SUBSCRIPTION
from tests.helpers import dig, one

CLUSTER = "azure-native:containerservice:ManagedCluster"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


@pytest.fixture(scope="module")
def cluster(aks):
    return one(aks.record, CLUSTER, "aks").inputs


def test_entra_id_is_the_only_way_in(cluster):
    assert cluster["disableLocalAccounts"] is True
    assert cluster["enableRBAC"] is True
    assert cluster["aadProfile"] == {
        "managed": True,
        "enableAzureRBAC": True,
        "tenantID": "99999999-8888-4777-8666-555555555555",
        "adminGroupObjectIDs": ["aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"],
    }


def test_api_server_admits_authorized_networks_and_the_nat_egress_ip(cluster, aks):
    access = cluster["apiServerAccessProfile"]
    assert access["enablePrivateCluster"] is False
    # Nodes leave through the NAT gateway: AKS does not admit its IP by itself.
    assert access["authorizedIPRanges"] == ["198.51.100.0/24", f"{aks.outputs['egressIp']}/32"]
    assert access["disableRunCommand"] is True


def test_oidc_issuer_and_workload_identity_are_enabled(cluster, aks):
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert dig(cluster, "securityProfile.workloadIdentity.enabled") is True
    assert aks.outputs["issuer"].startswith("https://westeurope.oic.prod-aks.azure.com/")


def test_network_is_azure_cni_overlay_with_cilium_and_nat_egress(cluster):
    assert cluster["networkProfile"] == {
        "networkPlugin": "azure",
        "networkPluginMode": "overlay",
        "networkDataplane": "cilium",
        "networkPolicy": "cilium",
        "podCidr": "10.64.0.0/14",
        "serviceCidr": "10.68.0.0/20",
        "dnsServiceIP": "10.68.0.10",
        "loadBalancerSku": "standard",
        "outboundType": "userAssignedNATGateway",
    }


def test_autoscaler_profile_lets_pools_with_emptydir_pods_scale_down(cluster):
    profile = cluster["autoScalerProfile"]
    assert profile["skipNodesWithLocalStorage"] == "false"
    assert profile["expander"] == "least-waste"
    assert profile["scaleDownUnneededTime"] == "5m"


def test_upgrades_follow_the_pinned_minor_and_node_images(cluster):
    assert cluster["kubernetesVersion"] == "1.35"
    assert cluster["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert cluster["sku"] == {"name": "Base", "tier": "Standard"}


def test_application_routing_add_on_is_off_when_the_gateway_serves_the_fanout(cluster):
    # Declared off (not left out), so that a cluster moving to the gateway drops the add-on.
    assert dig(cluster, "ingressProfile.webAppRouting.enabled") is False


def test_system_pool_is_declared_with_the_cluster_and_tainted_for_add_ons(cluster):
    (system,) = cluster["agentPoolProfiles"]
    assert system["name"] == "system"
    assert system["mode"] == "System"
    assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert (system["minCount"], system["maxCount"], system["enableAutoScaling"]) == (2, 4, True)
    assert "scaleSetPriority" not in system


def test_control_plane_identity_may_join_the_node_subnet(aks, cluster):
    identity = one(aks.record, "azure-native:managedidentity:UserAssignedIdentity", "aks-control-plane")
    grant = one(aks.record, ROLE_ASSIGNMENT, "aks-control-plane-subnet")
    subnet = one(aks.record, "azure-native:network:Subnet", "aks-vnet-nodes")
    assert cluster["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert grant.inputs["scope"] == subnet.id
    assert grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{NETWORK_CONTRIBUTOR}")


def test_the_deployer_is_cluster_admin_through_azure_rbac(aks):
    grant = one(aks.record, ROLE_ASSIGNMENT, "aks-deployer-admin")
    assert grant.inputs["scope"] == one(aks.record, CLUSTER, "aks").id
    # The principal named in config (CI's service principal), not whoever runs the deploy.
    assert (grant.inputs["principalId"], grant.inputs["principalType"]) == (
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "ServicePrincipal",
    )
    assert grant.inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{AKS_RBAC_CLUSTER_ADMIN}"
    )


def test_every_team_group_can_fetch_credentials_and_its_bindings_name_the_same_ids(aks):
    """Each RoleBinding subject is granted on the Azure side: the group may list user credentials
    on this cluster only, and AKS's tokens carry the same object ID the binding names."""
    cluster_id = one(aks.record, CLUSTER, "aks").id
    grants = {
        r.inputs["principalId"]: r.inputs
        for r in aks.record.of_type(ROLE_ASSIGNMENT)
        if r.inputs["roleDefinitionId"].endswith(AKS_CLUSTER_USER)
    }
    subjects = {
        subject["name"]
        for binding in aks.record.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        for subject in binding.inputs["subjects"]
    }
    assert (
        subjects
        == set(grants)
        == {
            "3f2b6c1e-7a41-4d2e-9c5b-0e8f1a2b3c4d",
            "8c9d0e1f-2a3b-4c5d-8e7f-9a0b1c2d3e4f",
        }
    )
    assert all(g["scope"] == cluster_id and g["principalType"] == "Group" for g in grants.values())


def test_kubeconfig_authenticates_through_kubelogin_without_a_browser(aks):
    provider = one(aks.record, "pulumi:providers:kubernetes", "aks-k8s")
    assert provider.inputs["kubeconfig"] == "<secret>"
    kubeconfig = yaml.safe_load(aks.outputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    # No static credential: local accounts are disabled, kubelogin fetches an Entra ID token.
    assert set(user["user"]) == {"exec"}
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == [
        "get-token",
        "--login",
        "azurecli",
        "--server-id",
        AKS_AAD_SERVER_ID,
    ]
    (entry,) = kubeconfig["clusters"]
    assert entry["cluster"]["server"].startswith("https://") and entry["cluster"]["server"].endswith(":443")


def test_aks_kubeconfig_keeps_server_and_ca_of_the_user_credentials():
    load_all()
    returned = CALLS["azure-native:containerservice:listManagedClusterUserCredentials"](
        {"resourceGroupName": "rg", "resourceName": "aks1"}
    )
    original = yaml.safe_load(base64.b64decode(returned["kubeconfigs"][0]["value"]))
    converted = yaml.safe_load(aks_kubeconfig(returned["kubeconfigs"][0]["value"], "workloadidentity"))
    assert converted["clusters"][0]["cluster"] == original["clusters"][0]["cluster"]
    assert converted["users"][0]["user"]["exec"]["args"][:3] == ["get-token", "--login", "workloadidentity"]


@pytest.mark.parametrize(
    ("service_cidr", "dns_ip"), [("10.0.0.0/16", "10.0.0.10"), ("172.20.8.0/22", "172.20.8.10")]
)
def test_dns_service_ip_is_the_tenth_service_address(service_cidr, dns_ip):
    assert dns_service_ip(service_cidr) == dns_ip


def test_the_community_support_plan_is_the_default(cluster):
    assert cluster["supportPlan"] == "KubernetesOfficial"


def _example_cluster_plan(plan_of, change) -> tuple[dict, list[dict]]:
    document = yaml.safe_load(EXAMPLE.read_text())
    change(document["config"]["mlplatform:clusters"]["aks"])
    record = plan_of(document, name="aks")
    pools = [p.inputs for p in record.of_type("azure-native:containerservice:AgentPool")]
    return one(record, CLUSTER, "aks").inputs, pools


def test_long_term_support_is_wired_on_a_premium_cluster(plan_of):
    def lts(cluster):
        cluster["azure"].update(skuTier="Premium", supportPlan="AKSLongTermSupport")
        # Past its community year on the catalog's check date: AKS keeps it only under LTS.
        cluster["kubernetesVersion"] = "1.34"

    inputs, pools = _example_cluster_plan(plan_of, lts)
    assert inputs["supportPlan"] == "AKSLongTermSupport"
    assert inputs["sku"] == {"name": "Base", "tier": "Premium"}
    assert inputs["kubernetesVersion"] == "1.34"
    # LTS covers a minor's two newest patches only: the patch channel keeps the cluster on them.
    assert inputs["autoUpgradeProfile"]["upgradeChannel"] == "patch"
    assert {p["orchestratorVersion"] for p in pools} == {"1.34"}


def test_without_a_configured_version_the_catalog_default_is_pinned(plan_of):
    inputs, pools = _example_cluster_plan(plan_of, lambda cluster: cluster.pop("kubernetesVersion"))
    default = versions.default_kubernetes_version("azure")
    assert inputs["kubernetesVersion"] == default
    assert inputs["agentPoolProfiles"][0]["orchestratorVersion"] == default
    assert {p["orchestratorVersion"] for p in pools} == {default}
    assert inputs["autoUpgradeProfile"]["upgradeChannel"] == "patch"


def test_named_runner_cidrs_join_the_api_servers_authorized_ranges(plan_of):
    def runners(cluster):
        cluster["ciAccess"] = {"mode": "runnerCidrs", "runnerCidrs": {"ci": "192.0.2.32/28"}}

    inputs, _ = _example_cluster_plan(plan_of, runners)
    ranges = inputs["apiServerAccessProfile"]["authorizedIPRanges"]
    assert ranges[:2] == ["198.51.100.0/24", "192.0.2.32/28"] and ranges[2].endswith("/32")
