"""A workload's secrets from the cloud's secret manager, mounted as read-only files through the
Secrets Store CSI driver: no Kubernetes Secret holds them, nothing in the stack file but their
names."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.handle import IdentityBinding, SecretReference, SecretStore
from components.k8s.pod import object_metadata

SECRETS_DIR = "/etc/model-secrets"
VOLUME = "model-secrets"


@dataclass(frozen=True)
class SecretMount:
    volume: dict
    volume_mount: dict
    # <NAME>_FILE -> the file holding secret NAME (the convention of HF_TOKEN_PATH & co).
    env: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def secret_mount(
    name: str,
    workload: str,
    namespace: str,
    store: SecretStore,
    secrets: dict[str, SecretReference],
    binding: IdentityBinding,
    labels: dict[str, str],
    parent: pulumi.Resource,
) -> SecretMount:
    """A SecretProviderClass for `secrets` (env-style name -> reference) and the inline CSI volume
    that mounts them; the driver fetches them as the pod's own identity at pod start (Secrets
    Store CSI driver docs, secrets-store-csi-driver.sigs.k8s.io "Usage")."""
    provider = store.provider(dict(sorted(secrets.items())), binding)
    class_name = f"{workload}-secrets"
    provider_class = k8s.apiextensions.CustomResource(
        f"{name}-secret-provider",
        api_version="secrets-store.csi.x-k8s.io/v1",
        kind="SecretProviderClass",
        metadata=object_metadata(class_name, namespace, labels),
        spec={"provider": provider.provider, "parameters": provider.parameters},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(store.ready)),
    )
    return SecretMount(
        volume={
            "name": VOLUME,
            "csi": {
                "driver": provider.csi_driver,
                "readOnly": True,
                "volumeAttributes": {"secretProviderClass": class_name},
            },
        },
        volume_mount={"name": VOLUME, "mountPath": SECRETS_DIR, "readOnly": True},
        env={f"{key}_FILE": f"{SECRETS_DIR}/{key}" for key in sorted(secrets)},
        depends_on=[*store.ready, provider_class],
    )
