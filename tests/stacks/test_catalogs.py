"""What the clouds' catalogs refuse, through the CLI as a user meets it: exit 2, no traceback,
one line naming the file, the key and the value, and what to do.

Locations (regions, zones, AZ IDs, TPU zones), machine types (sizes a listed family lacks),
accelerators (GPUs a family cannot carry, counts a machine does not have) and capacity (a pod's
requests against one node's allocatable, minimum replicas against the pool's maximum).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.engine import PROJECT_DIR
from tests.helpers import preview_cli

CHECKED = "checked 2026-12-01"
# gke.yaml and gke_tpu.yaml (zones per GPU and TPU checked later).
GKE_CHECKED = "checked 2026-12-02"
STACKS = {
    "gcp": PROJECT_DIR / "Pulumi.dev.yaml",
    "aws": PROJECT_DIR / "examples" / "aws-eks.yaml",
    "azure": PROJECT_DIR / "examples" / "azure-aks.yaml",
}
CLUSTER = {"gcp": "main", "aws": "main", "azure": "aks"}

Mutation = Callable[[dict[str, Any]], None]


def _document(cloud: str) -> dict[str, Any]:
    return yaml.safe_load(STACKS[cloud].read_text())["config"]


def _cluster(config: dict[str, Any], cloud: str) -> dict[str, Any]:
    return config["mlplatform:clusters"][CLUSTER[cloud]]


def _settings(cloud: str, **changes: Any) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        _cluster(config, cloud)[cloud].update(changes)

    return mutate


def _pool(cloud: str, pool: str, **changes: Any) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        _cluster(config, cloud)["pools"][pool].update(changes)

    return mutate


def _workload(kind: str, name: str, **changes: Any) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        workload = config[f"mlplatform:{kind}"][name]
        for key, value in changes.items():
            if isinstance(value, dict):
                workload[key] = {**workload.get(key, {}), **value}
            else:
                workload[key] = value

    return mutate


def _all(*mutations: Mutation) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(config)

    return mutate


def _tpu_in(zone: str, machine_type: str = "ct5lp-hightpu-4t", topology: str = "2x2") -> Mutation:
    """Dev moved to `zone`'s region with a single-host TPU pool there (2x2; 2x2x1 on v4/v5p).
    Dev's T4 pool inherits the zone, so the zones used here all offer T4s."""

    def mutate(config: dict[str, Any]) -> None:
        cluster = _cluster(config, "gcp")
        cluster["gcp"].update(region=zone.rsplit("-", 1)[0], zones=[zone])
        cluster["pools"]["tpu"] = {
            "kind": "tpu",
            "machineType": machine_type,
            "topology": topology,
            "min": 0,
            "max": 1,
        }

    return mutate


GKE = "mlplatform:clusters.main"
EKS = "mlplatform:clusters.main"
AKS = "mlplatform:clusters.aks"

