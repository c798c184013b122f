"""Model artifacts on EKS: the Mountpoint for Amazon S3 CSI driver add-on, a static volume bound
to the model's namespace, mounted read-only as the model's own IRSA role."""

from __future__ import annotations

import json

PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
DEPLOYMENT = ("kubernetes:apps/v1:Deployment", "main-embeddings-deployment")
ADDON = ("aws:eks/addon:Addon", "main-addons-s3-csi")


def test_the_s3_csi_driver_is_a_pinned_eks_addon(eks):
    addon = eks.custom("aws:eks/addon:Addon")["main-addons-s3-csi"]
    assert addon["addonName"] == "aws-mountpoint-s3-csi-driver"
    assert addon["addonVersion"].startswith("v1.35.0-eksbuild.")
    # No driver-level role: volumes authenticate as their pods.
    assert "serviceAccountRoleArn" not in addon


def test_a_static_volume_mounts_the_artifact_prefix_read_only_as_the_pod(eks):
    (volume,) = eks.custom(PV).values()
    (claim,) = eks.custom(PVC).values()
    csi = volume["spec"]["csi"]
    assert csi["driver"] == "s3.csi.aws.com" and csi["readOnly"] is True
    assert csi["volumeAttributes"]["authenticationSource"] == "pod"
    assert csi["volumeAttributes"]["stsRegion"] == "eu-west-1"
    assert {"read-only", "prefix models/embeddings/0.9/", "allow-other", "uid=10001"} <= set(
        volume["spec"]["mountOptions"]
    )
    # Bound one-to-one: no claim in another namespace can take the volume.
    assert volume["spec"]["claimRef"] == {"namespace": "ml", "name": "embeddings-artifacts"}
    assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    pod = eks.resource(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    artifacts = next(v for v in pod["volumes"] if v["name"] == "model-artifacts")
    assert artifacts["persistentVolumeClaim"] == {"claimName": "embeddings-artifacts", "readOnly": True}
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert csi["volumeAttributes"]["bucketName"] == env["MODEL_BUCKET"]
    assert env["MODEL_DIR"] == "/models"


def test_the_models_role_reads_exactly_its_bucket(eks):
    (volume,) = eks.custom(PV).values()
    bucket = volume["spec"]["csi"]["volumeAttributes"]["bucketName"]
    policy = json.loads(eks.custom("aws:iam/rolePolicy:RolePolicy")["main-embeddings-aws-access"]["policy"])
    s3 = [statement for statement in policy["Statement"] if statement["Action"][0].startswith("s3:")]
    actions = {action for statement in s3 for action in statement["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject"}
    resources = {r for statement in s3 for r in statement["Resource"]}
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}


def test_pods_wait_for_the_driver_and_their_claim(eks):
    assert eks.waits_for(DEPLOYMENT, ADDON)
    assert eks.waits_for(DEPLOYMENT, (PVC, "main-embeddings-artifacts-pvc"))
    assert eks.waits_for((PV, "main-embeddings-artifacts-pv"), ADDON)
