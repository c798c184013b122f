"""A workload's model artifacts, read-only at MOUNT_PATH: the cluster's bucket through its cloud's
CSI driver (GKE Cloud Storage FUSE, Mountpoint for Amazon S3, Azure BlobFuse2), with the identity
the workload's ServiceAccount is bound to; on a cluster without one, an init container copies the
objects into the cache volume."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.contract import PoolContract
from components.handle import BucketDriver, IdentityBinding
from components.k8s.pod import RUN_AS_USER, ContainerResources, ContainerSpec, container, object_metadata

MOUNT_PATH = "/models"
# Under the cache volume, where the init container copies a URI on clusters without a driver.
DOWNLOAD_DIR = "model"
VOLUME = "model-artifacts"
# Static PersistentVolumes need a capacity; object-store drivers ignore it (Mountpoint CSI docs,
# CONFIGURATION.md "Static Provisioning": "Value is ignored but required by Kubernetes").
NOMINAL_CAPACITY = "1Ti"

# The Cloud Storage FUSE sidecar GKE injects defaults to 250m CPU and 256Mi memory
# (GoogleCloudPlatform/gcs-fuse-csi-driver@5fcdc04, cmd/webhook/main.go), too little to stream
# weights; these pod annotations size it (pkg/webhook/mutatingwebhook.go, gke-gcsfuse/*).
GCSFUSE_SIDECAR = {
    "gke-gcsfuse/cpu-request": "500m",
    "gke-gcsfuse/cpu-limit": "2",
    "gke-gcsfuse/memory-request": "512Mi",
    "gke-gcsfuse/memory-limit": "2Gi",
    "gke-gcsfuse/ephemeral-storage-request": "1Gi",
    "gke-gcsfuse/ephemeral-storage-limit": "5Gi",
}

# Downloaders for clusters without a bucket driver, by URI scheme: pinned CLI images
# (docs.aws.amazon.com/cli/latest/userguide/getting-started-docker.html, "Use specific versions
# and tags"; cloud.google.com/sdk/docs/downloads-docker, "-slim" images) and the command that
# copies a prefix recursively (`aws s3 sync`, `gcloud storage rsync --recursive`).
DOWNLOADERS = {
    "s3": ("public.ecr.aws/aws-cli/aws-cli:2.32.2", ["aws", "s3", "sync", "--only-show-errors"], {}),
    "gs": (
        "gcr.io/google.com/cloudsdktool/google-cloud-cli:525.0.0-slim",
        ["gcloud", "storage", "rsync", "--recursive"],
        # gcloud writes its configuration here (cloud.google.com/sdk/docs/configurations).
        {"CLOUDSDK_CONFIG": "/tmp/gcloud"},
    ),
}
DOWNLOADER_RESOURCES = ContainerResources(cpu="500m", memory="512Mi", cpu_limit="1", memory_limit="1Gi")


@dataclass(frozen=True)
class ArtifactSource:
    """The artifacts of one workload: a bucket of the cluster and a path in it, or a URI to copy."""

    path: str
    # Physical bucket (GCS, S3) or blob container name.
    bucket: pulumi.Input[str] | None = None
    driver: BucketDriver | None = None
    # gs:// or s3:// URI copied by an init container (clusters without a driver).
    uri: str | None = None


@dataclass(frozen=True)
class ArtifactMount:
    """What the pod template needs for its artifacts."""

    volumes: list[dict]
    # None: the files are in the cache volume the server mounts anyway.
    volume_mount: dict | None
    pod_annotations: dict[str, str] = field(default_factory=dict)
    init_containers: list[dict] = field(default_factory=list)
    # What the pods wait for: the driver and the volume claim.
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def artifacts_directory(source: ArtifactSource, cache_dir: str | None) -> str:
    """Where the workload's containers find the files."""
    return MOUNT_PATH if source.driver is not None else f"{cache_dir}/{DOWNLOAD_DIR}"


def artifact_mount(
    name: str,
    workload: str,
    namespace: str,
    source: ArtifactSource,
    binding: IdentityBinding,
    pool: PoolContract,
    cache_dir: str | None,
    parent: pulumi.Resource,
) -> ArtifactMount:
    """Declare what `workload` needs to read `source` (children of `parent`), read-only."""
    driver = source.driver
    read_only = {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}
    if driver is None:
        return _download(source, pool, cache_dir)
    if driver.kind == "gcsfuse":
        # CSI ephemeral volume (cloud.google.com/kubernetes-engine/docs/how-to/
        # cloud-storage-fuse-csi-driver-ephemeral): the sidecar authenticates as the pod's
        # Workload Identity; `only-dir` mounts the path as the root, `implicit-dirs` shows the
        # prefixes that have no directory object; uid/gid make the files the server's
        # (gcs-fuse-csi-driver examples/ephemeral/deployment-non-root.yaml).
        options = f"implicit-dirs,only-dir={source.path},uid={RUN_AS_USER},gid={RUN_AS_USER}"
        volume = {
            "name": VOLUME,
            "csi": {
                "driver": "gcsfuse.csi.storage.gke.io",
                "readOnly": True,
                "volumeAttributes": {"bucketName": source.bucket, "mountOptions": options},
            },
        }
        return ArtifactMount(
            volumes=[volume],
            volume_mount=read_only,
            pod_annotations={"gke-gcsfuse/volumes": "true", **GCSFUSE_SIDECAR},
        )
    claim_name, claim = _static_volume(name, workload, namespace, source, binding, driver, parent)
    return ArtifactMount(
        volumes=[{"name": VOLUME, "persistentVolumeClaim": {"claimName": claim_name, "readOnly": True}}],
        volume_mount=read_only,
        depends_on=[*driver.ready, claim],
    )


