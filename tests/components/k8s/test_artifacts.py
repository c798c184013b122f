"""Model artifacts mounted read-only from the cluster's bucket (GKE Cloud Storage FUSE here; EKS
and AKS in their packages), or downloaded by an init container on an existing cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plan.cli import main
from stacks.loading import ConfigError, load_stack_file
from tests.helpers import dig, one

PROJECT_DIR = Path(__file__).resolve().parents[3]
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _deployment(record, name: str) -> dict:
    return next(r.inputs for r in record.of_type(DEPLOYMENT) if r.inputs["metadata"]["name"] == name)


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def test_gke_mounts_the_artifact_path_read_only_through_cloud_storage_fuse(dev_plan):
    template = dig(_deployment(dev_plan, "model1"), "spec.template")
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == "model-artifacts")
    server = template["spec"]["containers"][0]
    env = _env(server)
    assert volume["csi"]["driver"] == "gcsfuse.csi.storage.gke.io"
    assert volume["csi"]["readOnly"] is True
    assert volume["csi"]["volumeAttributes"]["bucketName"] == env["MODEL_BUCKET"]
    options = volume["csi"]["volumeAttributes"]["mountOptions"].split(",")
    assert "only-dir=models/llm/1.2" in options and "uid=10001" in options
    assert {"name": "model-artifacts", "mountPath": "/models", "readOnly": True} in server["volumeMounts"]
    # The driver's webhook injects its sidecar only into annotated pods, sized here.
    annotations = template["metadata"]["annotations"]
    assert annotations["gke-gcsfuse/volumes"] == "true"
    assert annotations["gke-gcsfuse/memory-limit"] == "2Gi"
    # Names stay in env; the server reads the mount.
    assert env["MODEL_DIR"] == "/models" and env["MODEL_PATH"] == "models/llm/1.2"
    assert server["args"][server["args"].index("--model") + 1] == "$(MODEL_DIR)"
    # The cache and /dev/shm sizing stay as they were.
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["cache"]["emptyDir"] == {"sizeLimit": "40Gi"}
    assert volumes["shm"]["emptyDir"]["medium"] == "Memory"


def test_gke_mount_runs_as_the_models_identity_with_read_only_access_to_the_bucket(dev_plan):
    account = one(dev_plan, "kubernetes:core/v1:ServiceAccount", "main-model1-sa").inputs
    assert "iam.gke.io/gcp-service-account" in account["metadata"]["annotations"]
    grants = [r.inputs for r in dev_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")]
    model1 = [g for g in grants if r_name(dev_plan, g).startswith("main-model1-")]
    assert [g["role"] for g in model1] == ["roles/storage.objectViewer"]
    bucket = _env(dig(_deployment(dev_plan, "model1"), "spec.template.spec.containers.0"))["MODEL_BUCKET"]
    assert model1[0]["bucket"] == bucket
    addons = one(dev_plan, "gcp:container/cluster:Cluster").inputs["addonsConfig"]
    assert addons["gcsFuseCsiDriverConfig"] == {"enabled": True}


def r_name(record, inputs: dict) -> str:
    return next(r.name for r in record.resources if r.inputs is inputs)


def test_models_without_artifacts_mount_nothing(dev_plan):
    pod = dig(_deployment(dev_plan, "model2"), "spec.template")
    assert all(v["name"] != "model-artifacts" for v in pod["spec"]["volumes"])
    assert "gke-gcsfuse/volumes" not in pod["metadata"].get("annotations", {})


def test_existing_cluster_downloads_the_uri_into_the_cache_before_the_server_starts(plan_of):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    pod = dig(_deployment(plan_of(document), "chat"), "spec.template.spec")
    (init,) = pod["initContainers"]
    assert init["image"].startswith("public.ecr.aws/aws-cli/aws-cli:2.")
    assert init["command"][-2:] == ["s3://acme-lab-models/chat/0.7.2", "/cache/model"]
    assert {"name": "cache", "mountPath": "/cache"} in init["volumeMounts"]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert _env(pod["containers"][0])["MODEL_DIR"] == "/cache/model"
    assert {v["name"]: v for v in pod["volumes"]}["cache"]["emptyDir"] == {"sizeLimit": "200Gi"}


def test_gs_uris_download_with_gcloud(plan_of):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    document["config"]["mlplatform:models"]["chat"]["artifacts"] = {"uri": "gs://lab-models/chat/1"}
    (init,) = dig(_deployment(plan_of(document), "chat"), "spec.template.spec.initContainers")
    assert init["command"][:3] == ["gcloud", "storage", "rsync"]


@pytest.mark.parametrize(
    ("artifacts", "key", "message"),
    [
        ({"uri": "s3://other/models/x"}, "artifacts.uri", "mounts its own buckets"),
        ({"bucket": "artifacts"}, "artifacts.path", "give bucket and path"),
        ({"uri": "https://lab/m"}, "artifacts.uri", "not a gs:// or s3:// bucket path"),
        (
            {"bucket": "artifacts", "path": "m", "uri": "gs://lab-models/m"},
            "artifacts.uri",
            "not both",
        ),
    ],
)
def test_artifact_config_errors_name_the_key(dev_config, write_stack, artifacts, key, message):
    dev_config["config"]["mlplatform:models"]["model1"]["artifacts"] = artifacts
    with pytest.raises(ConfigError, match=rf"models\.model1\.{key}: .*{message}"):
        load_stack_file(write_stack(dev_config))


def test_a_download_needs_a_cache_size_and_exits_2_without_one(write_stack, capsys):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    chat = document["config"]["mlplatform:models"]["chat"]
    del chat["resources"]["cacheSize"]
    # A custom server has no preset cache size to fall back on (vLLM's would do).
    chat.pop("server")
    chat["port"] = 8000
    assert main(["preview", "--config", str(write_stack(document))]) == 2
    err = capsys.readouterr().err
    assert "models.chat.resources.cacheSize" in err and "Traceback" not in err


def test_jobs_name_their_data_by_bucket_not_uri(dev_config, write_stack):
    dev_config["config"]["mlplatform:jobs"]["train-bert"]["artifacts"] = {"uri": "gs://lab-data/train"}
    with pytest.raises(ConfigError, match=r"jobs\.train-bert\.artifacts\.uri: "):
        load_stack_file(write_stack(dev_config))


def test_jobs_mount_their_data_read_only_too(dev_config, plan_of):
    dev_config["config"]["mlplatform:jobs"]["train-bert"]["artifacts"] = {
        "bucket": "datasets",
        "path": "corpora/wiki",
    }
    job = one(plan_of(dev_config), "kubernetes:batch/v1:Job").inputs
    template = dig(job, "spec.template")
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == "model-artifacts")
    assert "only-dir=corpora/wiki" in volume["csi"]["volumeAttributes"]["mountOptions"]
    assert template["metadata"]["annotations"]["gke-gcsfuse/volumes"] == "true"
    main = template["spec"]["containers"][0]
    assert {"name": "model-artifacts", "mountPath": "/models", "readOnly": True} in main["volumeMounts"]
    assert _env(main)["MODEL_DIR"] == "/models"


def test_the_team_quota_counts_the_fuse_sidecars(dev_config, write_stack):
    # Without the two sidecars (2 CPUs each) the team needs 14 CPUs; with them 18.
    dev_config["config"]["mlplatform:teams"]["ml"]["quota"]["cpu"] = "16"
    with pytest.raises(ConfigError, match=r"teams\.ml\.quota\.cpu: .*need 18 cpu"):
        load_stack_file(write_stack(dev_config))
