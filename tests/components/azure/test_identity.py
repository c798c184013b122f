"""Workload identity: a managed identity per workload, federated with the cluster's OIDC issuer
for exactly its ServiceAccount, with a blob data role on exactly its containers."""

from __future__ import annotations

import re

import pytest

from components.azure.identity import AksWorkloadIdentity
from components.azure.roles import STORAGE_BLOB_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_READER
from tests.helpers import one

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _grants(record, prefix):
    return {r.name: r.inputs for r in record.of_type(ROLE_ASSIGNMENT) if r.name.startswith(prefix + "-")}


def test_federated_credential_trusts_the_cluster_issuer_for_one_service_account(aks):
    identity = one(aks.record, IDENTITY, "probe")
    federation = one(aks.record, FEDERATION, "probe-federation").inputs
    assert federation["resourceName"] == identity.id.rsplit("/", 1)[-1]
    assert federation["issuer"] == aks.outputs["issuer"]
    assert federation["subject"] == "system:serviceaccount:research:probe"
    assert federation["audiences"] == ["api://AzureADTokenExchange"]


def test_role_assignment_gives_the_identity_exactly_its_container(aks):
    (grant,) = _grants(aks.record, "probe").values()
    assert grant["principalId"] == aks.outputs["probe.principal"]
    assert grant["principalType"] == "ServicePrincipal"
    assert grant["scope"] == aks.outputs["container.datasets"]
    assert grant["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_CONTRIBUTOR)


def test_models_and_jobs_bind_their_service_accounts(aks):
    for workload, subject in [
        ("aks-model1", "system:serviceaccount:ml:model1"),
        ("aks-nightly-batch", "system:serviceaccount:ml:nightly-batch"),
    ]:
        identity = one(aks.record, IDENTITY, workload)
        assert identity.parent == one(aks.record, "mlplatform:azure:WorkloadIdentity", workload).urn
        assert one(aks.record, FEDERATION, f"{workload}-federation").inputs["subject"] == subject


def test_access_maps_to_reader_or_contributor_on_each_named_container(aks):
    grants = _grants(aks.record, "aks-nightly-batch")
    assert {name: (g["scope"], g["roleDefinitionId"].rsplit("/", 1)[-1]) for name, g in grants.items()} == {
        "aks-nightly-batch-datasets": (aks.outputs["container.datasets"], STORAGE_BLOB_DATA_READER),
        "aks-nightly-batch-artifacts": (aks.outputs["container.artifacts"], STORAGE_BLOB_DATA_CONTRIBUTOR),
    }
    # model1 reads artifacts and nothing else.
    assert [g["scope"] for g in _grants(aks.record, "aks-model1").values()] == [
        aks.outputs["container.artifacts"]
    ]


def test_service_account_carries_the_client_id_and_pods_opt_in(aks):
    account = one(aks.record, "kubernetes:core/v1:ServiceAccount", "aks-model1-sa").inputs
    client_id = account["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert GUID.match(client_id)
    other = one(aks.record, "kubernetes:core/v1:ServiceAccount", "aks-model2-sa").inputs
    assert other["metadata"]["annotations"]["azure.workload.identity/client-id"] != client_id
    template = one(aks.record, "kubernetes:apps/v1:Deployment", "aks-model1-deployment").inputs["spec"][
        "template"
    ]
    assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert template["spec"]["serviceAccountName"] == "model1"


def test_binding_an_unknown_bucket_is_refused():
    identity = AksWorkloadIdentity(
        # Refused before anything is declared: no provider or parent is needed.
        provider=None,  # type: ignore[arg-type]
        subscription_id="s",
        resource_group_name="rg",
        location="westeurope",
        oidc_issuer_url="https://issuer",
        container_ids={"artifacts": "id"},
    )
    with pytest.raises(
        ValueError, match=r"ml/model1 asks for bucket\(s\) scratch, which the cluster does not have"
    ):
        identity.bind("x", "ml", "model1", {"scratch": "read"}, parent=None)  # type: ignore[arg-type]
