"""Stack config: the shipped stacks load; bad input fails at the door with file, key and problem."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from plan.engine import PROJECT_DIR
from stacks import ConfigError, load_stack_file
from stacks.loading import load_from_pulumi, parse_config


def _cluster(document: dict[str, Any]) -> dict[str, Any]:
    return document["config"]["mlplatform:clusters"]["main"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_load(stack):
    config = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    assert config.environment == stack
    assert config.clusters["main"].cloud == "gcp"


def test_dev_stack_has_system_and_spot_gpu_pool():
    pools = load_stack_file(PROJECT_DIR / "Pulumi.dev.yaml").clusters["main"].pools
    assert (pools["system"].kind, pools["system"].min, pools["system"].max) == ("cpu", 1, 3)
    assert (pools["gpu-t4"].kind, pools["gpu-t4"].min, pools["gpu-t4"].max) == ("gpu", 0, 3)
    assert pools["gpu-t4"].spot


def _mutate_pool(pool: str, **changes):
    def mutate(document):
        _cluster(document)["pools"][pool].update(changes)

    return mutate


def _set(path: list[str], value):
    def mutate(document):
        node = document["config"]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path: list[str]):
    def mutate(document):
        node = document["config"]
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _add_pool(name: str, pool: dict):
    def mutate(document):
        _cluster(document)["pools"][name] = pool

    return mutate


AWS_SETTINGS = {
    "accountId": "123456789012",
    "region": "eu-west-1",
    "availabilityZoneIds": ["euw1-az1", "euw1-az2"],
    "deployerRoleArn": "arn:aws:iam::123456789012:role/deployer",
}


def _move_to_aws(document):
    cluster = _cluster(document)
    del cluster["gcp"]
    cluster["cloud"] = "aws"
    cluster["aws"] = AWS_SETTINGS


def _second_cluster_same_cidr(document):
    clusters = document["config"]["mlplatform:clusters"]
    clusters["second"] = copy.deepcopy(clusters["main"])


TPU = {"kind": "tpu", "machineType": "ct5lp-hightpu-4t", "topology": "2x2", "min": 0, "max": 1}

INVALID = [
    pytest.param(
        _add_pool(
            "accelerated-inference-l4-pool",
            {"kind": "cpu", "machineType": "e2-standard-4", "min": 0, "max": 1},
        ),
        "mlplatform:clusters.main.pools.accelerated-inference-l4-pool: GKE names this node pool "
        "main-accelerated-inference-l4-pool-<suffix> (42 characters), beyond its limit of 40",
        id="gke-node-pool-name-too-long",
    ),
    pytest.param(
        lambda d: _cluster(d)["buckets"].__setitem__("google-exports", {}),
        "mlplatform:clusters.main.buckets.google-exports: GCS refuses bucket names containing 'google'",
        id="gcs-bucket-reserved-word",
    ),
    pytest.param(
        _mutate_pool("gpu-t4", labels={"team": "research lab"}),
        "mlplatform:clusters.main.pools.gpu-t4.labels: label 'team': value 'research lab' must be at most 63 "
        "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        id="label-value-kubernetes-refuses",
    ),
    pytest.param(
        _mutate_pool("gpu-t4", taints=[{"key": "Example.com/dedicated", "value": "ml"}]),
        "mlplatform:clusters.main.pools.gpu-t4.taints.0.key: a taint key is a qualified name like a label "
        "key: prefix 'Example.com' is not a DNS subdomain of at most 253 characters",
        id="taint-key-kubernetes-refuses",
    ),
    pytest.param(
        _mutate_pool("gpu-t4", maxNodes=3),
        "mlplatform:clusters.main.pools.gpu-t4.maxNodes: unknown key 'maxNodes'",
        id="misspelt-key",
    ),
    pytest.param(
        _mutate_pool("system", min=3, max=1),
        "mlplatform:clusters.main.pools.system.max: 1 is less than min 3",
        id="min-above-max",
    ),
    pytest.param(
        lambda d: (_move_to_aws(d), _add_pool("tpu", TPU)(d)),
        "mlplatform:clusters.main.pools.tpu.kind: TPU pools exist only on GKE (cloud: gcp), not on aws",
        id="tpu-on-aws",
    ),
    pytest.param(
        _mutate_pool("gpu-t4", accelerator=None),
        "mlplatform:clusters.main.pools.gpu-t4.accelerator: a gpu pool needs accelerator",
        id="gpu-without-accelerator",
    ),
    pytest.param(
        _mutate_pool("system", accelerator="nvidia-l4"),
        "mlplatform:clusters.main.pools.system.accelerator: a cpu pool has no accelerator",
        id="cpu-with-accelerator",
    ),
    pytest.param(
        _add_pool("tpu", {**TPU, "topology": None}),
        "mlplatform:clusters.main.pools.tpu.topology: a tpu pool needs topology",
        id="tpu-without-topology",
    ),
    pytest.param(
        _add_pool("tpu", {**TPU, "topology": "3x1"}),
        "mlplatform:clusters.main.pools.tpu.topology: GKE offers no 3x1 slice on ct5lp-hightpu-4t: "
        "use one of 2x2",
        id="tpu-topology-gke-does-not-offer",
    ),
    pytest.param(
        _add_pool("tpu", {**TPU, "topology": "4x4", "max": 2}),
        "mlplatform:clusters.main.pools.tpu.max: a 4x4 slice of ct5lp-hightpu-4t spans 4 hosts "
        "and GKE scales it as a unit",
        id="multi-host-tpu-partial-scaling",
    ),
    pytest.param(
        _set(["mlplatform:clusters", "main", "network", "podCidr"], "10.10.0.0/16"),
        "mlplatform:clusters.main.network.podCidr: 10.10.0.0/16 overlaps cidr 10.10.0.0/20",
        id="pod-range-overlaps-nodes",
    ),
    pytest.param(
        _second_cluster_same_cidr,
        "mlplatform:clusters.second.network.cidr: 10.10.0.0/20 overlaps cluster 'main'",
        id="clusters-overlap",
    ),
    pytest.param(
        _set(["mlplatform:clusters", "main", "network", "cidr"], "8.8.0.0/16"),
        "mlplatform:clusters.main.network.cidr: 8.8.0.0/16 is not a private IPv4 range",
        id="public-cidr",
    ),
    pytest.param(
        _set(["mlplatform:clusters", "main", "aws"], AWS_SETTINGS),
        "mlplatform:clusters.main.aws: cloud is 'gcp'; remove the aws settings block",
        id="settings-for-other-cloud",
    ),
    pytest.param(
        _delete(["mlplatform:clusters", "main", "gcp"]),
        "mlplatform:clusters.main.gcp: cloud is 'gcp', so the gcp settings block is required",
        id="missing-cloud-settings",
    ),
    pytest.param(
        _set(["mlplatform:clusters", "main", "cloud"], "openstack"),
        "mlplatform:clusters.main.cloud: Input should be 'gcp', 'aws', 'azure' or 'existing'",
        id="unknown-cloud",
    ),
    pytest.param(
        _mutate_pool("system", spot=True),
        "mlplatform:clusters.main.pools: the cluster needs a system pool",
        id="no-system-pool",
    ),
    pytest.param(
        _set(["mlplatform:clusters", "main", "gcp", "zones"], ["us-east1-b"]),
        "mlplatform:clusters.main.gcp.zones: Value error, 'us-east1-b' is not a zone of europe-west4 but of "
        "us-east1 (stacks/catalogs/gke.yaml, checked 2026-12-02): use one of europe-west4-a, europe-west4-b, "
        "europe-west4-c",
        id="zone-outside-region",
    ),
    pytest.param(
        lambda d: d["config"]["mlplatform:clusters"].update(
            {"a-very-long-cluster-name": d["config"]["mlplatform:clusters"].pop("main")}
        ),
        "mlplatform:clusters.a-very-long-cluster-name: cluster name 'a-very-long-cluster-name' must be",
        id="cluster-name-too-long",
    ),
    pytest.param(
        _delete(["mlplatform:budget"]),
        "mlplatform:budget: required key is missing",
        id="missing-budget",
    ),
    pytest.param(
        _set(["mlplatform:budgett"], {"monthlyMaxUsd": 1}),
        "mlplatform:budgett: unknown key 'budgett'",
        id="misspelt-top-level-key",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), INVALID)
def test_invalid_config_names_file_key_and_problem(dev_config, write_stack, mutate, message):
    mutate(dev_config)
    path = write_stack(dev_config)
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path)
    text = str(caught.value)
    assert text.startswith("Pulumi.test.yaml: "), text
    assert message.replace("Value error, ", "") in text
    assert "\n" not in text


def test_pulumi_config_path_gives_the_same_models_and_errors(dev_config):
    # A real run hands structured values as JSON strings.
    import json

    engine_config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in dev_config["config"].items()}
    assert load_from_pulumi("dev", engine_config) == load_stack_file(PROJECT_DIR / "Pulumi.dev.yaml")

    engine_config["mlplatform:clusterz"] = "{}"
    with pytest.raises(ConfigError, match=r"^Pulumi\.dev\.yaml: mlplatform:clusterz: unknown key"):
        load_from_pulumi("dev", engine_config)


def test_error_counts_further_problems(dev_config):
    raw = {k.split(":", 1)[1]: v for k, v in dev_config["config"].items() if k.startswith("mlplatform:")}
    raw["environment"] = "Dev!"
    raw["budget"] = {"monthlyMaxUsd": -1}
    with pytest.raises(ConfigError, match=r"\(and 1 more problem\(s\)\)$"):
        parse_config(raw, "x.yaml")


def test_shared_address_space_is_accepted_for_pod_ranges(dev_config, write_stack):
    # 100.64.0.0/10 (RFC 6598) is not RFC 1918 but is routable privately: GKE and EKS use it
    # to save RFC 1918 space for pods.
    _cluster(dev_config)["network"]["podCidr"] = "100.64.0.0/14"
    assert load_stack_file(write_stack(dev_config)).clusters["main"].network.pod_cidr == "100.64.0.0/14"


def test_numbers_set_through_the_cli_fill_string_fields(dev_config):
    # `pulumi config set --path mlplatform:models.model1.image.tag 2` stores the number 2; the
    # engine hands the whole `mlplatform:models` value over as JSON text. (A decimal such as 1.10
    # is refused with "quote it": as a number it would arrive as 1.1.)
    import json

    models = dev_config["config"]["mlplatform:models"]
    models["model1"]["image"]["tag"] = 2
    models["model1"]["resources"]["cpu"] = 2
    engine_config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in dev_config["config"].items()}
    assert '"tag": 2' in engine_config["mlplatform:models"]
    model = load_from_pulumi("dev", engine_config).models["model1"]
    assert model.image.tag == "2"
    assert model.resources.cpu == "2"
