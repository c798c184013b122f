"""Storage account: private, Entra-only, TLS 1.2+, HTTPS; a container per bucket; version expiry."""

from __future__ import annotations

import re

import pytest

from components.azure.storage import storage_ip_rules
from tests.helpers import one

ACCOUNT = "azure-native:storage:StorageAccount"


@pytest.fixture(scope="module")
def account(aks):
    return one(aks.record, ACCOUNT, "aks-storage").inputs


def test_account_is_private_and_entra_only(account):
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    assert account["encryption"]["requireInfrastructureEncryption"] is True
    assert account["sku"] == {"name": "Standard_ZRS"}
    assert re.fullmatch(r"[a-z0-9]{3,24}", account["accountName"])


def test_firewall_admits_the_node_subnet_and_operators_only(aks, account):
    subnet = one(aks.record, "azure-native:network:Subnet", "aks-vnet-nodes")
    rules = account["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["virtualNetworkRules"] == [{"virtualNetworkResourceId": subnet.id, "action": "Allow"}]
    assert rules["ipRules"] == [{"iPAddressOrRange": "198.51.100.0/24", "action": "Allow"}]


def test_one_private_container_per_bucket(aks, account):
    containers = {
        c.inputs["containerName"]: c.inputs for c in aks.record.of_type("azure-native:storage:BlobContainer")
    }
    assert set(containers) == {"artifacts", "datasets"}
    for container in containers.values():
        assert container["publicAccess"] == "None"
        assert container["accountName"] == account["accountName"]
    assert aks.handle.buckets.keys() == {"artifacts", "datasets"}


def test_versions_are_kept_for_the_configured_days_then_expire(aks):
    service = one(aks.record, "azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    rules = one(aks.record, "azure-native:storage:ManagementPolicy").inputs["policy"]["rules"]
    expiry = {
        rule["definition"]["filters"]["prefixMatch"][0]: rule["definition"]["actions"]["version"]["delete"][
            "daysAfterCreationGreaterThan"
        ]
        for rule in rules
    }
    # datasets opts out of versioning, which is account-wide: its old versions go after a day.
    assert expiry == {"artifacts/": 30, "datasets/": 1}
    assert all(re.fullmatch(r"[A-Za-z0-9]+", rule["name"]) for rule in rules)


@pytest.mark.parametrize(
    ("cidrs", "rules"),
    [
        (["198.51.100.0/24"], ["198.51.100.0/24"]),
        (["203.0.113.7/32"], ["203.0.113.7"]),
        (["203.0.113.6/31"], ["203.0.113.6", "203.0.113.7"]),
        (["10.1.0.0/16", "192.168.4.0/24", "198.51.100.0/24"], ["198.51.100.0/24"]),
    ],
)
def test_storage_ip_rules_fit_the_storage_firewall(cidrs, rules):
    assert storage_ip_rules(cidrs) == rules