CASES = [
    # --- locations
    pytest.param(
        "gcp",
        _settings("gcp", region="europe-wst4", zones=["europe-wst4-a"]),
        f"{GKE}.gcp.region: 'europe-wst4' is not a Compute Engine region "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): nearest known: europe-west4, europe-west9, europe-west6",
        id="gke-unknown-region",
    ),
    pytest.param(
        "gcp",
        _settings("gcp", zones=["europe-west4-d"]),
        f"{GKE}.gcp.zones: 'europe-west4-d' is not a zone of europe-west4 "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): use one of europe-west4-a, europe-west4-b, "
        "europe-west4-c",
        id="gke-zone-the-region-lacks",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", zones=["us-central1-a"]),
        f"{GKE}.pools.gpu-t4.zones.0: 'us-central1-a' is not a zone of europe-west4 but of us-central1 "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): use one of europe-west4-a, europe-west4-b, "
        "europe-west4-c",
        id="gke-pool-zone-outside-region",
    ),
    pytest.param(
        "gcp",
        _tpu_in("us-central1-c"),
        f"{GKE}.pools.tpu.zones: tpu-v5-lite-podslice TPUs are not offered in us-central1-c, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): set the pool's zones to "
        "us-central1-a or a subset",
        id="gke-tpu-zone",
    ),
    pytest.param(
        "gcp",
        _tpu_in("europe-west4-b", "ct6e-standard-4t"),
        f"{GKE}.pools.tpu.zones: tpu-v6e-slice TPUs are not offered in europe-west4-b, the cluster zone this "
        f"pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): set the pool's zones to "
        "europe-west4-a or a subset",
        id="gke-tpu-zone-in-europe",
    ),
    pytest.param(
        "gcp",
        _tpu_in("europe-west2-a", "ct6e-standard-4t"),
        f"{GKE}.pools.tpu.zones: tpu-v6e-slice TPUs are not offered in europe-west2-a, the cluster zone this "
        f"pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): no zone of europe-west2 offers them: "
        "use a region that does (asia-east1, asia-northeast1, asia-south1, asia-southeast1, europe-west4, "
        "southamerica-east1, us-central1, us-central2, us-east1, us-east4, us-east5, us-south1, us-west1)",
        id="gke-tpu-region-without",
    ),
    # Europe and Asia are checked for every TPU type, not only v6e.
    pytest.param(
        "gcp",
        _tpu_in("asia-southeast1-a"),
        f"{GKE}.pools.tpu.zones: tpu-v5-lite-podslice TPUs are not offered in asia-southeast1-a, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): set the pool's zones to "
        "asia-southeast1-b or a subset",
        id="gke-tpu-v5e-zone-in-asia",
    ),
    pytest.param(
        "gcp",
        _tpu_in("europe-west4-a", "ct5p-hightpu-4t", "2x2x1"),
        f"{GKE}.pools.tpu.zones: tpu-v5p-slice TPUs are not offered in europe-west4-a, the cluster zone this "
        f"pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): set the pool's zones to "
        "europe-west4-b or a subset",
        id="gke-tpu-v5p-zone-in-europe",
    ),
    pytest.param(
        "gcp",
        _tpu_in("asia-northeast1-a"),
        f"{GKE}.pools.tpu.zones: tpu-v5-lite-podslice TPUs are not offered in asia-northeast1-a, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): no zone of asia-northeast1 "
        "offers them: use a region that does (asia-east1, asia-southeast1, europe-north1, europe-west1, "
        "europe-west4, us-central1, us-east1, us-east5, us-south1, us-west1, us-west4)",
        id="gke-tpu-v5e-region-without-in-asia",
    ),
    pytest.param(
        "gcp",
        _tpu_in("australia-southeast1-a", "ct4p-hightpu-4t", "2x2x1"),
        f"{GKE}.pools.tpu.zones: tpu-v4-podslice TPUs are not offered in australia-southeast1-a, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke_tpu.yaml, {GKE_CHECKED}): no zone of "
        "australia-southeast1 offers them: use a region that does (us-central2)",
        id="gke-tpu-v4-region-without",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", machineType="a3-highgpu-1g", accelerator="nvidia-h100-80gb"),
        f"{GKE}.pools.gpu-t4.zones: nvidia-h100-80gb GPUs are not offered in europe-west4-a, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke.yaml, {GKE_CHECKED}): set the pool's zones to "
        "europe-west4-b, europe-west4-c or a subset",
        id="gke-gpu-zone-inherited",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", accelerator="nvidia-tesla-p4", zones=["europe-west4-b", "europe-west4-a"]),
        f"{GKE}.pools.gpu-t4.zones: nvidia-tesla-p4 GPUs are not offered in europe-west4-a "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): set the pool's zones to europe-west4-b, europe-west4-c "
        "or a subset",
        id="gke-gpu-zone-of-the-pool",
    ),
    pytest.param(
        "gcp",
        _all(
            _settings("gcp", region="europe-west2", zones=["europe-west2-a"]),
            _pool("gcp", "gpu-t4", accelerator="nvidia-tesla-v100"),
        ),
        f"{GKE}.pools.gpu-t4.zones: nvidia-tesla-v100 GPUs are not offered in europe-west2-a, the cluster "
        f"zone this pool inherits (stacks/catalogs/gke.yaml, {GKE_CHECKED}): no zone of europe-west2 offers "
        "them: use a region that does (asia-east1, europe-west4, us-central1, us-east1, us-west1)",
        id="gke-gpu-region-without",
    ),
    pytest.param(
        "aws",
        _settings("aws", region="eu-west-7", availabilityZoneIds=["euw7-az1", "euw7-az2"]),
        f"{EKS}.aws.region: 'eu-west-7' is not an AWS region with EKS (stacks/catalogs/eks.yaml, "
        f"{CHECKED}): nearest known: eu-west-3, eu-west-2, eu-west-1",
        id="eks-unknown-region",
    ),
    pytest.param(
        "aws",
        _settings("aws", availabilityZoneIds=["euw1-az1", "euw1-az4"]),
        f"{EKS}.aws.availabilityZoneIds: eu-west-1 has no AZ ID euw1-az4 "
        f"(stacks/catalogs/eks.yaml, {CHECKED}): use one of euw1-az1, euw1-az2, euw1-az3",
        id="eks-az-id-the-region-lacks",
    ),
    pytest.param(
        "azure",
        _settings("azure", location="westeurop"),
        f"{AKS}.azure.location: 'westeurop' is not an Azure region with AKS (stacks/catalogs/aks.yaml, "
        f"{CHECKED}): nearest known: westeurope, westus, westus3",
        id="aks-unknown-region",
    ),
    pytest.param(
        "azure",
        _settings("azure", location="westus"),
        f"{AKS}.azure.zones: westus has no availability zones (stacks/catalogs/aks.yaml, {CHECKED}): "
        "remove zones (regional placement) or choose a region with zones",
        id="aks-zones-in-a-region-without",
    ),
    # --- machine types
    pytest.param(
        "gcp",
        _pool("gcp", "system", machineType="n2-standard-6"),
        f"{GKE}.pools.system.machineType: Compute Engine has no n2-standard-6 (stacks/catalogs/gke.yaml, "
        f"{GKE_CHECKED}): nearest sizes: n2-standard-4, n2-standard-8, n2-standard-2",
        id="gke-size-the-family-lacks",
    ),
    pytest.param(
        "aws",
        _pool("aws", "system", machineType="m6i.3xlarge"),
        f"{EKS}.pools.system.machineType: EC2 has no m6i.3xlarge (stacks/catalogs/eks.yaml, {CHECKED}): "
        "nearest sizes: m6i.2xlarge, m6i.4xlarge, m6i.xlarge",
        id="eks-size-the-family-lacks",
    ),
    pytest.param(
        "azure",
        _pool("azure", "system", machineType="Standard_D6ds_v5"),
        f"{AKS}.pools.system.machineType: Azure has no VM size Standard_D6ds_v5 (stacks/catalogs/aks.yaml, "
        f"{CHECKED}): nearest sizes: Standard_D4ds_v5, Standard_D8ds_v5, Standard_D2ds_v5",
        id="aks-size-the-series-lacks",
    ),
    # --- accelerators
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", accelerator="nvidia-l4"),
        f"{GKE}.pools.gpu-t4.accelerator: n1-standard-8 cannot carry nvidia-l4 (stacks/catalogs/gke.yaml, "
        f"{GKE_CHECKED}): use a g2 machine type, which comes with it",
        id="gke-l4-on-n1",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", machineType="g2-standard-8"),
        f"{GKE}.pools.gpu-t4.accelerator: g2-standard-8 comes with nvidia-l4 GPUs, not nvidia-tesla-t4: "
        "set accelerator: nvidia-l4 or choose a machine type that carries nvidia-tesla-t4",
        id="gke-t4-on-g2",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", machineType="e2-standard-8"),
        f"{GKE}.pools.gpu-t4.accelerator: e2-standard-8 cannot carry nvidia-tesla-t4 "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): use an n1 machine type "
        "(nvidia-tesla-t4 attaches to N1 only)",
        id="gke-gpu-on-e2",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", acceleratorCount=3),
        f"{GKE}.pools.gpu-t4.acceleratorCount: n1-standard-8 takes 1, 2, 4 nvidia-tesla-t4 GPU(s), not 3 "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): set one of those counts or choose another n1 size",
        id="gke-t4-count",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", machineType="n1-standard-16", accelerator="nvidia-tesla-v100"),
        f"{GKE}.pools.gpu-t4.acceleratorCount: n1-standard-16 takes 2, 4, 8 nvidia-tesla-v100 GPU(s), not 1 "
        f"(stacks/catalogs/gke.yaml, {GKE_CHECKED}): set one of those counts or choose another n1 size",
        id="gke-v100-too-few-for-the-size",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", machineType="g2-standard-24", accelerator="nvidia-l4"),
        f"{GKE}.pools.gpu-t4.acceleratorCount: g2-standard-24 has 2 nvidia-l4 GPU(s), not 1: set "
        "acceleratorCount: 2 or choose another g2-standard size",
        id="gke-g2-count",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "gpu-t4", accelerator="nvidia-tesla-t5"),
        f"{GKE}.pools.gpu-t4.accelerator: 'nvidia-tesla-t5' is not a GKE GPU type (stacks/catalogs/gke.yaml, "
        f"{GKE_CHECKED}): nearest known: nvidia-tesla-t4, nvidia-tesla-p4, nvidia-tesla-v100",
        id="gke-unknown-gpu",
    ),
    pytest.param(
        "azure",
        _pool("azure", "gpu-t4", machineType="Standard_NC24ads_A100_v4"),
        f"{AKS}.pools.gpu-t4.accelerator: Standard_NC24ads_A100_v4 carries nvidia-a100-80gb GPUs, not "
        "nvidia-tesla-t4: set accelerator: nvidia-a100-80gb",
        id="aks-accelerator-of-the-size",
    ),
    pytest.param(
        "azure",
        _pool("azure", "gpu-t4", machineType="Standard_NC64as_T4_v3"),
        f"{AKS}.pools.gpu-t4.acceleratorCount: Standard_NC64as_T4_v3 has 4 GPU(s), not 1: set "
        "acceleratorCount: 4 or choose another size",
        id="aks-gpu-count",
    ),
    pytest.param(
        "gcp",
        _pool("gcp", "system", machineType="g2-standard-4"),
        f"{GKE}.pools.system.kind: g2-standard-4 comes with 1 nvidia-l4 GPU(s): make the pool kind: gpu with "
        "accelerator: nvidia-l4 and acceleratorCount: 1, or choose a CPU machine type",
        id="gke-gpu-machine-in-a-cpu-pool",
    ),
    pytest.param(
        "aws",
        _pool("aws", "system", machineType="g5.xlarge"),
        f"{EKS}.pools.system.kind: g5.xlarge comes with 1 nvidia-a10g GPU(s): make the pool kind: gpu with "
        "accelerator: nvidia-a10g and acceleratorCount: 1, or choose a CPU machine type",
        id="eks-gpu-machine-in-a-cpu-pool",
    ),
    pytest.param(
        "azure",
        _pool("azure", "cpu", machineType="Standard_NC8as_T4_v3"),
        f"{AKS}.pools.cpu.kind: Standard_NC8as_T4_v3 comes with 1 nvidia-tesla-t4 GPU(s): make the pool "
        "kind: gpu with accelerator: nvidia-tesla-t4 and acceleratorCount: 1, or choose a CPU machine type",
        id="aks-gpu-machine-in-a-cpu-pool",
    ),
    # --- capacity
    pytest.param(
        "gcp",
        _workload("models", "model1", resources={"cpu": "8"}),
        "mlplatform:models.model1.resources.cpu: 8 CPU does not fit one n1-standard-8 node of pool 'gpu-t4': "
        "it has 8 vCPUs, 7.91 allocatable after GKE's system reservations; request at most 7910m or choose "
        "a larger machineType",
        id="gke-cpu-request-beyond-a-node",
    ),
    pytest.param(
        "gcp",
        _workload("jobs", "train-bert", resources={"memory": "28Gi"}),
        "mlplatform:jobs.train-bert.resources.memory: 28Gi of memory does not fit one n1-standard-8 node "
        "of pool 'gpu-t4': it has 30 GiB, 26.46 GiB allocatable after GKE's system reservations; request "
        "at most 27097Mi or choose a larger machineType",
        id="gke-job-memory-beyond-a-node",
    ),
    pytest.param(
        "gcp",
        _workload("models", "model2", autoscale={"min": 10, "max": 10}),
        "mlplatform:models.model2.autoscale.min: 10 replicas at minimum of 1 CPU and 4Gi each need more "
        "than pool 'system' allocates at its max of 3 nodes (3 such pods per e2-standard-4 node): raise "
        "the pool's max or lower the minimum",
        id="gke-cpu-pool-minimum-beyond-max",
    ),
    pytest.param(
        "aws",
        _workload("models", "embeddings", resources={"memory": "16Gi"}),
        "mlplatform:models.embeddings.resources.memory: 16Gi of memory does not fit one g5.xlarge node of "
        "pool 'gpu-a10g': it has 16 GiB, 15.03 GiB allocatable after EKS's system reservations; request at "
        "most 15391Mi or choose a larger machineType",
        id="eks-memory-beyond-a-node",
    ),
    pytest.param(
        "azure",
        _workload("models", "model2", resources={"cpu": "4"}),
        "mlplatform:models.model2.resources.cpu: 4 CPU does not fit one Standard_NC4as_T4_v3 node of pool "
        "'gpu-t4': it has 4 vCPUs, 3.86 allocatable after AKS's system reservations; request at most 3860m "
        "or choose a larger machineType",
        id="aks-cpu-beyond-a-node",
    ),
]


