"""Application Gateway for Containers, the AKS fanout's entry point (bring your own deployment):
its subnet, Azure resources, ALB controller and the Gateway that names them; and the app routing
Ingress that `routing.mode: ingress` keeps instead."""

from __future__ import annotations

import pytest
import yaml

from components.azure.roles import APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER, NETWORK_CONTRIBUTOR, READER
from components.contract import POOL_LABEL
from plan.engine import run_program
from plan.record import PlanRecord
from tests.components.azure.conftest import EXAMPLE, SUBSCRIPTION
from tests.helpers import dig, one

SUBNET = "azure-native:network:Subnet"
TRAFFIC_CONTROLLER = "azure-native:servicenetworking:TrafficControllerInterface"
FRONTEND = "azure-native:servicenetworking:FrontendsInterface"
ASSOCIATION = "azure-native:servicenetworking:AssociationsInterface"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _name(resource_id: str) -> str:
    return resource_id.rsplit("/", 1)[-1]


def test_agc_subnet_is_a_delegated_slash_24_in_the_vnets_second_half(aks):
    subnet = one(aks.record, SUBNET, "aks-gateway-subnet")
    assert subnet.parent == one(aks.record, "mlplatform:azure:GatewayController", "aks-gateway").urn
    assert subnet.inputs["addressPrefix"] == "10.60.8.0/24"
    assert subnet.inputs["virtualNetworkName"] == _name(
        one(aks.record, "azure-native:network:VirtualNetwork").id
    )
    assert subnet.inputs["delegations"] == [
        {"name": "agc", "serviceName": "Microsoft.ServiceNetworking/trafficControllers"}
    ]
    assert subnet.inputs["defaultOutboundAccess"] is False
    assert "natGateway" not in subnet.inputs


def test_frontend_and_association_belong_to_the_traffic_controller_and_carry_its_tags(aks):
    controller = one(aks.record, TRAFFIC_CONTROLLER, "aks-gateway")
    frontend = one(aks.record, FRONTEND, "aks-gateway-frontend")
    association = one(aks.record, ASSOCIATION, "aks-gateway-association")
    assert controller.id.startswith(
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{controller.inputs['resourceGroupName']}/providers/"
        "Microsoft.ServiceNetworking/trafficControllers/"
    )
    for child in (frontend, association):
        assert child.inputs["trafficControllerName"] == _name(controller.id)
    assert association.inputs["associationType"] == "subnets"
    assert association.inputs["subnet"] == {"id": one(aks.record, SUBNET, "aks-gateway-subnet").id}
    for resource in (controller, frontend, association):
        assert resource.inputs["location"] == "westeurope"
        assert resource.inputs["tags"]["owner"] == "ml-platform"
        assert resource.inputs["tags"]["mlplatform-cluster"] == "aks"
    assert aks.outputs["gateway.fqdn"].endswith(".alb.azure.com")


def test_controller_identity_is_federated_with_the_alb_controller_service_account(aks):
    identity = one(aks.record, IDENTITY, "aks-gateway-controller")
    federation = one(aks.record, FEDERATION, "aks-gateway-controller-federation").inputs
    assert federation["resourceName"] == _name(identity.id)
    assert federation["issuer"] == aks.outputs["issuer"]
    assert federation["subject"] == "system:serviceaccount:azure-alb-system:alb-controller-sa"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]


def test_controller_may_program_its_agc_join_its_subnet_and_read_the_nodes_only(aks):
    grants = {
        r.name: r.inputs for r in aks.record.of_type(ROLE_ASSIGNMENT) if r.name.startswith("aks-gateway-")
    }
    assert {name: (g["scope"], _name(g["roleDefinitionId"])) for name, g in grants.items()} == {
        "aks-gateway-configuration": (
            one(aks.record, "azure-native:resources:ResourceGroup", "aks-rg").id,
            APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER,
        ),
        "aks-gateway-subnet-join": (one(aks.record, SUBNET, "aks-gateway-subnet").id, NETWORK_CONTRIBUTOR),
        "aks-gateway-nodes-reader": (aks.outputs["nodeResourceGroup"], READER),
    }
    assert aks.outputs["nodeResourceGroup"].startswith(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/MC_")
    for grant in grants.values():
        assert (grant["principalId"], grant["principalType"]) == (
            aks.outputs["gateway.principal"],
            "ServicePrincipal",
        )


def test_alb_controller_is_a_pinned_oci_chart_on_the_system_pool(aks):
    release = one(aks.record, RELEASE, "aks-gateway")
    inputs = release.inputs
    assert (inputs["name"], inputs["chart"], inputs["version"]) == (
        "alb-controller",
        "oci://mcr.microsoft.com/application-lb/charts/alb-controller",
        "1.13.0",
    )
    assert "repositoryOpts" not in inputs
    # The chart creates the controller's namespace itself; the release lives in kube-system.
    assert (inputs["namespace"], inputs["createNamespace"]) == ("kube-system", False)
    assert dig(inputs, "values.albController.namespace") == "azure-alb-system"
    assert dig(inputs, "values.albController.podIdentity.clientID") == aks.outputs["gateway.client"]
    assert dig(inputs, "values.albController.controller") == {
        "nodeSelector": {POOL_LABEL: "system"},
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
        ],
    }
    assert release.provider == one(aks.record, "pulumi:providers:kubernetes", "aks-k8s").urn


