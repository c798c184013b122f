"""VNet for CNI overlay: a node subnet (first half of the range), egress only via NAT gateway."""

from __future__ import annotations

from tests.helpers import one


def test_vnet_spans_the_configured_range(aks):
    vnet = one(aks.record, "azure-native:network:VirtualNetwork", "aks-vnet")
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == ["10.60.0.0/20"]


def test_node_subnet_is_the_first_half_and_egresses_through_nat(aks):
    subnet = one(aks.record, "azure-native:network:Subnet", "aks-vnet-nodes")
    nat = one(aks.record, "azure-native:network:NatGateway", "aks-vnet-nat")
    assert subnet.inputs["addressPrefix"] == "10.60.0.0/21"
    assert subnet.inputs["natGateway"]["id"] == nat.id
    assert subnet.inputs["defaultOutboundAccess"] is False
    assert (
        subnet.inputs["virtualNetworkName"]
        == one(aks.record, "azure-native:network:VirtualNetwork").id.rsplit("/", 1)[-1]
    )
    assert [e["service"] for e in subnet.inputs["serviceEndpoints"]] == ["Microsoft.Storage"]


def test_nat_gateway_has_one_static_standard_ip(aks):
    nat = one(aks.record, "azure-native:network:NatGateway", "aks-vnet-nat")
    ip = one(aks.record, "azure-native:network:PublicIPAddress", "aks-vnet-egress")
    assert nat.inputs["sku"]["name"] == "Standard"
    assert nat.inputs["publicIpAddresses"] == [{"id": ip.id}]
    assert ip.inputs["publicIPAllocationMethod"] == "Static"
    assert ip.inputs["sku"]["name"] == "Standard"
