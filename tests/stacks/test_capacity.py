"""Allocatable per node from each cloud's reservation formula, against the figures the sources
themselves give (stacks/capacity.py cites them)."""

from __future__ import annotations

import pytest

from stacks.capacity import MachineShape, aks_allocatable, eks_allocatable, gke_allocatable

MIB = 1 / 1024  # GiB


@pytest.mark.parametrize(
    ("vcpu", "reserved_millicores"),
    # GKE's tiers: 6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above.
    [(1, 60), (2, 70), (4, 80), (8, 90), (64, 230)],
)
def test_gke_cpu_reservation(vcpu, reserved_millicores):
    allocatable = gke_allocatable(MachineShape("m", vcpu, 64))
    assert allocatable.cpu == pytest.approx(vcpu - reserved_millicores / 1000)


def test_gke_memory_reservation_of_a_large_node():
    # 150 GiB: 25% of 4 + 20% of 4 + 10% of 8 + 6% of 112 + 2% of 22 = 9.76 GiB, plus 100 MiB
    # eviction: 140.1423 GiB allocatable (the tiers of "Plan node sizes").
    allocatable = gke_allocatable(MachineShape("m", 32, 150))
    assert allocatable.memory_gib == pytest.approx(140.1423, abs=1e-4)


def test_gke_memory_reservation_below_one_gib_is_flat():
    allocatable = gke_allocatable(MachineShape("m", 1, 0.5))
    assert allocatable.memory_gib == pytest.approx(0.5 - 355 * MIB)


def test_eks_reservation_matches_the_ami_fixture():
    # amazon-eks-ami nodeadm/test/e2e/cases/custom-max-pods-expression: 2 vCPUs and 44 max pods
    # give kubeReserved cpu 70m, memory 739Mi; evictionHard memory.available 100Mi.
    allocatable = eks_allocatable(MachineShape("m", 2, 8, max_pods=44))
    assert allocatable.cpu == pytest.approx(1.93)
    assert allocatable.memory_gib == pytest.approx(8 - (739 + 100) * MIB)


@pytest.mark.parametrize(("vcpu", "reserved_millicores"), [(1, 60), (2, 100), (4, 140), (8, 180), (64, 740)])
def test_aks_cpu_reservation_follows_the_table(vcpu, reserved_millicores):
    allocatable = aks_allocatable(MachineShape("m", vcpu, 64))
    assert allocatable.cpu == pytest.approx(vcpu - reserved_millicores / 1000)


def test_aks_memory_reservation_examples():
    # "Node resource reservations": 8 GB and 30 pods -> 650 MB kube-reserved, 7.25 GB allocatable;
    # 4 GB and 70 pods -> 25% (1000 MB), below 20 x 70 + 50.
    assert aks_allocatable(MachineShape("m", 2, 8), max_pods=30).memory_gib == pytest.approx(
        8 - (650 + 100) * MIB
    )
    assert aks_allocatable(MachineShape("m", 2, 4), max_pods=70).memory_gib == pytest.approx(
        4 - (1024 + 100) * MIB
    )
