"""Model artifacts on AKS: the Blob CSI driver enabled on the cluster, a static BlobFuse2 volume
mounted read-only with the model's workload identity token, and MODEL_URI as the blob URL."""

from __future__ import annotations

from components.azure.roles import STORAGE_BLOB_DATA_READER
from tests.helpers import one

PV = "kubernetes:core/v1:PersistentVolume"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _pod(aks, name: str) -> dict:
    return one(aks.record, DEPLOYMENT, f"aks-{name}-deployment").inputs["spec"]["template"]["spec"]


def test_the_cluster_runs_the_blob_csi_driver(aks):
    cluster = one(aks.record, "azure-native:containerservice:ManagedCluster").inputs
    assert cluster["storageProfile"]["blobCSIDriver"] == {"enabled": True}


def test_blobfuse2_mounts_the_artifact_path_with_the_models_identity(aks):
    (volume,) = (r.inputs for r in aks.record.of_type(PV))
    csi = volume["spec"]["csi"]
    attributes = csi["volumeAttributes"]
    assert csi["driver"] == "blob.csi.azure.com" and csi["readOnly"] is True
    assert attributes["protocol"] == "fuse2"
    # The storage account refuses shared keys: the mount uses the pod's token only.
    assert attributes["mountWithWorkloadIdentityToken"] == "true"
    account = one(aks.record, "kubernetes:core/v1:ServiceAccount", "aks-model2-sa").inputs
    assert attributes["clientID"] == account["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert attributes["containerName"] == "artifacts"
    assert {"-o ro", "--subdirectory=models/embeddings/0.9"} <= set(volume["spec"]["mountOptions"])
    assert volume["spec"]["claimRef"] == {"namespace": "ml", "name": "model2-artifacts"}
    pod = _pod(aks, "model2")
    assert {
        "name": "model-artifacts",
        "persistentVolumeClaim": {"claimName": "model2-artifacts", "readOnly": True},
    } in (pod["volumes"])
    # The identity reads exactly the mounted container.
    grant = one(aks.record, "azure-native:authorization:RoleAssignment", "aks-model2-artifacts").inputs
    assert grant["scope"] == aks.outputs["container.artifacts"]
    assert grant["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_READER)


def test_model_uri_is_the_blob_url_of_the_path(aks):
    env = {e["name"]: e["value"] for e in _pod(aks, "model2")["containers"][0]["env"]}
    account = one(aks.record, PV).inputs["spec"]["csi"]["volumeAttributes"]["storageAccount"]
    assert env["MODEL_URI"] == f"https://{account}.blob.core.windows.net/artifacts/models/embeddings/0.9"
    assert env["MODEL_DIR"] == "/models"
