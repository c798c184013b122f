"""ACR: admin user off, untagged manifests expire, the kubelet identity (only) may pull."""

from __future__ import annotations

import re

from components.azure.roles import ACR_PULL
from tests.helpers import one

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def test_registry_authenticates_with_entra_id_only(aks):
    registry = one(aks.record, "azure-native:containerregistry:Registry", "aks-models").inputs
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False
    assert registry["sku"] == {"name": "Premium"}
    assert registry["policies"]["retentionPolicy"] == {"days": 14, "status": "enabled"}
    assert registry["zoneRedundancy"] == "Enabled"


def test_registry_name_is_globally_unique_and_readable(aks):
    name = one(aks.record, "azure-native:containerregistry:Registry", "aks-models").inputs["registryName"]
    assert re.fullmatch(r"stagingaksmodels[0-9a-f]{6}", name)


def test_acr_pull_is_granted_to_the_kubelet_identity_on_the_registry(aks):
    registry = one(aks.record, "azure-native:containerregistry:Registry", "aks-models")
    pulls = [
        r for r in aks.record.of_type(ROLE_ASSIGNMENT) if r.inputs["roleDefinitionId"].endswith(ACR_PULL)
    ]
    assert len(pulls) == 1
    (pull,) = pulls
    assert pull.inputs["scope"] == registry.id
    assert pull.inputs["principalId"] == aks.outputs["kubelet"]
    assert pull.inputs["principalType"] == "ServicePrincipal"