def _static_volume(
    name: str,
    workload: str,
    namespace: str,
    source: ArtifactSource,
    binding: IdentityBinding,
    driver: BucketDriver,
    parent: pulumi.Resource,
) -> tuple[str, k8s.core.v1.PersistentVolumeClaim]:
    """A PersistentVolume bound to exactly one claim in the workload's namespace (claimRef), so no
    other namespace can mount the bucket through it."""
    claim_name = f"{workload}-artifacts"
    # PersistentVolumes are cluster-scoped: the namespace keeps the name unique.
    volume_name = f"{namespace}-{workload}-artifacts"
    ids = {"uid": RUN_AS_USER, "gid": RUN_AS_USER}
    if driver.kind == "mountpoint-s3":
        # Mountpoint for Amazon S3 CSI driver v2 (awslabs/mountpoint-s3-csi-driver@57c6bed,
        # docs/CONFIGURATION.md "Pod-Level Credentials", "Configuring the STS region";
        # examples/kubernetes/static_provisioning/non_root.yaml): the pod's own IRSA role,
        # read-only, the path as the root (Mountpoint's --prefix ends with '/').
        mount_options = [
            "read-only",
            f"prefix {source.path}/",
            f"region {driver.region}",
            *(f"{key}={value}" for key, value in ids.items()),
            "allow-other",
        ]
        csi = {
            "driver": "s3.csi.aws.com",
            "volumeHandle": volume_name,
            "readOnly": True,
            "volumeAttributes": {
                "bucketName": source.bucket,
                "authenticationSource": "pod",
                "stsRegion": driver.region,
            },
        }
        annotations = None
    else:
        # Blob CSI driver, BlobFuse2 with the pod's workload identity token only: the storage
        # account refuses shared keys (kubernetes-sigs/blob-csi-driver@0744a60,
        # docs/workload-identity-static-pv-mount.md and docs/driver-parameters.md: clientID,
        # mountWithWorkloadIdentityToken, protocol fuse2); `--subdirectory` mounts the path
        # (Azure/azure-storage-fuse README, mount options); `-o ro` read-only.
        client_id = binding.client_id
        assert client_id is not None  # AKS bindings carry their identity's client ID
        mount_options = [
            "-o ro",
            "-o allow_other",
            *(f"-o {key}={value}" for key, value in ids.items()),
            f"--subdirectory={source.path}",
        ]
        csi = {
            "driver": "blob.csi.azure.com",
            # Unique per volume in the cluster (a driver processes a handle once).
            "volumeHandle": pulumi.Output.concat(
                driver.storage_account, "#", source.bucket, "#", volume_name
            ),
            "readOnly": True,
            "volumeAttributes": {
                "storageAccount": driver.storage_account,
                "containerName": source.bucket,
                "resourceGroup": driver.resource_group,
                "protocol": "fuse2",
                "clientID": client_id,
                "mountWithWorkloadIdentityToken": "true",
            },
        }
        annotations = {"pv.kubernetes.io/provisioned-by": "blob.csi.azure.com"}
    opts = pulumi.ResourceOptions(parent=parent, depends_on=list(driver.ready))
    labels = {"app.kubernetes.io/name": workload, "app.kubernetes.io/managed-by": "pulumi"}
    volume = k8s.core.v1.PersistentVolume(
        f"{name}-artifacts-pv",
        metadata=object_metadata(volume_name, None, labels, annotations),
        spec={
            "capacity": {"storage": NOMINAL_CAPACITY},
            "accessModes": ["ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            # Static provisioning: no StorageClass (both drivers' docs).
            "storageClassName": "",
            "claimRef": {"namespace": namespace, "name": claim_name},
            "mountOptions": mount_options,
            "csi": csi,
        },
        opts=opts,
    )
    return claim_name, k8s.core.v1.PersistentVolumeClaim(
        f"{name}-artifacts-pvc",
        metadata=object_metadata(claim_name, namespace, labels),
        spec={
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": "",
            "volumeName": volume_name,
            "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[volume]),
    )


def _download(source: ArtifactSource, pool: PoolContract, cache_dir: str | None) -> ArtifactMount:
    """An init container copies the URI into the cache volume before the server starts."""
    assert source.uri is not None and cache_dir is not None  # the config requires both here
    image, command, env = DOWNLOADERS[source.uri.split("://", 1)[0]]
    directory = artifacts_directory(source, cache_dir)
    downloader = container(
        ContainerSpec(
            name="download-artifacts",
            image=image,
            resources=DOWNLOADER_RESOURCES,
            command=[*command, source.uri, directory],
            # The CLIs keep config and credential caches under HOME; the root is read-only.
            env={"HOME": "/tmp", **env},
            volume_mounts=[{"name": "cache", "mountPath": cache_dir}],
        ),
        pool,
    )
    return ArtifactMount(
        volumes=[],
        volume_mount=None,
        init_containers=[downloader],
    )
