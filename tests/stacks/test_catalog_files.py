"""The catalogs hold together: dated, sourced, and consistent with each other."""

from __future__ import annotations

import datetime

import pytest

from stacks import aks, catalog, eks, gke, tpu

FILES = ["gke.yaml", "gke_tpu.yaml", "eks.yaml", "aks.yaml", "kubernetes.yaml"]


@pytest.mark.parametrize("name", FILES)
def test_every_catalog_is_dated_and_sourced(name):
    document = catalog.load(name)
    assert isinstance(document["checked"], datetime.date)
    assert document["sources"]


def test_every_tpu_machine_type_has_a_host_shape_and_its_zones_are_catalog_zones():
    for machine_type in tpu.tpu_machine_types():
        assert gke.machine_shape(machine_type) is not None, machine_type
        zones = tpu.zones_offering(machine_type)
        assert zones and len(zones) == len(set(zones)), machine_type
        for zone in zones:
            assert zone in gke.regions().get(zone.rsplit("-", 1)[0], []), (machine_type, zone)


def test_every_gpu_has_its_zones_and_they_are_catalog_zones():
    gpu_zones = catalog.load("gke.yaml")["gpuZones"]
    assert set(gpu_zones) == set(gke.accelerators())
    for gpu, zones in gpu_zones.items():
        assert len(zones) == len(set(zones)), gpu
        for zone in zones:
            assert zone in gke.regions().get(zone.rsplit("-", 1)[0], []), (gpu, zone)


def test_gpu_machine_types_name_gpus_the_clouds_share():
    """GPU names are GKE's accelerator names on every cloud (one vocabulary for the pool contract)."""
    names = {
        *gke.accelerators(),
        *(s.gpu for s in eks.instance_shapes().values()),
        *(s.gpu for s in aks.vm_shapes().values()),
    } - {None}
    assert all(name.startswith("nvidia-") for name in names), names


def test_every_eks_instance_type_runs_pods_and_unsupported_zones_are_in_their_regions():
    for shape in eks.instance_shapes().values():
        assert shape.max_pods and shape.max_pods >= 8, shape
    for region, zone_ids in catalog.load("eks.yaml")["unsupportedAvailabilityZoneIds"].items():
        existing = eks.zone_ids(region)
        assert set(zone_ids) <= set(existing), region
