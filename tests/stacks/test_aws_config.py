"""EKS cluster config: the example loads; what EKS cannot do fails at the door with the key."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from plan.cli import main
from plan.engine import PROJECT_DIR
from stacks import ConfigError, eks, load_stack_file, versions

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
    assert cluster.aws.availability_zone_ids == ["euw1-az1", "euw1-az2", "euw1-az3"]
    assert cluster.aws.deployer_role_arn == "arn:aws:iam::123456789012:role/platform-deployer"
    assert cluster.aws.support_type == "STANDARD"
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
        lambda c: c["aws"].pop("accountId"), "aws.accountId: required key is missing", id="no-account"
    ),
    pytest.param(_aws(accountId="12345"), "aws.accountId: String should match pattern", id="short-account"),
    pytest.param(
        _aws(availabilityZoneIds=["euw1-az1"]),
        "aws.availabilityZoneIds: List should have at least 2",
        id="one-zone",
    ),
    pytest.param(
        _aws(availabilityZoneIds=["euw1-az1", "use1-az2"]),
        "aws.availabilityZoneIds: 'use1-az2' is not an AZ ID of eu-west-1 (such as euw1-az1",
        id="zone-in-other-region",
    ),
    pytest.param(
        _aws(availabilityZoneIds=["euw1-az1", "eu-west-1b"]),
        "aws.availabilityZoneIds: 'eu-west-1b' is not an AZ ID of eu-west-1",
        id="zone-name-not-id",
    ),
    pytest.param(
        _aws(availabilityZoneIds=["euw1-az1", "euw1-az1"]),
        "aws.availabilityZoneIds: zones must not repeat",
        id="zone-twice",
    ),
    pytest.param(
        _aws(region="us-east-1", availabilityZoneIds=["use1-az1", "use1-az3"]),
        "aws.availabilityZoneIds: EKS runs no control plane in use1-az3",
        id="zone-without-eks-control-plane",
    ),
    pytest.param(
        lambda c: c["aws"].update(availabilityZones=c["aws"].pop("availabilityZoneIds")),
        "aws.availabilityZones: EKS settings name zones by AZ ID: replace availabilityZones with "
        "availabilityZoneIds",
        id="zone-names-key",
    ),
    pytest.param(
        lambda c: c["aws"].pop("deployerRoleArn"),
        "aws.deployerRoleArn: required key is missing",
        id="no-deployer",
    ),
    pytest.param(
        _aws(deployerRoleArn="arn:aws:sts::123456789012:assumed-role/deployer/ci"),
        "aws.deployerRoleArn: String should match pattern",
        id="deployer-session-not-role",
    ),
    pytest.param(
        _aws(adminRoleArns=["arn:aws:iam::123456789012:role/platform-deployer"]),
        "aws.adminRoleArns: arn:aws:iam::123456789012:role/platform-deployer is the deployerRoleArn, "
        "which is cluster-admin already: remove it from adminRoleArns",
        id="deployer-listed-as-admin",
    ),
    pytest.param(
        _aws(supportType="LONG"),
        "aws.supportType: Input should be 'STANDARD' or 'EXTENDED'",
        id="support-type",
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
        "choosing aws.supportType: EXTENDED (billed at six times the standard cluster-hour)",
        id="extended-support-not-chosen",
    ),
    pytest.param(
        _drop("kubernetesVersion"), "kubernetesVersion: EKS clusters are upgraded explicitly", id="no-version"
    ),
    pytest.param(
        _drop("authorizedNetworks", "ciAccess"),
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
        _pool("gpu-a10g", machineType="m7i.xlarge"),
        "pools.gpu-a10g.machineType: m7i.xlarge is not a known NVIDIA GPU instance type",
        id="gpu-pool-on-cpu-instance",
    ),
    pytest.param(
        _pool("gpu-a10g", machineType="g4ad.xlarge"),
        "pools.gpu-a10g.machineType: g4ad.xlarge is not a known NVIDIA GPU instance type "
        "(stacks/catalogs/eks.yaml, checked 2026-12-01); nearest known: g4dn.xlarge",
        id="amd-gpu",
    ),
    pytest.param(
        _pool("gpu-a10g", machineType="g6.3xlarge"),
        "pools.gpu-a10g.machineType: EC2 has no g6.3xlarge (stacks/catalogs/eks.yaml, checked "
        "2026-12-01): nearest sizes: g6.2xlarge, g6.4xlarge, g6.xlarge",
        id="unknown-size",
    ),
    pytest.param(
        _pool("gpu-a10g", acceleratorCount=2),
        "pools.gpu-a10g.acceleratorCount: g5.xlarge has 1 GPU(s), not 2: set acceleratorCount: 1",
        id="more-gpus-than-the-instance",
    ),
    pytest.param(
        _pool("gpu-a10g", machineType="g5.12xlarge"),
        "pools.gpu-a10g.acceleratorCount: g5.12xlarge has 4 GPU(s), not 1: set acceleratorCount: 4",
        id="fewer-gpus-than-the-instance",
    ),
    pytest.param(
        _pool("gpu-a10g", accelerator="nvidia-tesla-t4"),
        "pools.gpu-a10g.accelerator: g5.xlarge carries nvidia-a10g GPUs, not nvidia-tesla-t4: "
        "set accelerator: nvidia-a10g",
        id="other-gpu-model",
    ),
    pytest.param(
        # A key Kubernetes accepts (prefix/name, name within 63) but EKS does not (63 in all).
        _pool("system", taints=[{"key": "team.example.com/" + "k" * 50, "effect": "NoSchedule"}]),
        "pools.system.taints.0.key: EKS taint keys are 1-63 characters, this one has 67: shorten it",
        id="taint-key-too-long",
    ),
    pytest.param(
        _pool("gpu-a10g", gpuSharing={"strategy": "time-sharing", "maxSharedClientsPerGpu": 2}),
        "pools.gpu-a10g.gpuSharing: GPU sharing is managed by GKE only",
        id="gpu-sharing",
    ),
    pytest.param(
        _pool("gpu-a10g", zones=["euw1-az4"]),
        "pools.gpu-a10g.zones: zone 'euw1-az4' is not one of the cluster's availabilityZoneIds",
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
    # CI then deploys from a runner inside the VPC.
    cluster["ciAccess"] = {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "vpc-dev"]}
    assert load_stack_file(write_stack(eks_config)).clusters["main"].private_endpoint


def test_preview_of_a_bad_eks_config_exits_2(eks_config, write_stack, capsys):
    _cluster(eks_config)["pools"]["gpu-a10g"]["machineType"] = "m7i.xlarge"
    assert main(["preview", "--config", str(write_stack(eks_config))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pools.gpu-a10g.machineType" in err and "Traceback" not in err


def test_extended_support_is_an_explicit_choice(eks_config, write_stack):
    cluster = _cluster(eks_config)
    cluster.update(kubernetesVersion="1.33")
    cluster["aws"]["supportType"] = "EXTENDED"
    loaded = load_stack_file(write_stack(eks_config)).clusters["main"]
    assert loaded.support_phase == "extended" and loaded.aws.support_type == "EXTENDED"


def test_taint_key_of_63_characters_is_accepted(eks_config, write_stack):
    _cluster(eks_config)["pools"]["system"]["taints"] = [{"key": "k" * 63, "effect": "NoSchedule"}]
    assert load_stack_file(write_stack(eks_config)).clusters["main"].pools["system"].taints[0].key == "k" * 63


def test_every_eks_version_of_the_catalog_has_an_autoscaler_image():
    images = eks.cluster_autoscaler_images()
    for version in versions.kubernetes_releases("aws"):
        assert images.get(version, "").startswith(f"v{version}."), version


def test_a_version_without_autoscaler_image_is_refused(eks_config, write_stack, monkeypatch):
    monkeypatch.setattr(eks, "cluster_autoscaler_images", lambda: {"1.34": "v1.34.5"})
    with pytest.raises(
        ConfigError, match=r"kubernetesVersion: no cluster-autoscaler image is pinned for Kubernetes 1\.35"
    ):
        load_stack_file(write_stack(eks_config))


@pytest.mark.parametrize(
    ("instance_type", "gpus", "model"),
    [
        ("g6.xlarge", 1, "nvidia-l4"),
        ("g5.12xlarge", 4, "nvidia-a10g"),
        ("p4d.24xlarge", 8, "nvidia-tesla-a100"),
        ("g4dn.xlarge", 1, "nvidia-tesla-t4"),
        ("p5.48xlarge", 8, "nvidia-h100-80gb"),
    ],
)
def test_gpu_instance_table(instance_type, gpus, model):
    instance = eks.gpu_instance(instance_type)
    assert instance is not None and (instance.gpus, instance.gpu) == (gpus, model)


@pytest.mark.parametrize(
    ("region", "code"),
    [("eu-west-1", "euw1"), ("us-east-1", "use1"), ("ap-southeast-2", "apse2"), ("us-gov-west-1", "usgw1")],
)
def test_region_code_of_az_ids(region, code):
    assert eks.region_code(region) == code
