"""Secrets by reference to the cloud's secret manager, delivered as read-only files by the
Secrets Store CSI driver (GKE Secret Manager add-on here; EKS and AKS in their packages), and
config values as environment variables from a content-named ConfigMap."""

from __future__ import annotations

import pytest
import yaml

from plan.engine import PROJECT_DIR
from stacks.loading import ConfigError, load_stack_file
from tests.helpers import dig, one

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PROVIDER_CLASS = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


def _pod(record, name: str) -> dict:
    deployment = next(r.inputs for r in record.of_type(DEPLOYMENT) if r.inputs["metadata"]["name"] == name)
    return dig(deployment, "spec.template.spec")


def test_gke_mounts_secret_manager_secrets_as_files(dev_plan):
    provider_class = one(dev_plan, PROVIDER_CLASS).inputs
    assert (provider_class["metadata"]["name"], provider_class["metadata"]["namespace"]) == (
        "model1-secrets",
        "ml",
    )
    assert provider_class["spec"]["provider"] == "gke"
    assert yaml.safe_load(provider_class["spec"]["parameters"]["secrets"]) == [
        {"resourceName": "projects/acme-ml-dev/secrets/hf-token/versions/latest", "path": "HF_TOKEN"}
    ]
    pod = _pod(dev_plan, "model1")
    volume = next(v for v in pod["volumes"] if v["name"] == "model-secrets")
    assert volume["csi"] == {
        "driver": "secrets-store-gke.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "model1-secrets"},
    }
    server = pod["containers"][0]
    assert {"name": "model-secrets", "mountPath": "/etc/model-secrets", "readOnly": True} in server[
        "volumeMounts"
    ]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["HF_TOKEN_FILE"] == "/etc/model-secrets/HF_TOKEN"
    # No Kubernetes Secret holds the value.
    assert not list(dev_plan.of_type("kubernetes:core/v1:Secret"))


def test_gke_grants_the_model_read_on_exactly_its_secret(dev_plan):
    (grant,) = (r for r in dev_plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"))
    assert grant.name == "main-model1-secret-hf-token"
    assert grant.inputs["secretId"] == "hf-token" and grant.inputs["project"] == "acme-ml-dev"
    assert grant.inputs["role"] == "roles/secretmanager.secretAccessor"
    account = one(dev_plan, "gcp:serviceaccount/account:Account", "main-model1-gsa")
    assert grant.dependencies and account.urn in grant.dependencies
    cluster = one(dev_plan, "gcp:container/cluster:Cluster").inputs
    assert cluster["secretManagerConfig"] == {"enabled": True}


def test_config_env_is_a_content_named_config_map_read_as_env(dev_config, plan_of):
    dev_config["config"]["mlplatform:models"]["model2"]["configEnv"] = {"LOG_LEVEL": "info"}
    record = plan_of(dev_config)
    maps = {r.inputs["metadata"]["name"]: r.inputs for r in record.of_type("kubernetes:core/v1:ConfigMap")}
    (name,) = (n for n in maps if n.startswith("model2-env-"))
    assert maps[name]["data"] == {"LOG_LEVEL": "info"} and maps[name]["immutable"] is True
    assert _pod(record, "model2")["containers"][0]["envFrom"] == [{"configMapRef": {"name": name}}]


@pytest.mark.parametrize(
    ("field", "value", "key", "message"),
    [
        ("env", {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz0123456789"}, "env.HF_TOKEN", "credential"),
        ("env", {"OPENAI_API_KEY": "not-obviously-a-key"}, "env.OPENAI_API_KEY", "names a credential"),
        ("configEnv", {"DB_PASSWORD": "hunter2"}, "configEnv.DB_PASSWORD", "names a credential"),
        (
            "secrets",
            {"HF_TOKEN": {"name": "hf-token", "value": "x"}},
            "secrets.HF_TOKEN.value",
            "unknown key",
        ),
        (
            "secrets",
            {"HF_TOKEN": {"name": "hf_abcdefghijklmnopqrstuvwxyz0123456789"}},
            "secrets.HF_TOKEN.name",
            "looks like a secret value",
        ),
        ("secrets", {"hf-token": {"name": "hf-token"}}, "secrets", "not an environment variable name"),
    ],
)
def test_plain_text_secrets_are_refused_naming_the_key(dev_config, write_stack, field, value, key, message):
    model = dev_config["config"]["mlplatform:models"]["model2"]
    model[field] = value
    with pytest.raises(ConfigError, match=rf"models\.model2\.{key}.*{message}"):
        load_stack_file(write_stack(dev_config))


def test_a_credential_in_config_files_is_refused(dev_config, write_stack):
    dev_config["config"]["mlplatform:models"]["model1"]["config"]["vllm.yaml"] = "api-key: sk-" + "a" * 40
    with pytest.raises(ConfigError, match=r"models\.model1\.config\.vllm\.yaml: .*credential"):
        load_stack_file(write_stack(dev_config))


def test_secrets_need_a_secret_manager_on_the_cluster(write_stack):
    existing = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    existing["config"]["mlplatform:models"]["chat"]["secrets"] = {"HF_TOKEN": {"name": "hf-token"}}
    with pytest.raises(ConfigError, match=r"models\.chat\.secrets\.HF_TOKEN: .*existing cluster"):
        load_stack_file(write_stack(existing))
    aks = yaml.safe_load((PROJECT_DIR / "examples" / "azure-aks.yaml").read_text())
    del aks["config"]["mlplatform:clusters"]["aks"]["azure"]["keyVault"]
    with pytest.raises(ConfigError, match=r"models\.model2\.secrets\.API_KEY: .*azure\.keyVault"):
        load_stack_file(write_stack(aks))
