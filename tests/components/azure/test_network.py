"""VNet for CNI overlay: a node subnet (first half of the range), egress only via NAT gateway;
the VNet flow logs under the region's Network Watcher, into a storage account of their own."""

from __future__ import annotations

import uuid

import pytest
import yaml

from plan import emulators
from plan.engine import PROJECT_DIR, ProgramError
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


FLOW_LOG = "azure-native:network:FlowLog"
STORAGE = "azure-native:storage:StorageAccount"


def _example() -> dict:
    return yaml.safe_load((PROJECT_DIR / "examples" / "azure-aks.yaml").read_text())


def _azure(document: dict) -> dict:
    return document["config"]["mlplatform:clusters"]["aks"]["azure"]


def test_the_vnet_flow_log_lives_under_the_regions_network_watcher(aks):
    flow_log = one(aks.record, FLOW_LOG, "aks-flow-logs")
    vnet = one(aks.record, "azure-native:network:VirtualNetwork", "aks-vnet")
    assert flow_log.inputs["targetResourceId"] == vnet.id
    # The watcher Azure creates itself with the region's first VNet.
    assert (flow_log.inputs["resourceGroupName"], flow_log.inputs["networkWatcherName"]) == (
        "NetworkWatcherRG",
        "NetworkWatcher_westeurope",
    )
    assert flow_log.inputs["location"] == "westeurope"
    assert flow_log.inputs["enabled"] is True
    assert flow_log.inputs["retentionPolicy"] == {"enabled": True, "days": 90}
    assert flow_log.inputs["flowAnalyticsConfiguration"] == {
        "networkWatcherFlowAnalyticsConfiguration": {"enabled": False}
    }


WATCHER = "azure-native:network:NetworkWatcher"


def _subscription_of(document: dict) -> str:
    return _azure(document)["subscriptionId"]


def test_the_regions_watcher_is_adopted_before_the_vnet_and_outlives_the_stack(plan_of):
    document = _example()
    record = plan_of(document)
    group_id = f"/subscriptions/{_subscription_of(document)}/resourceGroups/NetworkWatcherRG"
    watcher = one(record, WATCHER, "aks-network-watcher")
    group = one(record, "azure-native:resources:ResourceGroup", "aks-network-watcher-group")
    assert group.options["import"] == group_id
    assert (
        watcher.options["import"]
        == f"{group_id}/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope"
    )
    assert watcher.inputs["networkWatcherName"] == "NetworkWatcher_westeurope"
    for adopted in (watcher, group):
        # The subscription's, shared with every VNet of the region: never deleted with the stack,
        # and its tags are not the platform's to overwrite.
        assert adopted.options["retainOnDelete"] is True
    assert watcher.options["ignoreChanges"] == ["tags"]
    # The group holds every region's watcher, wherever the subscription's first VNet was.
    assert sorted(group.options["ignoreChanges"]) == ["location", "tags"]
    vnet = one(record, "azure-native:network:VirtualNetwork", "aks-vnet")
    flow_log = one(record, FLOW_LOG, "aks-flow-logs")
    assert record.depends_on(vnet.urn, watcher.urn) and record.depends_on(flow_log.urn, watcher.urn)


def test_a_fresh_region_gets_the_watcher_created_before_its_first_vnet(plan_of, monkeypatch):
    # The first VNet of a region makes Azure create the watcher, too late for a flow log declared
    # right after it (Azure/AKS-Construction#410): the platform creates it first.
    def fresh_region(args):
        raise emulators.InvokeRefusedError(
            f"ResourceNotFound: {args['networkWatcherName']} under {args['resourceGroupName']} was not found"
        )

    monkeypatch.setitem(emulators.CALLS, "azure-native:network:getNetworkWatcher", fresh_region)
    record = plan_of(_example())
    watcher = one(record, WATCHER, "aks-network-watcher")
    assert "import" not in watcher.options and watcher.options["retainOnDelete"] is True


def test_a_failed_watcher_lookup_other_than_not_found_stops_the_run(plan_of, monkeypatch):
    def denied(args):
        raise emulators.InvokeRefusedError("AuthorizationFailed: the client may not read networkWatchers")

    monkeypatch.setitem(emulators.CALLS, "azure-native:network:getNetworkWatcher", denied)
    with pytest.raises(ProgramError, match="AuthorizationFailed"):
        plan_of(_example())


def test_flow_logs_get_a_storage_account_of_their_own_that_keeps_its_keys(aks):
    flow_log = one(aks.record, FLOW_LOG, "aks-flow-logs")
    account = one(aks.record, STORAGE, "aks-flow-logs")
    buckets = one(aks.record, STORAGE, "aks-storage")
    assert flow_log.inputs["storageId"] == account.id != buckets.id
    # Flow logs write with the account keys; the buckets' account stays Entra ID only.
    assert (account.inputs["allowSharedKeyAccess"], buckets.inputs["allowSharedKeyAccess"]) == (True, False)
    rules = account.inputs["networkRuleSet"]
    assert (rules["defaultAction"], rules["bypass"]) == ("Deny", "AzureServices")
    assert rules["virtualNetworkRules"] == []
    assert account.inputs["allowBlobPublicAccess"] is False
    assert account.inputs["kind"] == "StorageV2"  # retention needs general-purpose v2


def test_flow_logs_off_declare_neither_log_nor_account(plan_of):
    document = _example()
    _azure(document)["flowLogRetentionDays"] = None
    record = plan_of(document)
    assert record.of_type(FLOW_LOG) == []
    assert [a.name for a in record.of_type(STORAGE)] == ["aks-storage"]


def test_traffic_analytics_writes_to_the_control_plane_logs_workspace(plan_of):
    document = _example()
    _azure(document).update(
        trafficAnalytics=True,
        flowLogRetentionDays=30,
        networkWatcher={"name": "nw-weu", "resourceGroup": "network-ops"},
    )
    record = plan_of(document)
    flow_log = one(record, FLOW_LOG, "aks-flow-logs")
    workspace = one(record, "azure-native:operationalinsights:Workspace")
    analytics = flow_log.inputs["flowAnalyticsConfiguration"]["networkWatcherFlowAnalyticsConfiguration"]
    assert analytics["enabled"] is True
    assert (analytics["workspaceResourceId"], analytics["workspaceRegion"]) == (workspace.id, "westeurope")
    # The workspace's GUID (its customerId), not its resource id.
    assert uuid.UUID(analytics["workspaceId"]) and analytics["workspaceId"] not in workspace.id
    assert flow_log.inputs["retentionPolicy"]["days"] == 30
    assert (flow_log.inputs["resourceGroupName"], flow_log.inputs["networkWatcherName"]) == (
        "network-ops",
        "nw-weu",
    )
    # A watcher the subscription keeps elsewhere is only named, never adopted.
    assert record.of_type(WATCHER) == []
