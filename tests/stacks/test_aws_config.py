"""EKS cluster config: the example loads; what EKS cannot do fails at the door with the key."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from plan.cli import main
from plan.engine import PROJECT_DIR
from stacks import ConfigError, load_stack_file
from stacks.clusters import is_nvidia_instance_type

EXAMPLE = PROJECT_DIR / "examples" / "aws-eks.yaml"
KEY = "mlplatform:clusters.main"


@pytest.fixture
def eks_config() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def _cluster(document: dict[str, Any]) -> dict[str, Any]:
    return document["config"]["mlplatform:clusters"]["main"]


def test_example_loads_with_eks_settings():
    cluster = load_stack_file(EXAMPLE).clusters["main"]
    assert cluster.cloud == "aws" and cluster.aws is not None
    assert cluster.aws.account_id == "123456789012"
    assert cluster.aws.nat_gateways == "single"
    assert cluster.aws.availability_zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert cluster.routing_mode == "ingress" and cluster.weighted_routing


def _aws(**changes):
    return lambda c: c["aws"].update(changes)


def _pool(name: str, **changes):
    return lambda c: c["pools"][name].update(changes)


def _drop(*keys: str):
    def mutate(cluster):
        for key in keys:
            del cluster[key]

    return mutate


INVALID = [
    pytest.param(
        _aws(adminRoleArns=["arn:aws:iam::123456789012:role/github-deploy"]),
        "aws.adminRoleArns: arn:aws:iam::123456789012:role/github-deploy is the deployer",
        id="deployer-listed-as-admin-too",
    ),
    pytest.param(
        lambda c: c["aws"].pop("deployerRoleArn"),
        "aws.deployerRoleArn: required key is missing",
        id="no-deployer",
    ),
    pytest.param(
        _pool("gpu-l4", taints=[{"key": "team.example.com/" + "x" * 50, "value": "ml"}]),
        "pools.gpu-l4.taints.0.key: EKS takes taint keys of at most 63 characters, not 67",
        id="taint-key-longer-than-eks-takes",
    ),
    pytest.param(
        lambda c: c["aws"].pop("accountId"), "aws.accountId: required key is missing", id="no-account"
    ),
    pytest.param(_aws(accountId="12345"), "aws.accountId: String should match pattern", id="short-account"),
    pytest.param(
        _aws(availabilityZones=["eu-west-1a"]),
        "aws.availabilityZones: List should have at least 2",
        id="one-zone",
    ),
    pytest.param(
        _aws(availabilityZones=["eu-west-1a", "us-east-1b"]),
        "aws.availabilityZones: zone 'us-east-1b' is not a zone of region 'eu-west-1'",
        id="zone-in-other-region",
    ),
    pytest.param(
        _aws(availabilityZones=["eu-west-1a", "eu-west-1a"]),
        "aws.availabilityZones: zones must not repeat",
        id="zone-twice",
    ),
    pytest.param(
        _aws(natGateways="many"), "aws.natGateways: Input should be 'single' or 'perAz'", id="nat-mode"
    ),
    pytest.param(
        _aws(adminRoleArns=["arn:aws:iam::123456789012:user/alice"]),
        "aws.adminRoleArns: 'arn:aws:iam::123456789012:user/alice' is not an IAM role ARN",
        id="admin-not-a-role",
    ),
    pytest.param(
        _aws(logRetentionDays=10), "aws.logRetentionDays: CloudWatch keeps logs for one of", id="retention"
    ),
    pytest.param(
        lambda c: c.update(kubernetesVersion="1.27"),
        "kubernetesVersion: EKS offers no Kubernetes 1.27 in the version catalog",
        id="unsupported-version",
    ),
    pytest.param(
        lambda c: c.update(kubernetesVersion="1.33"),
        "kubernetesVersion: Kubernetes 1.33 on EKS left standard support on 2026-07-29; stay on it only by "
        "choosing aws.supportType: EXTENDED",
        id="extended-support-not-chosen",
    ),
    pytest.param(
        _drop("kubernetesVersion"), "kubernetesVersion: EKS clusters are upgraded explicitly", id="no-version"
    ),
    pytest.param(
        _drop("authorizedNetworks"),
        "authorizedNetworks: a public EKS endpoint must be limited to known networks",
        id="open-endpoint",
    ),
    pytest.param(
        lambda c: c.update(authorizedNetworks=["0.0.0.0/0"]),
        "authorizedNetworks: 0.0.0.0/0 opens the API endpoint to the whole internet",
        id="whole-internet",
    ),
    pytest.param(
        lambda c: c.update(authorizedNetworks=["203.0.113.7/24"]),
        "authorizedNetworks: '203.0.113.7/24' is not a CIDR block",
        id="host-bits-set",
    ),
    pytest.param(
        lambda c: c["network"].update(cidr="10.30.0.0/24"),
        "network.cidr: 10.30.0.0/24: an EKS VPC needs a /16 to /22 range",
        id="vpc-too-small",
    ),
    pytest.param(
        lambda c: c["network"].update(podCidr="10.100.0.0/16"),
        "network.podCidr: EKS pods take addresses from the VPC subnets (VPC CNI); remove podCidr",
        id="pod-cidr",
    ),
    pytest.param(
        lambda c: c["network"].update(serviceCidr="192.0.2.0/24"),
        "network.serviceCidr: 192.0.2.0/24: EKS takes a /12 to /24 service range inside",
        id="service-cidr-outside-rfc1918",
    ),
    pytest.param(
        lambda c: c["network"].update(serviceCidr="172.20.0.0/26"),
        "network.serviceCidr: 172.20.0.0/26: EKS takes a /12 to /24 service range inside",
        id="service-cidr-too-small",
    ),
    pytest.param(
        _pool("gpu-l4", machineType="m7i.xlarge"),
        "pools.gpu-l4.machineType: m7i.xlarge is not an NVIDIA GPU instance type",
        id="gpu-pool-on-cpu-instance",
    ),
    pytest.param(
        _pool("gpu-l4", machineType="g4ad.xlarge"),
        "pools.gpu-l4.machineType: g4ad.xlarge is not an NVIDIA GPU instance type",
        id="amd-gpu",
    ),
    pytest.param(
        _pool("gpu-l4", gpuSharing={"strategy": "time-sharing", "maxSharedClientsPerGpu": 2}),
        "pools.gpu-l4.gpuSharing: GPU sharing is managed by GKE only",
        id="gpu-sharing",
    ),
    pytest.param(
        _pool("gpu-l4", zones=["eu-west-1d"]),
        "pools.gpu-l4.zones: zone 'eu-west-1d' is not one of the cluster's availabilityZones",
        id="pool-zone-outside-cluster",
    ),
    pytest.param(
        lambda c: c["pools"].update(
            tpu={"kind": "tpu", "machineType": "ct5lp-hightpu-4t", "topology": "2x2", "min": 0, "max": 1}
        ),
        "pools.tpu.kind: TPU pools exist only on GKE (cloud: gcp), not on aws",
        id="tpu",
    ),
    pytest.param(
        lambda c: c["aws"].update(publicAccessCidrs=["203.0.113.0/24"]),
        "aws.publicAccessCidrs: unknown key",
        id="endpoint-cidrs-live-in-authorized-networks",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), INVALID)
def test_invalid_eks_config_names_the_key(eks_config, write_stack, mutate, message):
    mutate(_cluster(eks_config))
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(eks_config))
    text = str(caught.value)
    assert text.startswith(f"Pulumi.test.yaml: {KEY}."), text
    assert f"{KEY}.{message}" in text


def test_private_endpoint_needs_no_authorized_networks(eks_config, write_stack):
    cluster = _cluster(eks_config)
    del cluster["authorizedNetworks"]
    cluster["privateEndpoint"] = True
    assert load_stack_file(write_stack(eks_config)).clusters["main"].private_endpoint


def test_preview_of_a_bad_eks_config_exits_2(eks_config, write_stack, capsys):
    _cluster(eks_config)["pools"]["gpu-l4"]["machineType"] = "m7i.xlarge"
    assert main(["preview", "--config", str(write_stack(eks_config))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pools.gpu-l4.machineType" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("instance_type", "nvidia"),
    [
        ("g6.xlarge", True),
        ("p5.48xlarge", True),
        ("g5g.2xlarge", True),
        ("gr6.4xlarge", True),
        ("p6-b200.48xlarge", True),
        ("g4ad.xlarge", False),
        ("m7i.xlarge", False),
        ("inf2.xlarge", False),
        ("g6", False),
    ],
)
def test_nvidia_instance_types(instance_type, nvidia):
    assert is_nvidia_instance_type(instance_type) is nvidia


def test_a_version_past_standard_support_runs_only_with_extended_support_chosen(eks_config, write_stack):
    cluster = _cluster(eks_config)
    cluster["kubernetesVersion"] = "1.33"
    cluster["aws"]["supportType"] = "EXTENDED"
    stack = load_stack_file(write_stack(eks_config))
    assert stack.clusters["main"].support_phase == "extended"
