"""GKE defects a first real `pulumi up` hits (issue 12), asserted through the plan record."""

from __future__ import annotations

import copy

import pytest

from stacks import ConfigError, load_stack_file
from tests.helpers import dig, one

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
WI_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"


def test_every_workload_identity_binding_waits_for_the_cluster(dev_plan):
    cluster = one(dev_plan, CLUSTER)
    bindings = [
        r for r in dev_plan.of_type(WI_MEMBER) if r.inputs["role"] == "roles/iam.workloadIdentityUser"
    ]
    assert bindings
    for binding in bindings:
        assert ".svc.id.goog[" in binding.inputs["member"]
        assert dev_plan.depends_on(binding.urn, cluster.urn), binding.urn


def test_vulnerability_scanning_uses_a_supported_mode(dev_plan):
    posture = one(dev_plan, CLUSTER).inputs["securityPostureConfig"]
    assert posture["vulnerabilityMode"] in ("VULNERABILITY_DISABLED", "VULNERABILITY_ENTERPRISE")


def test_default_pool_runs_as_the_node_service_account(dev_plan):
    cluster = one(dev_plan, CLUSTER)
    account = one(dev_plan, "gcp:serviceaccount/account:Account", "main-nodes")
    assert dig(cluster.inputs, "nodeConfig.serviceAccount").startswith("dev-main-nodes-")
    assert dev_plan.depends_on(cluster.urn, account.urn)
    assert set(cluster.options["ignoreChanges"]) == {"nodeConfig", "initialNodeCount"}


def test_node_pool_min_max_edits_are_in_place(dev_plan):
    for pool in dev_plan.of_type(NODE_POOL):
        assert pool.options["ignoreChanges"] == ["initialNodeCount"], pool.name


def test_collision_prone_resources_are_deleted_before_replacement(dev_plan):
    for type_token in (CLUSTER, "gcp:compute/subnetwork:Subnetwork", "gcp:compute/routerNat:RouterNat"):
        assert one(dev_plan, type_token).options.get("deleteBeforeReplace") is True, type_token


def test_control_plane_reaches_the_metrics_apis_and_webhooks_on_nodes(dev_plan):
    firewall = one(dev_plan, "gcp:compute/firewall:Firewall").inputs
    assert firewall["direction"] == "INGRESS"
    assert firewall["sourceRanges"] == [
        one(dev_plan, CLUSTER).inputs["privateClusterConfig"]["masterIpv4CidrBlock"]
    ]
    # Metrics APIs (prometheus-adapter, KEDA) on 6443, KEDA's admission webhooks on 9443.
    assert firewall["allows"] == [{"protocol": "tcp", "ports": ["6443", "9443"]}]
    assert firewall["targetServiceAccounts"][0].startswith("dev-main-nodes-")
    assert "6443" in firewall["description"] and "KEDA admission webhooks" in firewall["description"]


def test_node_service_account_has_the_single_gke_node_role(dev_plan):
    node_grants = [
        r.inputs["role"]
        for r in dev_plan.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["member"].startswith("serviceAccount:")
    ]
    assert node_grants == ["roles/container.defaultNodeServiceAccount"]


def test_single_host_tpu_pool_has_no_placement_and_total_counts(prod_plan):
    tpu = one(prod_plan, NODE_POOL, "main-tpu-v5e").inputs
    assert tpu.get("placementPolicy") is None
    assert (dig(tpu, "autoscaling.totalMinNodeCount"), dig(tpu, "autoscaling.totalMaxNodeCount")) == (0, 4)


def _with_tpu_pool(document, **pool):
    document = copy.deepcopy(document)
    document["config"]["mlplatform:clusters"]["main"]["pools"]["slice"] = {"kind": "tpu", **pool}
    return document


def test_multi_host_tpu_slice_is_compact_and_sized_per_zone(dev_config, plan_of):
    plan = plan_of(_with_tpu_pool(dev_config, machineType="ct5lp-hightpu-4t", topology="4x4", min=0, max=4))
    pool = one(plan, NODE_POOL, "main-slice").inputs
    assert pool["placementPolicy"] == {"type": "COMPACT", "tpuTopology": "4x4"}
    assert (dig(pool, "autoscaling.minNodeCount"), dig(pool, "autoscaling.maxNodeCount")) == (0, 4)
    assert "totalMaxNodeCount" not in pool["autoscaling"] and "locationPolicy" not in pool["autoscaling"]


@pytest.mark.parametrize(
    ("pool", "key", "words"),
    [
        ({"machineType": "ct5lp-hightpu-4t", "topology": "4x4", "min": 0, "max": 8}, "max", "spans 4 hosts"),
        (
            {"machineType": "ct5lp-hightpu-4t", "topology": "3x3", "min": 0, "max": 1},
            "topology",
            "offers no 3x3",
        ),
        ({"machineType": "ct5lp-hightpu-8t", "topology": "4x4", "min": 0, "max": 2}, "topology", "2x4"),
        (
            {"machineType": "ct5lp-hightpu-2t", "topology": "2x2", "min": 0, "max": 1},
            "machineType",
            "gke_tpu.yaml",
        ),
        (
            {
                "machineType": "ct6e-standard-4t",
                "topology": "4x4",
                "min": 0,
                "max": 4,
                "zones": ["europe-west4-a", "europe-west4-b"],
            },
            "zones",
            "one zone",
        ),
    ],
)
def test_config_refuses_tpu_pools_gke_refuses(dev_config, write_stack, pool, key, words):
    with pytest.raises(ConfigError) as error:
        load_stack_file(write_stack(_with_tpu_pool(dev_config, **pool)))
    message = str(error.value)
    assert f"mlplatform:clusters.main.pools.slice.{key}" in message and words in message
    assert "Pulumi.test.yaml" in message