@pytest.mark.parametrize(("cloud", "mutate", "error"), CASES)
def test_a_catalog_mistake_exits_2_with_one_line(tmp_path: Path, cloud: str, mutate: Mutation, error: str):
    config = _document(cloud)
    mutate(config)
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    result = preview_cli(path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines() == [f"error: Pulumi.test.yaml: {error}"]


def test_a_machine_family_the_catalog_lacks_warns_and_is_reported_unpriced(tmp_path: Path):
    """A new family (n4) is likely real: the preview goes on, says its capacity is unchecked and
    leaves its pool out of the cost envelope as unpriced."""
    config = _document("gcp")
    _pool("gcp", "system", machineType="n4-standard-4")(config)
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": copy.deepcopy(config)}, sort_keys=False))
    result = preview_cli(path)
    assert result.returncode == 0, result.stderr
    assert (
        f"{GKE}.pools.system.machineType: n4-standard-4 is not in the catalog (stacks/catalogs/gke.yaml, "
        f"{GKE_CHECKED}): its capacity is unchecked"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert "Unpriced (1, left out of floor and ceiling" in result.stdout
    assert "no price for machine type n4-standard-4" in result.stdout


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_tpu_in("europe-west4-a", "ct6e-standard-4t"), id="v6e-in-europe-west4-a"),
        pytest.param(_tpu_in("europe-west4-b"), id="v5e-in-europe-west4-b"),
        pytest.param(_tpu_in("asia-east1-a"), id="v5e-in-asia-east1-a"),
        pytest.param(_tpu_in("europe-west1-d", "ct5p-hightpu-4t", "2x2x1"), id="v5p-in-europe-west1-d"),
        pytest.param(_tpu_in("asia-southeast1-b", "ct6e-standard-4t"), id="v6e-in-asia-southeast1-b"),
        # A zone the TPU API lists although SkyPilot found no price for it (its 700.0 placeholder).
        pytest.param(_tpu_in("asia-east1-c", "ct6e-standard-4t"), id="v6e-in-asia-east1-c"),
        # A zone the TPU page marks single-tenant: the type exists there (capacity is not checked).
        pytest.param(_tpu_in("us-east4-a", "ct6e-standard-4t"), id="v6e-in-single-tenant-us-east4-a"),
        pytest.param(_pool("gcp", "gpu-t4", accelerator="nvidia-tesla-v100"), id="v100-in-europe-west4-a"),
    ],
)
def test_an_accelerator_in_a_zone_that_offers_it_previews(tmp_path: Path, mutate: Mutation):
    config = _document("gcp")
    mutate(config)
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    result = preview_cli(path)
    assert result.returncode == 0, result.stderr
    assert "are not offered in" not in result.stderr
