"""The cost envelope: arithmetic against hand-computed figures, the shipped price table covering
every shipped stack, unknown prices as clear errors, and the cost section of `plan preview`."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.contract import POOL_LABEL
from plan.cli import main
from plan.cost import estimate_record, render_cost
from policies import cost_model
from policies.cost_model import (
    GraphNode,
    PriceTable,
    Resource,
    estimate,
    graph_nodes_from_policy,
    resources_from_graph,
)
from tests.helpers import SHIPPED_STACK_FILES, shipped_plan

# Round numbers so that every figure below can be checked by hand. A month is 730 hours; a
# disk price of $0.073/GB-month makes 100 GB cost exactly $0.01 per hour.
TEST_PRICES = PriceTable(
    {
        "date": "2026-01-15",
        "hoursPerMonth": 730,
        "clouds": {
            "gcp": {
                "sources": {"compute": "https://example.test/gcp"},
                "spot": {"discount": 0.5},
                "controlPlaneHourly": 0.10,
                "nat": {"perVmHourly": 0.001, "maxHourly": 0.004, "ipHourly": 0.005, "vmsPerIp": 1008},
                "loadBalancerHourly": 0.025,
                "publicIpHourly": 0.005,
                "acceleratorIncludedIn": {"g2": "nvidia-l4"},
                "regions": {
                    "us-central1": {
                        "machines": {"m-4": 0.10, "g2-standard-8": 0.80},
                        "accelerators": {"acc": 0.50},
                        "disks": {"pd-balanced": 0.073},
                        "storagePerGbMonth": 0.02,
                        "registryPerGbMonth": 0.10,
                    }
                },
            },
            "aws": {
                "sources": {"compute": "https://example.test/aws"},
                "spot": {"discount": 0.5},
                "controlPlaneHourly": 0.10,
                "publicIpHourly": 0.005,
                "kmsKeyMonthly": 1.0,
                "defaultNodeDiskGb": 20,
                "regions": {
                    "eu-west-1": {
                        "machines": {"m.a": 0.20, "m.b": 0.30},
                        "disks": {"gp3": 0.073},
                        "natHourly": 0.05,
                        "loadBalancerHourly": 0.02,
                        "storagePerGbMonth": 0.023,
                        "registryPerGbMonth": 0.10,
                    }
                },
            },
            "azure": {
                "sources": {"compute": "https://example.test/azure"},
                "spot": {"discount": 0.5},
                "controlPlaneHourly": {"Free": 0.0, "Standard": 0.10},
                "publicIpHourly": 0.005,
                "natHourly": 0.045,
                "loadBalancerHourly": 0.025,
                "registryDaily": {"Basic": 0.24},
                "managedOsDiskPerGbMonth": 0.073,
                "defaultOsDiskGb": 128,
                "regions": {"westeurope": {"machines": {"V1": 0.20, "V2": 1.00}, "storagePerGbMonth": 0.02}},
            },
        },
    }
)

GKE_PROVIDER = {"project": "p", "region": "us-central1"}


def gke_pool(name: str, **node_config) -> dict:
    return {
        "location": "us-central1-a",
        "nodeConfig": {"machineType": "m-4", "diskSizeGb": 100, "labels": {POOL_LABEL: name}, **node_config},
    }


def line(envelope, item: str):
    matches = [each for each in envelope.lines if each.item == item]
    assert len(matches) == 1, [each.item for each in envelope.lines]
    return matches[0]


def test_gke_pools_control_plane_and_nat_by_hand():
    resources = [
        Resource("gcp:container/cluster:Cluster", {"location": "us-central1-a"}, "main", "main"),
        Resource(
            "gcp:container/nodePool:NodePool",
            {**gke_pool("system"), "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 3}},
            "main-system",
            "main",
        ),
        # Per-zone counts over two zones: 0..2 per zone is 0..4 nodes.
        Resource(
            "gcp:container/nodePool:NodePool",
            {
                **gke_pool("gpu", spot=True, guestAccelerators=[{"type": "acc", "count": 2}]),
                "nodeLocations": ["us-central1-a", "us-central1-b"],
                "autoscaling": {"minNodeCount": 0, "maxNodeCount": 2},
            },
            "main-gpu",
            "main",
        ),
        Resource("gcp:compute/routerNat:RouterNat", {"region": "us-central1"}, "main-nat", "main"),
    ]
    envelope = estimate(resources, TEST_PRICES)

    system = line(envelope, "pool system")  # 0.10 machine + 0.01 disk = 0.11/h
    assert system.hourly_usd == pytest.approx(0.11)
    assert (system.floor_usd, system.ceiling_usd) == (pytest.approx(80.30), pytest.approx(240.90))

    gpu = line(envelope, "pool gpu")  # (0.10 + 2 x 0.50) x 0.5 spot + 0.01 disk = 0.56/h, 0..4 nodes
    assert gpu.hourly_usd == pytest.approx(0.56)
    assert (gpu.floor_usd, gpu.ceiling_usd) == (0, pytest.approx(1635.20))
    assert gpu.detail == "m-4 + 2x acc + 100 GB pd-balanced, spot, 0..4 nodes"

    assert line(envelope, "control plane").floor_usd == pytest.approx(73.00)
    # NAT: 1 VM at the floor (0.001 + 0.005 IP) = 0.006/h; 7 VMs hit the 0.004 cap: 0.009/h.
    nat = line(envelope, "nat")
    assert (nat.floor_usd, nat.ceiling_usd) == (pytest.approx(4.38), pytest.approx(6.57))

    assert envelope.floor_usd == pytest.approx(80.30 + 73.00 + 4.38)
    assert envelope.ceiling_usd == pytest.approx(240.90 + 1635.20 + 73.00 + 6.57)
    assert envelope.price_table_date == "2026-01-15"
    assert envelope.sources == ("https://example.test/gcp",)


def test_gpu_included_in_the_machine_price_is_not_charged_twice():
    pool = gke_pool("l4", machineType="g2-standard-8", guestAccelerators=[{"type": "nvidia-l4", "count": 1}])
    pool["autoscaling"] = {"totalMinNodeCount": 0, "totalMaxNodeCount": 1}
    envelope = estimate([Resource("gcp:container/nodePool:NodePool", pool, "p", "main")], TEST_PRICES)
    assert line(envelope, "pool l4").hourly_usd == pytest.approx(0.81)


def test_eks_node_group_prices_its_dearest_type_in_the_provider_region():
    resources = [
        Resource("aws:eks/cluster:Cluster", {}, "eks", "main", {"region": "eu-west-1"}),
        Resource(
            "aws:eks/nodeGroup:NodeGroup",
            {
                "instanceTypes": ["m.a", "m.b"],
                "capacityType": "SPOT",
                "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1},
                "labels": {POOL_LABEL: "batch"},
            },
            "eks-batch",
            "main",
            {"region": "eu-west-1"},
        ),
        Resource("aws:ec2/natGateway:NatGateway", {}, "nat-a", "main", {"region": "eu-west-1"}),
        Resource("aws:ec2/eip:Eip", {}, "nat-a-ip", "main", {"region": "eu-west-1"}),
        Resource("aws:kms/key:Key", {}, "secrets", "main", {"region": "eu-west-1"}),
    ]
    envelope = estimate(resources, TEST_PRICES)
    pool = line(envelope, "pool batch")  # m.b 0.30 x 0.5 spot + 20 GB x 0.073 / 730 = 0.152/h
    assert pool.hourly_usd == pytest.approx(0.152)
    assert (pool.floor_usd, pool.ceiling_usd) == (pytest.approx(110.96), pytest.approx(221.92))
    assert line(envelope, "nat").floor_usd == pytest.approx(36.50)
    assert line(envelope, "public ip").floor_usd == pytest.approx(3.65)
    assert line(envelope, "kms").floor_usd == pytest.approx(1.00)
    assert envelope.floor_usd == pytest.approx(73.00 + 110.96 + 36.50 + 3.65 + 1.00)


def test_eks_node_disks_come_from_the_launch_template():
    template = Resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        {
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, "volumeType": "gp3"}}
            ]
        },
        "eks-gpu",
        "main",
        {"region": "eu-west-1"},
        id="lt-0123",
    )
    group = {
        "instanceTypes": ["m.a"],
        "scalingConfig": {"minSize": 0, "maxSize": 1},
        "labels": {POOL_LABEL: "gpu"},
    }
    by_id = Resource(
        "aws:eks/nodeGroup:NodeGroup",
        {**group, "launchTemplate": {"id": "lt-0123", "version": "1"}},
        "eks-gpu",
        "main",
        {"region": "eu-west-1"},
    )
    # During a real preview the template's id is not known yet: the same logical name matches.
    by_name = Resource(
        "aws:eks/nodeGroup:NodeGroup",
        {**group, "launchTemplate": {"id": None, "version": None}},
        "eks-gpu",
        "main",
        {"region": "eu-west-1"},
    )
    for node_group in (by_id, by_name):
        pool = line(estimate([template, node_group], TEST_PRICES), "pool gpu")
        # 0.20 + 100 GB x 0.073 / 730 = 0.21/h
        assert pool.hourly_usd == pytest.approx(0.21)
        assert pool.detail == "m.a + 100 GB gp3, 0..1 nodes"


def test_a_node_volume_without_a_price_leaves_its_pool_priced_and_is_listed_alone():
    template = Resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"blockDeviceMappings": [{"ebs": {"volumeSize": 50, "volumeType": "io2"}}]},
        "eks-system",
        "main",
        {"region": "eu-west-1"},
    )
    eks = Resource(
        "aws:eks/nodeGroup:NodeGroup",
        {
            "instanceTypes": ["m.a"],
            "launchTemplate": {"id": None},
            "scalingConfig": {"minSize": 1, "maxSize": 2},
            "labels": {POOL_LABEL: "system"},
        },
        "eks-system",
        "main",
        {"region": "eu-west-1"},
    )
    gke = Resource("gcp:container/nodePool:NodePool", gke_pool("cpu", diskType="pd-extreme"), "gke-cpu")
    envelope = estimate([template, eks, gke], TEST_PRICES)
    # The nodes alone (m.a 0.20, m-4 0.10 per hour): floor and ceiling are lower bounds.
    assert line(envelope, "pool system").hourly_usd == pytest.approx(0.20)
    assert line(envelope, "pool cpu").hourly_usd == pytest.approx(0.10)
    assert envelope.floor_usd == pytest.approx((0.20 + 0.10) * 730)
    assert envelope.unpriced == (
        "eks-system: no price for disk type io2 in policies/prices.yaml (add it with its source under "
        "clouds.aws.regions.eu-west-1.disks, or the stack's budget.prices.aws.eu-west-1.disks)",
        "gke-cpu: no price for disk type pd-extreme in policies/prices.yaml (add it with its source under "
        "clouds.gcp.regions.us-central1.disks, or the stack's budget.prices.gcp.us-central1.disks)",
    )


def test_azure_spot_max_price_caps_the_node_price():
    pool = {
        "vmSize": "V2",
        "scaleSetPriority": "Spot",
        "spotMaxPrice": 0.3,
        "osDiskType": "Ephemeral",
        "count": 1,
        "nodeLabels": {POOL_LABEL: "gpu"},
    }
    envelope = estimate(
        [Resource("azure-native:containerservice:AgentPool", pool, "gpu", "", {"location": "westeurope"})],
        TEST_PRICES,
    )
    assert line(envelope, "pool gpu").hourly_usd == pytest.approx(0.3)  # not 1.00 x 0.5


def test_aks_pools_take_the_cluster_region_and_tier():
    resources = [
        # The agent pool comes first and names no location: the cluster's is used.
        Resource(
            "azure-native:containerservice:AgentPool",
            {
                "vmSize": "V2",
                "scaleSetPriority": "Spot",
                "enableAutoScaling": True,
                "minCount": 0,
                "maxCount": 3,
                "osDiskType": "Managed",
                "osDiskSizeGB": 100,
                "nodeLabels": {POOL_LABEL: "gpu"},
            },
            "aks-gpu",
            "main",
        ),
        Resource(
            "azure-native:containerservice:ManagedCluster",
            {
                "location": "West Europe",
                "sku": {"name": "Base", "tier": "Standard"},
                "agentPoolProfiles": [
                    {"name": "system", "vmSize": "V1", "count": 2, "osDiskType": "Ephemeral"}
                ],
            },
            "aks",
            "main",
        ),
        Resource("azure-native:containerregistry:Registry", {"sku": {"name": "Basic"}}, "acr", "main"),
    ]
    envelope = estimate(resources, TEST_PRICES)
    assert line(envelope, "control plane").floor_usd == pytest.approx(73.00)
    system = line(envelope, "pool system")  # 2 fixed nodes at 0.20, ephemeral OS disk
    assert (system.floor_usd, system.ceiling_usd) == (pytest.approx(292.00), pytest.approx(292.00))
    gpu = line(envelope, "pool gpu")  # 1.00 x 0.5 spot + 100 GB x 0.073 / 730 = 0.51/h
    assert (gpu.floor_usd, gpu.ceiling_usd) == (0, pytest.approx(1116.90))
    # Outbound through the default Standard Load Balancer: 0.025 + 0.005 public IP.
    assert line(envelope, "load balancer").floor_usd == pytest.approx(21.90)
    assert line(envelope, "registry").floor_usd == pytest.approx(0.24 * 730 / 24)


def test_entry_point_is_a_load_balancer_of_its_cluster_cloud_only_for_managed_clusters():
    gateway = ("kubernetes:gateway.networking.k8s.io/v1:Gateway", {"metadata": {"name": "gw"}})
    cluster_ip = ("kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}})
    resources = [
        Resource("gcp:container/cluster:Cluster", {"location": "us-central1"}, "main", "main"),
        Resource(*gateway, "gw", "main"),
        Resource(*cluster_ip, "svc", "main"),
        Resource(*gateway, "onprem-gw", "onprem"),
    ]
    envelope = estimate(resources, TEST_PRICES)
    balancers = [each for each in envelope.lines if each.item == "load balancer"]
    assert [(b.cluster, b.floor_usd) for b in balancers] == [("main", pytest.approx(18.25))]


def test_an_unknown_machine_type_is_listed_as_unpriced_not_an_error():
    pool = gke_pool("big", machineType="n9-colossal-512")
    envelope = estimate([("gcp:container/nodePool:NodePool", pool)], TEST_PRICES)
    assert envelope.lines == () and envelope.ceiling_usd == 0
    assert len(envelope.unpriced) == 1
    assert (
        "no price for machine type n9-colossal-512 in policies/prices.yaml (add it with its source"
        in (envelope.unpriced[0])
    )


def test_unknown_region_and_accelerator_name_what_is_missing():
    region = estimate(
        [("gcp:container/nodePool:NodePool", {**gke_pool("x"), "location": "asia-south2"})], TEST_PRICES
    )
    assert "no prices for gcp region asia-south2" in region.unpriced[0]
    pool = gke_pool("x", guestAccelerators=[{"type": "nvidia-b300", "count": 8}])
    accelerator = estimate([("gcp:container/nodePool:NodePool", pool)], TEST_PRICES)
    assert "no price for accelerator nvidia-b300 in policies/prices.yaml" in accelerator.unpriced[0]


def test_cluster_and_region_resolved_from_the_resource_graph():
    stack = "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s"
    platform = "urn:pulumi:s::p::mlplatform:aws:Platform::main"
    provider = "urn:pulumi:s::p::mlplatform:aws:Platform$pulumi:providers:aws::main-aws"
    nodes = [
        GraphNode(stack, "pulumi:pulumi:Stack", "p-s", {}),
        GraphNode(platform, "mlplatform:aws:Platform", "main", {}, parent=stack),
        GraphNode(provider, "pulumi:providers:aws", "main-aws", {"region": "eu-west-1"}, parent=platform),
        GraphNode(
            "urn:x::nat", "aws:ec2/natGateway:NatGateway", "nat", {}, parent=platform, provider=provider
        ),
    ]
    [nat] = [r for r in resources_from_graph(nodes) if r.type == "aws:ec2/natGateway:NatGateway"]
    assert (nat.cluster, nat.provider) == ("main", {"region": "eu-west-1"})
    assert estimate([nat], TEST_PRICES).floor_usd == pytest.approx(36.50)


def test_crossguard_policy_resources_adapt_to_the_graph():
    # The shape of pulumi_policy.PolicyResource in a stack policy.
    platform = SimpleNamespace(
        urn="urn:platform", resource_type="mlplatform:gcp:Platform", name="main", props={}, parent=None
    )
    provider = SimpleNamespace(
        urn="urn:provider", resource_type="pulumi:providers:gcp", name="g", props=GKE_PROVIDER
    )
    cluster = SimpleNamespace(
        urn="urn:cluster",
        resource_type="gcp:container/cluster:Cluster",
        name="main",
        props={},
        parent=platform,
        provider=provider,
    )
    resources = resources_from_graph(graph_nodes_from_policy([platform, cluster]))
    assert [(r.type, r.cluster, r.provider["region"]) for r in resources if r.type.startswith("gcp:")] == [
        ("gcp:container/cluster:Cluster", "main", "us-central1")
    ]


def test_pool_label_matches_the_pool_contract():
    assert cost_model.POOL_LABEL == POOL_LABEL


# --------------------------------------------------------------------------------------------
# The shipped price table and stacks

# The machine types the stacks of this project are built around, per cloud and region.
GCP_TYPES = ["e2-standard-4", "n1-standard-8", "n2-standard-8", "g2-standard-8", "ct5lp-hightpu-4t"]
AWS_TYPES = ["m6i.xlarge", "m6i.2xlarge", "m7i.xlarge", "g4dn.xlarge", "g5.xlarge", "g6.xlarge"]
AZURE_TYPES = [
    "Standard_D4s_v5",
    "Standard_D8s_v5",
    "Standard_D4ds_v5",
    "Standard_D8ds_v5",
    "Standard_NC4as_T4_v3",
    "Standard_NC24ads_A100_v4",
]
REQUIRED = {
    **{("gcp", region): GCP_TYPES for region in ("europe-west4", "us-central1")},
    ("aws", "us-east-1"): AWS_TYPES,
    # No eu-west-1 AZ offers g6 (stacks/catalogs/eks.yaml gpuZoneIds).
    ("aws", "eu-west-1"): [t for t in AWS_TYPES if t != "g6.xlarge"],
    **{("azure", region): AZURE_TYPES for region in ("westeurope", "eastus")},
}


def test_shipped_price_table_is_dated_sourced_and_covers_the_required_types():
    prices = PriceTable.load()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices.date)
    for (cloud, region), machine_types in REQUIRED.items():
        assert prices.source(cloud).startswith("https://")
        assert 0 < prices.spot_factor(cloud, spot=True) < 1
        for machine_type in machine_types:
            on_demand = prices.machine(cloud, region, machine_type, spot=False)
            assert 0 < prices.machine(cloud, region, machine_type, spot=True) < on_demand
    for region in ("europe-west4", "us-central1"):
        assert prices.accelerator("gcp", region, "nvidia-tesla-t4", spot=False) > 0


def test_europe_west4_g2_and_t4_are_the_catalog_figures():
    # skypilot-org/skypilot-catalog@017e250, catalogs/v7/gcp/vms.csv, europe-west4: g2-standard-8
    # is its row plus the L4 row, the T4 its own row (policies/prices.yaml says why these replace
    # the figures the table had).
    prices = PriceTable.load()
    assert prices.machine("gcp", "europe-west4", "g2-standard-8", spot=False) == 0.89661
    assert prices.accelerator("gcp", "europe-west4", "nvidia-tesla-t4", spot=False) == 0.3675


@pytest.fixture(scope="module")
def shipped_records():
    return {path.name: shipped_plan(path) for path in SHIPPED_STACK_FILES}


def test_every_shipped_stack_has_a_cost_estimate(shipped_records):
    for name, record in shipped_records.items():
        envelope = estimate_record(record)
        assert 0 <= envelope.floor_usd <= envelope.ceiling_usd, name
        managed = any(r.type.startswith(("gcp:", "aws:", "azure-native:")) for r in record.resources)
        assert bool(envelope.lines) == managed, name


def test_dev_stack_envelope_follows_its_config(shipped_records):
    envelope = estimate_record(shipped_records["Pulumi.dev.yaml"])
    prices = PriceTable.load()
    gpu = line(envelope, "pool gpu-t4")
    # Spot n1-standard-8 + T4 at the documented discount, plus a 100 GB pd-balanced boot disk.
    expected = (
        prices.machine("gcp", "europe-west4", "n1-standard-8", spot=True)
        + prices.accelerator("gcp", "europe-west4", "nvidia-tesla-t4", spot=True)
        + 100 * prices.disk("gcp", "europe-west4", "pd-balanced") / 730
    )
    assert gpu.hourly_usd == pytest.approx(expected)
    assert (gpu.floor_usd, gpu.ceiling_usd) == (0, pytest.approx(expected * 3 * 730))
    assert line(envelope, "pool system").floor_usd > 0  # the system pool never scales to zero
    assert line(envelope, "control plane").floor_usd == pytest.approx(73.00)


def test_cost_command_table_and_exit_codes(capsys, dev_config, write_stack):
    assert main(["cost", "--stack", "dev", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Cost envelope of dev (Pulumi.dev.yaml)**: floor **$")
    assert "| main | pool gpu-t4 |" in out and "List prices as of " in out

    dev_config["config"]["mlplatform:clusters"]["main"]["pools"]["system"]["machineType"] = "n9-colossal-512"
    # An unpriced machine type never blocks a valid stack: it is named, and the sums are lower bounds.
    assert main(["cost", "--config", str(write_stack(dev_config)), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert (
        "Unpriced (1, left out of floor and ceiling, which are therefore lower bounds): main-system: " in out
    )
    assert "no price for machine type n9-colossal-512 in policies/prices.yaml" in out
    assert "The budget of $" in out and "cannot be verified while items are unpriced." in out


def test_preview_ends_with_the_cost_envelope(capsys):
    assert main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    last_section = out.rstrip().split("\n\n")[-1]
    assert last_section.startswith("Cost envelope: floor $")
    assert "pool gpu-t4" in last_section and last_section.splitlines()[-1].startswith("List prices as of")


def test_render_cost_text_and_budget_note():
    envelope = estimate(
        [Resource("gcp:container/cluster:Cluster", {"location": "us-central1"}, "main", "main")], TEST_PRICES
    )
    text = render_cost(envelope, "text", budget=50)
    assert "floor $73.00, ceiling $73.00 per month" in text
    assert "The floor alone exceeds the monthly budget of $50.00." in text
    assert Path(cost_model.PRICES_FILE).name == "prices.yaml"


def test_multi_cluster_tables_total_each_cluster():
    clusters = [
        Resource("gcp:container/cluster:Cluster", {"location": "us-central1"}, name, name)
        for name in ("a", "b")
    ]
    envelope = estimate(clusters, TEST_PRICES)
    markdown = render_cost(envelope, "markdown")
    assert "| **a** | **total** | | | **$73.00** | **$73.00** |" in markdown
    assert "| **b** | **total** | | | **$73.00** | **$73.00** |" in markdown
    assert "floor **$146.00**/month, ceiling **$146.00**/month" in markdown
