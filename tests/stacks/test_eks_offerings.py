"""EKS GPU pools only in AZ IDs that offer their instance type (stacks/catalogs/eks.yaml
gpuZoneIds): what EC2 does not offer fails at the door, in one line, with the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.engine import PROJECT_DIR
from stacks import eks
from tests.helpers import preview_cli

EXAMPLE = PROJECT_DIR / "examples" / "aws-eks.yaml"
KEY = "mlplatform:clusters.main.pools.gpu-a10g.zones"
CITED = "(stacks/catalogs/eks.yaml gpuZoneIds, checked 2026-12-02)"


def _stack(
    write_stack: Callable[[dict[str, Any]], Path],
    region: str,
    zone_ids: list[str],
    machine_type: str,
    accelerator: str,
    **pool: Any,
) -> Path:
    """The AWS example in `region`, its GPU pool on `machine_type`."""
    document = yaml.safe_load(EXAMPLE.read_text())
    cluster = document["config"]["mlplatform:clusters"]["main"]
    cluster["aws"].update(region=region, availabilityZoneIds=zone_ids)
    gpu = eks.gpu_instance(machine_type)
    assert gpu is not None
    cluster["pools"]["gpu-a10g"].update(
        machineType=machine_type, accelerator=accelerator, acceleratorCount=gpu.gpus, **pool
    )
    return write_stack(document)


def _refusal(path: Path) -> str:
    result = preview_cli(path)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    return line


def test_a_gpu_pool_inheriting_an_az_without_its_type_is_refused(write_stack):
    # us-east-1 offers g6 in use1-az1, az2, az4 and az6, not in use1-az5.
    path = _stack(write_stack, "us-east-1", ["use1-az1", "use1-az2", "use1-az5"], "g6.xlarge", "nvidia-l4")
    assert _refusal(path) == (
        f"error: Pulumi.test.yaml: {KEY}: g6.xlarge instances are not offered in use1-az5, the cluster "
        f"zone this pool inherits {CITED}: set the pool's zones to use1-az1, use1-az2 or a subset"
    )


def test_a_gpu_pool_whose_own_zones_offer_its_type_passes(write_stack):
    path = _stack(
        write_stack,
        "us-east-1",
        ["use1-az1", "use1-az2", "use1-az5"],
        "g6.xlarge",
        "nvidia-l4",
        zones=["use1-az1", "use1-az2"],
    )
    result = preview_cli(path)
    assert result.returncode == 0, result.stderr
    assert "pool gpu-a10g" in result.stdout and "g6.xlarge" in result.stdout


def test_a_cluster_without_the_one_az_that_offers_the_type_is_told_to_add_it(write_stack):
    # p4d.24xlarge is offered in eu-west-1 in euw1-az2 only.
    path = _stack(write_stack, "eu-west-1", ["euw1-az1", "euw1-az3"], "p4d.24xlarge", "nvidia-tesla-a100")
    assert _refusal(path) == (
        f"error: Pulumi.test.yaml: {KEY}: p4d.24xlarge instances are not offered in euw1-az1, the "
        f"cluster zone this pool inherits {CITED}: no cluster zone offers them: add euw1-az2 to "
        "availabilityZoneIds and set the pool's zones to it"
    )


def test_a_region_no_az_of_which_offers_the_type_names_the_regions_that_do(write_stack):
    path = _stack(write_stack, "eu-west-1", ["euw1-az1", "euw1-az2", "euw1-az3"], "g6e.xlarge", "nvidia-l40s")
    assert _refusal(path) == (
        f"error: Pulumi.test.yaml: {KEY}: g6e.xlarge instances are not offered in euw1-az1, the "
        f"cluster zone this pool inherits {CITED}: no zone of eu-west-1 offers them: use a region that "
        "does (ap-northeast-1, ap-northeast-2, eu-central-1, eu-north-1, us-east-1, us-east-2, us-west-2)"
    )


@pytest.mark.parametrize(
    ("region", "zone_ids", "machine_type", "accelerator"),
    [
        # sa-east-1 is a region the source does not cover.
        pytest.param("sa-east-1", ["sae1-az1", "sae1-az2"], "g6.xlarge", "nvidia-l4", id="uncovered-region"),
        # The source lists no g7e row at all.
        pytest.param(
            "eu-west-1", ["euw1-az1", "euw1-az2"], "g7e.2xlarge", "nvidia-rtx-pro-6000", id="uncovered-type"
        ),
    ],
)
def test_what_the_catalog_does_not_cover_is_not_checked(
    write_stack, region, zone_ids, machine_type, accelerator
):
    assert eks.zone_ids_offering(machine_type, region) is None
    result = preview_cli(_stack(write_stack, region, zone_ids, machine_type, accelerator))
    assert result.returncode == 0, result.stderr


def test_every_gpu_type_is_covered_or_named_as_not_covered():
    # Every NVIDIA type of the catalog has offerings, except those the source does not list.
    uncovered = sorted(t for t in eks.gpu_instances() if eks.gpu_offerings(t) is None)
    assert uncovered == [
        "g7e.12xlarge",
        "g7e.24xlarge",
        "g7e.2xlarge",
        "g7e.48xlarge",
        "g7e.4xlarge",
        "g7e.8xlarge",
        "p5.4xlarge",
        "p6-b200.48xlarge",
    ]
    # Offerings name only catalog regions and existing AZ IDs.
    for instance_type in eks.gpu_instances():
        for region, zone_ids in (eks.gpu_offerings(instance_type) or {}).items():
            assert region in eks.regions() and zone_ids, (instance_type, region)
            assert all(
                eks.zone_id_error(region, z) is None or z in eks.unsupported_zone_ids(region)
                for z in zone_ids
            )
