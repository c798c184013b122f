"""The AKS fanout's entry point: Application Gateway for Containers (AGC) and its ALB controller.

"Bring your own" deployment: the AGC resource, its frontend and its subnet association are
declared here (Pulumi state, previews, policies and tags see them), and the in-cluster ALB
controller only programs them from the Gateway API objects that name them. The alternative,
an `ApplicationLoadBalancer` custom resource from which the controller creates the Azure
resources itself, would leave load balancers outside the stack that no preview shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, managedidentity, network, servicenetworking

from components.azure.identity import TOKEN_EXCHANGE_AUDIENCE, service_account_subject
from components.azure.roles import (
    APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER,
    NETWORK_CONTRIBUTOR,
    READER,
    SERVICE_PRINCIPAL,
    role_definition_id,
)
from components.contract import PoolContract
from components.handle import GatewayAddress
from components.k8s.helm import Chart, chart_release

# The newest published Helm release, checked 2026-12-01 against the AGC "ALB Controller release
# notes" (learn.microsoft.com/azure/application-gateway/for-containers/alb-controller-release-notes,
# "Latest Helm Release": 1.13.0, Gateway API v1.6.2, Kubernetes 1.32 or later, which every AKS
# version of stacks/catalogs/kubernetes.yaml is). Values keys set below, at this version:
# albController.namespace and albController.podIdentity.clientID ("Quickstart: Deploy ALB
# controller", Helm); albController.controller.nodeSelector and .tolerations (the chart's
# values.schema; honoured since 1.8.9, Azure/AKS#5302, tolerations Azure/AKS#4370).
ALB_CONTROLLER = Chart("alb-controller", "oci://mcr.microsoft.com/application-lb/charts", "1.13.0")
# Where the chart runs the controller, and the ServiceAccount its pods federate as.
CONTROLLER_NAMESPACE = "azure-alb-system"
CONTROLLER_SERVICE_ACCOUNT = "alb-controller-sa"
# The chart templates the controller namespace itself: the Helm release lives elsewhere so
# that Helm never has to adopt a namespace it did not create.
RELEASE_NAMESPACE = "kube-system"
# The GatewayClass the ALB controller serves; a Gateway names its AGC by resource id and the
# frontend it listens on by name.
GATEWAY_CLASS = "azure-alb-external"
ALB_ID_ANNOTATION = "alb.networking.azure.io/alb-id"
FRONTEND_ADDRESS_TYPE = "alb.networking.azure.io/alb-frontend"
SUBNET_DELEGATION = "Microsoft.ServiceNetworking/trafficControllers"


@dataclass(frozen=True)
class GatewayControllerArgs:
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    # The resource group holding the AGC resources, and the one AKS keeps the nodes in.
    resource_group_id: pulumi.Input[str]
    node_resource_group_id: pulumi.Input[str]
    location: str
    vnet_name: pulumi.Input[str]
    # A /24 of the cluster's VNet, delegated to AGC alone (stacks.aks.agc_subnet_cidr).
    subnet_cidr: str
    oidc_issuer_url: pulumi.Input[str]
    kubernetes_provider: k8s.Provider
    # Where the controller pods run (on-demand, never scaled to zero), and the resource that
    # creates that pool (the cluster, for the system pool): the release waits for it.
    system_pool: PoolContract
    system_pool_resource: pulumi.Resource
    tags: dict[str, str] = field(default_factory=dict)
    # What the subnet must wait for: Azure refuses concurrent subnet changes in one VNet.
    subnet_depends_on: list[pulumi.Resource] = field(default_factory=list)


class GatewayController(pulumi.ComponentResource):
    """Needs the azure-native provider in `opts.providers`."""

    subnet: network.Subnet
    traffic_controller: servicenetworking.TrafficControllerInterface
    frontend: servicenetworking.FrontendsInterface
    association: servicenetworking.AssociationsInterface
    identity: managedidentity.UserAssignedIdentity
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: GatewayControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:azure:GatewayController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.subnet_cidr = args.subnet_cidr
        self.subnet = network.Subnet(
            f"{name}-subnet",
            resource_group_name=args.resource_group_name,
            virtual_network_name=args.vnet_name,
            address_prefix=args.subnet_cidr,
            delegations=[network.DelegationArgs(name="agc", service_name=SUBNET_DELEGATION)],
            # AGC's proxies only answer clients and reach pods inside the VNet.
            default_outbound_access=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.subnet_depends_on),
        )
        self.traffic_controller = servicenetworking.TrafficControllerInterface(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        self.frontend = servicenetworking.FrontendsInterface(
            f"{name}-frontend",
            resource_group_name=args.resource_group_name,
            traffic_controller_name=self.traffic_controller.name,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        self.association = servicenetworking.AssociationsInterface(
            f"{name}-association",
            resource_group_name=args.resource_group_name,
            traffic_controller_name=self.traffic_controller.name,
            association_type=servicenetworking.AssociationType.SUBNETS,
            subnet=servicenetworking.AssociationSubnetArgs(id=self.subnet.id),
            location=args.location,
            tags=args.tags,
            opts=child,
        )

        # The controller's Azure identity: it programs the AGC above and nothing else.
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-controller",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags={
                **args.tags,
                "kubernetes-service-account": f"{CONTROLLER_NAMESPACE}.{CONTROLLER_SERVICE_ACCOUNT}",
            },
            opts=child,
        )
        federation = managedidentity.FederatedIdentityCredential(
            f"{name}-controller-federation",
            resource_group_name=args.resource_group_name,
            resource_name_=self.identity.name,
            issuer=args.oidc_issuer_url,
            subject=service_account_subject(CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        grants = [
            self._grant(
                f"{name}-configuration",
                args,
                APPGW_FOR_CONTAINERS_CONFIGURATION_MANAGER,
                args.resource_group_id,
                "ALB controller programs the Application Gateway for Containers in this resource group",
            ),
            self._grant(
                f"{name}-subnet-join",
                args,
                NETWORK_CONTRIBUTOR,
                self.subnet.id,
                "ALB controller joins Application Gateway for Containers to its delegated subnet",
            ),
            self._grant(
                f"{name}-nodes-reader",
                args,
                READER,
                args.node_resource_group_id,
                "ALB controller reads the node network (VM scale sets) to reach pods",
            ),
        ]

        scheduling = args.system_pool.pod_scheduling()
        self.release = chart_release(
            name,
            ALB_CONTROLLER,
            RELEASE_NAMESPACE,
            {
                "albController": {
                    "namespace": CONTROLLER_NAMESPACE,
                    "podIdentity": {"clientID": self.identity.client_id},
                    "controller": {
                        "nodeSelector": scheduling["nodeSelector"],
                        "tolerations": scheduling.get("tolerations", []),
                    },
                }
            },
            # Rights first: a controller that starts without them backs off for minutes.
            pulumi.ResourceOptions(
                parent=self,
                provider=args.kubernetes_provider,
                depends_on=[federation, *grants, self.association, self.frontend, args.system_pool_resource],
            ),
            create_namespace=False,
        )

        self.gateway_annotations: dict[str, pulumi.Input[str]] = {
            ALB_ID_ANNOTATION: self.traffic_controller.id
        }
        self.gateway_addresses = (GatewayAddress(FRONTEND_ADDRESS_TYPE, self.frontend.name),)
        self.register_outputs(
            {
                "trafficController": self.traffic_controller.id,
                "frontendFqdn": self.frontend.fqdn,
                "subnet": self.subnet.id,
                "controllerClientId": self.identity.client_id,
            }
        )

    def _grant(
        self,
        name: str,
        args: GatewayControllerArgs,
        role: str,
        scope: pulumi.Input[str],
        description: str,
    ) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            name,
            principal_id=self.identity.principal_id,
            principal_type=SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(args.subscription_id, role),
            scope=scope,
            description=description,
            opts=pulumi.ResourceOptions(parent=self),
        )