def test_gateway_names_its_agc_by_id_and_listens_on_the_frontend(aks):
    gateway = one(aks.record, GATEWAY).inputs
    assert gateway["spec"]["gatewayClassName"] == "azure-alb-external"
    assert gateway["metadata"]["annotations"] == {
        "alb.networking.azure.io/alb-id": one(aks.record, TRAFFIC_CONTROLLER).id
    }
    assert gateway["spec"]["addresses"] == [
        {"type": "alb.networking.azure.io/alb-frontend", "value": _name(one(aks.record, FRONTEND).id)}
    ]
    assert aks.record.of_type(INGRESS) == []


def test_model1_is_split_90_10_between_its_primary_and_candidate(aks):
    route = one(aks.record, ROUTE, "aks-fanout-model1-route").inputs
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "model1", "port": 80, "weight": 90},
        {"name": "model1-candidate", "port": 80, "weight": 10},
    ]
    candidate = one(aks.record, "kubernetes:apps/v1:Deployment", "aks-model1-candidate-deployment").inputs
    assert dig(candidate, "spec.template.spec.containers.0.image").endswith(".azurecr.io/sentiment:1.5.0")


def test_serving_pods_admit_traffic_from_the_agc_subnet_only(aks):
    policy = one(aks.record, NETWORK_POLICY, "aks-ml-allow-serving").inputs
    # Besides the cluster's Prometheus, on the metrics ports (tests/components/k8s/test_monitoring.py).
    assert policy["spec"]["ingress"][0] == {
        "from": [{"ipBlock": {"cidr": "10.60.8.0/24"}}],
        "ports": [{"protocol": "TCP", "port": "http"}],
    }
    assert len(policy["spec"]["ingress"]) == 2


@pytest.fixture(scope="module")
def ingress_mode(tmp_path_factory) -> PlanRecord:
    """The example with `routing.mode: ingress` (and its models unsplit: that Ingress cannot weigh)."""
    document = yaml.safe_load(EXAMPLE.read_text())
    config = document["config"]
    config["mlplatform:clusters"]["aks"]["routing"] = {"mode": "ingress", "tls": {"secretName": "ml-tls"}}
    for model_name in ("model1", "model2"):
        for key in ("variants", "weight"):
            config["mlplatform:models"][model_name].pop(key)
    # The add-on's Ingress has no standard prefix rewrite (stacks/config.py refuses stripPrefix).
    for model in config["mlplatform:models"].values():
        model["route"]["stripPrefix"] = False
    path = tmp_path_factory.mktemp("aks-ingress") / "Pulumi.ingress.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return run_program(path)


def test_ingress_mode_uses_the_application_routing_add_on_instead_of_agc(ingress_mode):
    cluster = one(ingress_mode, "azure-native:containerservice:ManagedCluster", "aks").inputs
    assert dig(cluster, "ingressProfile.webAppRouting.enabled") is True
    for absent in (TRAFFIC_CONTROLLER, FRONTEND, ASSOCIATION, GATEWAY, "mlplatform:azure:GatewayController"):
        assert ingress_mode.of_type(absent) == [], absent
    assert [r.name for r in ingress_mode.of_type(SUBNET)] == ["aks-vnet-nodes"]
    ingress = one(ingress_mode, INGRESS).inputs
    assert ingress["spec"]["ingressClassName"] == "webapprouting.kubernetes.azure.com"
    assert {p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]} == {"/model1", "/model2"}


def test_ingress_mode_admits_serving_traffic_from_the_add_ons_namespace(ingress_mode):
    policy = one(ingress_mode, NETWORK_POLICY, "aks-ml-allow-serving").inputs
    assert policy["spec"]["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app-routing-system"}}}
    ]


def test_alb_controller_waits_for_the_system_pool_it_runs_on(aks):
    release = one(aks.record, RELEASE, "aks-gateway")
    # The system pool is declared with the cluster; the user pools are no place for it.
    cluster = one(aks.record, "azure-native:containerservice:ManagedCluster", "aks")
    assert cluster.urn in release.dependencies
