"""Secrets on AKS: the Key Vault provider add-on, a SecretProviderClass using the model's
workload identity, and Key Vault Secrets User on exactly the named secret."""

from __future__ import annotations

import yaml

from components.azure.roles import KEY_VAULT_SECRETS_USER
from tests.helpers import one

PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


def test_the_cluster_runs_the_key_vault_provider_add_on(aks):
    cluster = one(aks.record, "azure-native:containerservice:ManagedCluster").inputs
    assert cluster["addonProfiles"]["azureKeyvaultSecretsProvider"]["enabled"] is True


def test_the_provider_class_uses_the_models_workload_identity(aks):
    spec = one(aks.record, PROVIDER_CLASS).inputs["spec"]
    account = one(aks.record, "kubernetes:core/v1:ServiceAccount", "aks-model2-sa").inputs
    parameters = spec["parameters"]
    assert spec["provider"] == "azure" and parameters["usePodIdentity"] == "false"
    assert parameters["clientID"] == account["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert parameters["keyvaultName"] == "acme-ml-staging"
    (entry,) = yaml.safe_load(parameters["objects"])["array"]
    assert yaml.safe_load(entry) == {
        "objectName": "embeddings-api-key",
        "objectType": "secret",
        "objectAlias": "API_KEY",
        "objectVersion": "",
    }


def test_the_identity_reads_exactly_its_secret(aks):
    grant = one(
        aks.record, "azure-native:authorization:RoleAssignment", "aks-model2-secret-embeddings-api-key"
    )
    assert grant.inputs["scope"] == (
        "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/ml-secrets"
        "/providers/Microsoft.KeyVault/vaults/acme-ml-staging/secrets/embeddings-api-key"
    )
    assert grant.inputs["roleDefinitionId"].endswith(KEY_VAULT_SECRETS_USER)
