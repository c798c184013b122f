"""Ownership labels: on the resource itself or through its provider's default labels/tags."""

from __future__ import annotations

import json

import pytest

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
