"""Ownership labels: on the resource itself or through its provider's default labels/tags."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

from plan.engine import PROJECT_DIR
from policies.rules.labels import TAGGABLE
from tests.policies.support import bad, ok, provider, resource

OWNERSHIP = {"owner": "ml-platform", "environment": "prod", "cost-center": "cc-1042"}
GCP = provider("gcp", "main-gcp", {"project": "acme", "defaultLabels": json.dumps(OWNERSHIP)})
BARE_GCP = provider("gcp", "bare-gcp", {"project": "acme"})
AWS = provider("aws", "main-aws", {"region": "eu-west-1", "defaultTags": json.dumps({"tags": OWNERSHIP})})
BARE_AWS = provider("aws", "bare-aws", {"region": "eu-west-1"})
AZURE = provider("azure-native", "main-azure", {"location": "westeurope"})

CASES = [
    ok(
        "labels-ownership",
        "gcs labels",
        resource("gcp:storage/bucket:Bucket", "b", {"labels": OWNERSHIP}, provider=BARE_GCP),
    ),
    ok(
        "labels-ownership",
        "gcp provider defaults",
        GCP,
        resource("gcp:artifactregistry/repository:Repository", "r", {"repositoryId": "models"}, provider=GCP),
    ),
    ok(
        "labels-ownership",
        "gke node labels",
        resource(
            "gcp:container/nodePool:NodePool",
            "p",
            {"nodeConfig": {"resourceLabels": OWNERSHIP}},
            provider=GCP,
        ),
    ),
    ok(
        "labels-ownership",
        "aws default tags",
        AWS,
        resource("aws:eks/cluster:Cluster", "c", {"name": "c"}, provider=AWS),
    ),
    ok(
        "labels-ownership",
        "azure tags",
        resource("azure-native:storage:StorageAccount", "s", {"tags": OWNERSHIP}, provider=AZURE),
    ),
    ok(
        "labels-ownership",
        "untaggable type",
        resource("gcp:compute/subnetwork:Subnetwork", "n", {}, provider=BARE_GCP),
    ),
    bad(
        "labels-ownership",
        "gcs without",
        "labels lacks owner, environment, cost-center",
        resource("gcp:storage/bucket:Bucket", "b", {"labels": {"team": "x"}}, provider=BARE_GCP),
    ),
    bad(
        "labels-ownership",
        "node pools get no provider defaults",
        "nodeConfig.resourceLabels lacks owner",
        GCP,
        resource("gcp:container/nodePool:NodePool", "p", {"nodeConfig": {}}, provider=GCP),
    ),
    bad(
        "labels-ownership",
        "aws empty owner",
        "tags lacks owner",
        resource("aws:s3/bucket:Bucket", "b", {"tags": {**OWNERSHIP, "owner": " "}}, provider=BARE_AWS),
    ),
    bad(
        "labels-ownership",
        "azure has no default tags",
        "tags lacks cost-center",
        resource(
            "azure-native:containerservice:ManagedCluster",
            "aks",
            {"tags": {"owner": "ml", "environment": "dev"}},
            provider=AZURE,
        ),
    ),
    bad(
        "labels-ownership",
        "required keys from config",
        "labels lacks team",
        resource("gcp:storage/bucket:Bucket", "b", {"labels": OWNERSHIP}, provider=BARE_GCP),
        config={"requiredKeys": ["owner", "team"]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule(case):
    case.check()


# --- the taggable table against the installed SDKs ----------------------------------------------

SDK_PACKAGES = {"gcp": "pulumi_gcp", "aws": "pulumi_aws", "azure-native": "pulumi_azure_native"}
LABEL_ARGUMENTS = {"labels", "tags", "resource_labels"}
SNAPSHOTS = sorted((PROJECT_DIR / "tests" / "snapshots").glob("*.json"))


@functools.cache
def _sdk_classes(package: str) -> dict[str, tuple[str, str]]:
    """type token -> (module, class) from the SDK's own resource-module registration."""
    source = (Path(importlib.util.find_spec(package).origin)).read_text()
    registered = json.loads(re.search(r'resource_modules="""(.*?)"""', source, re.S).group(1))
    return {token: (entry["fqn"], name) for entry in registered for token, name in entry["classes"].items()}


def sdk_arguments(token: str) -> set[str]:
    module, name = _sdk_classes(SDK_PACKAGES[token.split(":", 1)[0]])[token]
    return set(inspect.signature(getattr(importlib.import_module(module), name)._internal_init).parameters)


def _cloud_types() -> list[str]:
    types = set()
    for snapshot in SNAPSHOTS:
        for item in json.loads(snapshot.read_text())["resources"]:
            if item["type"].split(":", 1)[0] in SDK_PACKAGES:
                types.add(item["type"])
    return sorted(types)


@pytest.mark.parametrize("token", _cloud_types())
def test_every_taggable_type_the_stacks_declare_is_checked(token):
    if sdk_arguments(token) & LABEL_ARGUMENTS:
        assert token in TAGGABLE, f"{token} takes labels/tags: add it to policies/rules/labels.py"


@pytest.mark.parametrize("token", sorted(TAGGABLE))
def test_the_taggable_table_names_real_label_fields(token):
    top = TAGGABLE[token].path.split(".", 1)[0]
    assert re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), top) in sdk_arguments(token)


def test_the_taggable_table_lists_only_types_the_platform_declares():
    assert set(TAGGABLE) <= set(_cloud_types())
