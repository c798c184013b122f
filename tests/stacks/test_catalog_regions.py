"""Every region of the catalogs is a place a stack can go: its config validates, and its preview
has a cost envelope (priced where policies/prices.yaml has the region, the rest reported as
unpriced, never an error). Every machine type of the catalogs is priced or reported unpriced.
A shipped GKE stack moved to any catalog region that offers its accelerators has its nodes
priced."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.cost import estimate_record
from plan.engine import PROJECT_DIR
from plan.record import PlanRecord, ResourceRecord
from policies.cost_model import default_prices, estimate
from stacks import aks, eks, gke, tpu
from stacks.loading import ConfigError, load_stack_file
from tests.helpers import preview_cli, shipped_plan

STACKS = {
    "gcp": PROJECT_DIR / "Pulumi.dev.yaml",
    "aws": PROJECT_DIR / "examples" / "aws-eks.yaml",
    "azure": PROJECT_DIR / "examples" / "azure-aks.yaml",
}
REGION_KEY = {"gcp": "region", "aws": "region", "azure": "location"}
CATALOG_REGIONS = {"gcp": list(gke.regions()), "aws": eks.regions(), "azure": list(aks.regions())}


def _settings(document: dict[str, Any], cloud: str) -> dict[str, Any]:
    (cluster,) = document["config"]["mlplatform:clusters"].values()
    return cluster[cloud]


def _moved(document: dict[str, Any], cloud: str, region: str) -> dict[str, Any]:
    """The stack in `region`, with zones of that region (on GCP the first that offers the
    accelerator pools' GPUs or TPUs, if one does)."""
    moved = copy.deepcopy(document)
    settings = _settings(moved, cloud)
    settings[REGION_KEY[cloud]] = region
    if cloud == "gcp":
        zones = gke.regions()[region]
        settings["zones"] = (
            [z for z in zones if all(z in gpu for gpu in _accelerator_zones(moved))] or zones
        )[:1]
    elif cloud == "aws":
        code = eks.region_code(region)
        ids = [f"{code}-az{n}" for n in eks._catalog()["regions"][region]]
        settings["availabilityZoneIds"] = [z for z in ids if z not in eks.unsupported_zone_ids(region)][:3]
    else:
        settings["zones"] = aks.regions()[region]
    return moved


def _accelerator_zones(document: dict[str, Any]) -> list[list[str]]:
    """Per GPU or TPU pool of a GKE stack, the zones that offer its accelerator."""
    (cluster,) = document["config"]["mlplatform:clusters"].values()
    offered = {
        "gpu": lambda pool: gke.gpu_zones(pool["accelerator"]),
        "tpu": lambda pool: tpu.zones_offering(pool["machineType"]),
    }
    return [offered[p["kind"]](p) or [] for p in cluster["pools"].values() if p["kind"] in offered]


def _relocated(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {key: _relocated(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_relocated(item, old, new) for item in value]
    return value


def _record_in(record: PlanRecord, old: str, new: str) -> PlanRecord:
    resources = [
        ResourceRecord(**{**vars(r), "inputs": _relocated(r.inputs, old, new)}) for r in record.resources
    ]
    return PlanRecord(record.project, record.stack, record.source, resources, record.outputs)


@pytest.mark.parametrize("cloud", sorted(STACKS))
def test_every_catalog_region_validates_and_has_a_cost_envelope(cloud, plan_of, write_stack):
    document = yaml.safe_load(STACKS[cloud].read_text())
    home = _settings(document, cloud)[REGION_KEY[cloud]]
    record = plan_of(document)
    priced = set(default_prices().cloud(cloud)["regions"])
    assert home in priced
    for region in CATALOG_REGIONS[cloud]:
        moved = _moved(document, cloud, region)
        valid = True
        try:
            load_stack_file(write_stack(moved))
        except ConfigError as refused:
            valid = False
            # Only a region where no zone offers the stack's GPUs may refuse it, and says so.
            assert cloud == "gcp", (region, refused)
            (zone,) = _settings(moved, cloud)["zones"]
            assert any(zone not in gpu for gpu in _accelerator_zones(moved)), (region, refused)
            assert f"GPUs are not offered in {zone}" in str(refused), refused
            assert f"no zone of {region} offers them" in str(refused), refused
        envelope = estimate_record(_record_in(record, home, region))
        assert any(line.item.startswith("control plane") for line in envelope.lines), region
        if region == home:
            assert envelope.unpriced == (), (region, envelope.unpriced)
        elif region in priced and valid:
            # The table prices the region's machines, GPUs and disks; only per-region figures it
            # has no source for there (bucket, registry, a VM size on Azure) may be left, named so.
            assert all(
                f"for {cloud} region {region} in" in item
                or f"clouds.{cloud}.regions.{region}.machines" in item
                for item in envelope.unpriced
            ), (region, envelope.unpriced)
        elif region not in priced:
            assert envelope.unpriced, region
            assert all(f"no prices for {cloud} region {region}" in item for item in envelope.unpriced), (
                region,
                envelope.unpriced,
            )
            if cloud == "gcp":
                # The nodes count for the NAT line although their price is unknown.
                assert any("Cloud NAT for 1..6 nodes" in line.detail for line in envelope.lines), region


def test_a_stack_moved_to_another_catalog_region_previews_with_its_nodes_priced(tmp_path: Path):
    document = _moved(yaml.safe_load(STACKS["gcp"].read_text()), "gcp", "us-east1")
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = preview_cli(path)
    assert result.returncode == 0, result.stderr
    assert "Cost envelope: floor $" in result.stdout
    assert re.search(r"pool system +e2-standard-4 \+ 100 GB pd-balanced, 1\.\.3 nodes", result.stdout)
    assert re.search(r"pool gpu-t4 +n1-standard-8 \+ 1x nvidia-tesla-t4 \+ 100 GB pd-balanced", result.stdout)
    assert "Cloud NAT for 1..6 nodes" in result.stdout
    # Left unpriced: only the per-GB prices the table has no source for in us-east1.
    assert "Unpriced (3, left out of floor and ceiling" in result.stdout
    assert (
        "main-artifacts: no storagePerGbMonth for gcp region us-east1 in policies/prices.yaml"
        in result.stdout
    )
    assert (
        "main-models: no registryPerGbMonth for gcp region us-east1 in policies/prices.yaml" in result.stdout
    )
    assert "no price for" not in result.stdout and "no prices for" not in result.stdout


def _offers_accelerators(document: dict[str, Any], region: str) -> bool:
    """Whether some zone of `region` offers the GPU or TPU of every accelerator pool."""
    return all(
        any(zone.rsplit("-", 1)[0] == region for zone in zones) for zones in _accelerator_zones(document)
    )


@pytest.mark.parametrize("stack", ["Pulumi.dev.yaml", "Pulumi.prod.yaml"])
def test_a_shipped_gke_stack_moved_where_its_accelerators_are_offered_has_every_node_priced(stack):
    document = yaml.safe_load((PROJECT_DIR / stack).read_text())
    (cluster,) = document["config"]["mlplatform:clusters"].values()
    home = cluster["gcp"]["region"]
    record = shipped_plan(PROJECT_DIR / stack)
    pools = [r.name for r in record.resources if r.type == "gcp:container/nodePool:NodePool"]
    regions = [r for r in gke.regions() if r != home and _offers_accelerators(document, r)]
    # dev (T4) can go to 20 other regions, prod (L4 and TPU v5e) to 7.
    assert len(regions) >= 7, regions
    for region in regions:
        envelope = estimate_record(_record_in(record, home, region))
        assert len([line for line in envelope.lines if line.item.startswith("pool ")]) == len(pools), (
            region,
            envelope.unpriced,
        )
        # What is left are the per-region figures the table has no source for (bucket, registry).
        assert all(f"for gcp region {region} in" in item for item in envelope.unpriced), (
            region,
            envelope.unpriced,
        )


AZURE_VMS = yaml.safe_load((PROJECT_DIR / "policies" / "prices_azure_vms.yaml").read_text())


def test_the_generated_azure_prices_cover_every_catalog_region_and_vm_size():
    """Each catalog size in each catalog region is priced, or the file says why not: the source
    lacks it there, or its whole series is excluded (with the reason)."""
    assert set(AZURE_VMS["regions"]) == set(aks.regions())
    assert set(AZURE_VMS["missingFromSource"]) <= set(aks.regions())
    series = {aks.series(size) for size in aks.vm_shapes()}
    assert set(AZURE_VMS["excludedSeries"]) <= series
    assert all(reason.strip() for reason in AZURE_VMS["excludedSeries"].values())
    prices = default_prices()
    for region in aks.regions():
        priced = AZURE_VMS["regions"][region]
        missing = AZURE_VMS["missingFromSource"].get(region, [])
        for size in aks.vm_shapes():
            reasons = [size in priced, size in missing, aks.series(size) in AZURE_VMS["excludedSeries"]]
            assert reasons.count(True) == 1, (region, size, reasons)
            if size in priced:
                assert prices.machine("azure", region, size, spot=False) == priced[size] > 0, (region, size)
    # The Intel D and E v5 series and the GPU sizes are priced nearly everywhere.
    assert sum(len(sizes) for sizes in AZURE_VMS["regions"].values()) > 2000


def test_the_azure_example_moved_where_its_vm_sizes_are_priced_has_every_pool_priced():
    document = yaml.safe_load(STACKS["azure"].read_text())
    (cluster,) = document["config"]["mlplatform:clusters"].values()
    home = cluster["azure"]["location"]
    sizes = {pool["machineType"] for pool in cluster["pools"].values()}
    record = shipped_plan(STACKS["azure"])
    regions = [r for r in aks.regions() if sizes <= set(AZURE_VMS["regions"][r])]
    # The source prices the example's D4ds_v5, D8ds_v5 and NC4as_T4_v3 in 23 of the 29 regions.
    assert len(regions) == 23, regions
    for region in regions:
        envelope = estimate_record(_record_in(record, home, region))
        pools = [line for line in envelope.lines if line.item.startswith("pool ")]
        assert len(pools) == len(cluster["pools"]) and all(p.ceiling_usd > 0 for p in pools), region
        # What is left is blob storage (the storage accounts), priced in eastus and westeurope only.
        left = [f"no storagePerGbMonth for azure region {region} in" in item for item in envelope.unpriced]
        assert all(left) and bool(left) == (region not in ("eastus", "westeurope")), (
            region,
            envelope.unpriced,
        )
    for region in set(aks.regions()) - set(regions):
        envelope = estimate_record(_record_in(record, home, region))
        unpriced = [size for size in sizes if size not in AZURE_VMS["regions"][region]]
        assert all(any(f"machine type {size} " in item for item in envelope.unpriced) for size in unpriced)


NODE_POOLS = {
    "gcp": lambda machine: (
        "gcp:container/nodePool:NodePool",
        {
            "location": "us-central1",
            "nodeConfig": {"machineType": machine},
            "autoscaling": {"totalMaxNodeCount": 1},
        },
    ),
    "aws": lambda machine: (
        "aws:eks/nodeGroup:NodeGroup",
        {"region": "us-east-1", "instanceTypes": [machine], "scalingConfig": {"minSize": 0, "maxSize": 1}},
    ),
    "azure": lambda machine: (
        "azure-native:containerservice:AgentPool",
        {"location": "eastus", "vmSize": machine, "enableAutoScaling": True, "minCount": 0, "maxCount": 1},
    ),
}
MACHINES = {"gcp": gke.machine_shapes, "aws": eks.instance_shapes, "azure": aks.vm_shapes}


@pytest.mark.parametrize("cloud", sorted(NODE_POOLS))
def test_every_catalog_machine_type_is_priced_or_reported_unpriced(cloud):
    for machine in MACHINES[cloud]():
        envelope = estimate([NODE_POOLS[cloud](machine)])
        pools = [line for line in envelope.lines if line.item.startswith("pool")]
        if pools:
            assert pools[0].ceiling_usd > 0, machine
        else:
            assert any(machine in item for item in envelope.unpriced), (machine, envelope.unpriced)


# What the table leaves unpriced for the dev stack in us-east1 (bucket and registry storage), as
# the stack gives it, and a machine price of its own (say, a negotiated rate) over the table's.
US_EAST1_PRICES = {
    "source": "https://cloud.google.com/storage/pricing (us-east1), read by the team",
    "checked": "2026-12-02",
    "gcp": {
        "us-east1": {
            "machines": {"e2-standard-4": 0.12},
            "storagePerGbMonth": 0.020,
            "registryPerGbMonth": 0.10,
        }
    },
}


def _in_us_east1(tmp_path: Path, prices: dict[str, Any] | None) -> Path:
    document = _moved(yaml.safe_load(STACKS["gcp"].read_text()), "gcp", "us-east1")
    if prices is not None:
        document["config"]["mlplatform:budget"]["prices"] = prices
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_stacks_own_prices_price_what_the_table_does_not_and_are_cited(tmp_path: Path):
    result = preview_cli(_in_us_east1(tmp_path, US_EAST1_PRICES))
    assert result.returncode == 0, result.stderr
    assert "Unpriced" not in result.stdout
    assert "n1-standard-8" in result.stdout and "Cost envelope: floor $" in result.stdout
    # The stack's e2-standard-4 price wins over the table's 0.13402: 0.12 + 100 GB pd-balanced.
    assert re.search(r"e2-standard-4 \+ 100 GB pd-balanced, 1\.\.3 nodes +0\.1337 ", result.stdout)
    assert "the stack's budget.prices (https://cloud.google.com/storage/pricing (us-east1)" in result.stdout
    # The budget rule prices the same way: it verifies the budget instead of giving up.
    assert "cost-budget: cannot verify" not in result.stdout


def test_a_price_the_stack_leaves_out_stays_unpriced_and_the_budget_unverified(tmp_path: Path):
    prices = copy.deepcopy(US_EAST1_PRICES)
    del prices["gcp"]["us-east1"]["registryPerGbMonth"]
    result = preview_cli(_in_us_east1(tmp_path, prices))
    assert result.returncode == 0, result.stderr
    assert (
        "main-models: no registryPerGbMonth for gcp region us-east1 in policies/prices.yaml" in result.stdout
    )
    assert "to policies/prices.yaml or to the stack's budget.prices" in result.stdout
    assert "cost-budget: cannot verify the budget: 1 item(s)" in result.stdout


def test_stack_prices_need_their_source_and_date(tmp_path: Path):
    prices = {key: value for key, value in US_EAST1_PRICES.items() if key != "checked"}
    result = preview_cli(_in_us_east1(tmp_path, prices))
    assert result.returncode == 2
    assert "mlplatform:budget.prices.checked" in result.stderr
    assert "Traceback" not in result.stderr
