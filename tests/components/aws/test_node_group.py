"""Managed node groups: pool contract, IMDSv2 launch template, GPU AMI, spot, and the Auto
Scaling group tags that let the cluster autoscaler scale a group up from zero."""

from __future__ import annotations

import pytest

from components.aws.node_group import ami_type, autoscaler_tags, eks_pool_contract
from components.contract import POOL_LABEL, Toleration
from stacks.clusters import PoolConfig

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TAG = "aws:autoscaling/tag:Tag"
CA = "k8s.io/cluster-autoscaler"


def _asg_tags(plan, group: str) -> dict[str, str]:
    tags = [r.inputs for r in plan.record.of_type(TAG) if r.name.startswith(f"main-{group}-asg-")]
    return {t["tag"]["key"]: t["tag"]["value"] for t in tags}


def test_spot_gpu_pool_contract_selects_pool_and_spot_and_tolerates_the_gpu_taint():
    pool = PoolConfig(kind="gpu", machine_type="g6.xlarge", accelerator="nvidia-l4", min=0, max=4, spot=True)
    contract = eks_pool_contract("gpu-l4", pool)
    assert contract.node_selector == {POOL_LABEL: "gpu-l4", "eks.amazonaws.com/capacityType": "SPOT"}
    assert contract.tolerations == (Toleration("nvidia.com/gpu"),)
    assert (contract.extended_resource, contract.resource_per_node) == ("nvidia.com/gpu", 1)
    assert contract.pod_scheduling()["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_cpu_pool_contract_has_only_the_pool_label_and_user_taints():
    pool = PoolConfig(
        kind="cpu", machine_type="m7i.large", min=1, max=3, taints=[{"key": "batch", "value": "yes"}]
    )
    contract = eks_pool_contract("batch", pool)
    assert contract.node_selector == {POOL_LABEL: "batch"}
    assert contract.tolerations == (Toleration("batch", "NoSchedule", "yes"),)
    assert contract.extended_resource is None and not contract.spot


@pytest.mark.parametrize(
    ("kind", "machine_type", "expected"),
    [
        ("cpu", "m7i.xlarge", "AL2023_x86_64_STANDARD"),
        ("cpu", "m7g.xlarge", "AL2023_ARM_64_STANDARD"),
        ("cpu", "c7gn.large", "AL2023_ARM_64_STANDARD"),
        ("gpu", "g6.xlarge", "AL2023_x86_64_NVIDIA"),
        ("gpu", "g4dn.xlarge", "AL2023_x86_64_NVIDIA"),
        ("gpu", "g5g.xlarge", "AL2023_ARM_64_NVIDIA"),
    ],
)
def test_ami_type_matches_accelerator_and_cpu_architecture(kind, machine_type, expected):
    extra = {"accelerator": "nvidia"} if kind == "gpu" else {}
    assert ami_type(PoolConfig(kind=kind, machine_type=machine_type, min=0, max=1, **extra)) == expected


def test_gpu_group_is_spot_nvidia_tainted_and_scales_from_zero(eks):
    group = eks.custom(NODE_GROUP)["main-gpu-a10g"]
    assert group["amiType"] == "AL2023_x86_64_NVIDIA"
    assert group["capacityType"] == "SPOT"
    assert group["instanceTypes"] == ["g5.xlarge"]
    assert group["scalingConfig"] == {"desiredSize": 0, "minSize": 0, "maxSize": 4}
    assert group["labels"] == {
        POOL_LABEL: "gpu-a10g",
        "nvidia.com/gpu.present": "true",
        # The autoscaler's GPU label, so it waits for the device plugin instead of scaling again.
        "k8s.amazonaws.com/accelerator": "nvidia-a10g",
    }
    assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group["version"] == "1.35" and group["clusterName"] == "dev-main"
    system = eks.custom(NODE_GROUP)["main-system"]
    assert (system["amiType"], system["capacityType"]) == ("AL2023_x86_64_STANDARD", "ON_DEMAND")
    assert system["taints"] == []


def test_the_autoscaler_owns_the_desired_size(eks):
    for group in ("main-gpu-a10g", "main-system"):
        assert eks.options((NODE_GROUP, group))["ignoreChanges"] == ["scalingConfig.desiredSize"]


def test_nodes_wait_for_pod_networking_and_their_role(eks):
    group = (NODE_GROUP, "main-gpu-a10g")
    assert eks.waits_for(group, ("aws:eks/addon:Addon", "main-vpc-cni"))
    assert eks.waits_for(
        group, ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "main-nodes-AmazonEKSWorkerNodePolicy")
    )


def test_launch_template_enforces_imdsv2_and_encrypted_gp3(eks):
    groups = eks.custom(NODE_GROUP)
    templates = {r.name: r for r in eks.record.of_type("aws:ec2/launchTemplate:LaunchTemplate")}
    for name in ("main-gpu-a10g", "main-system"):
        template = templates[name]
        assert template.inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
        assert (ebs["volumeType"], ebs["encrypted"], ebs["volumeSize"]) == ("gp3", "true", 100)
        assert {spec["resourceType"] for spec in template.inputs["tagSpecifications"]} == {
            "instance",
            "volume",
            "network-interface",
        }
        assert template.inputs["tagSpecifications"][0]["tags"]["cost-center"] == "cc-1042"
        assert groups[name]["launchTemplate"] == {"id": template.id, "version": "1"}


def test_gpu_group_asg_tags_describe_its_nodes_for_scale_from_zero(eks):
    assert _asg_tags(eks, "gpu-a10g") == {
        f"{CA}/enabled": "true",
        f"{CA}/dev-main": "owned",
        f"{CA}/node-template/label/{POOL_LABEL}": "gpu-a10g",
        f"{CA}/node-template/label/nvidia.com/gpu.present": "true",
        f"{CA}/node-template/label/k8s.amazonaws.com/accelerator": "nvidia-a10g",
        f"{CA}/node-template/label/eks.amazonaws.com/capacityType": "SPOT",
        f"{CA}/node-template/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{CA}/node-template/resources/nvidia.com/gpu": "1",
    }
    assert _asg_tags(eks, "system") == {
        f"{CA}/enabled": "true",
        f"{CA}/dev-main": "owned",
        f"{CA}/node-template/label/{POOL_LABEL}": "system",
        f"{CA}/node-template/label/eks.amazonaws.com/capacityType": "ON_DEMAND",
    }


def test_asg_tags_go_on_the_group_the_node_group_reports(eks):
    by_group: dict[str, set[str]] = {}
    for tag in eks.record.of_type(TAG):
        group = tag.name.split("-asg-")[0]
        by_group.setdefault(group, set()).add(tag.inputs["autoscalingGroupName"])
        assert tag.inputs["tag"]["propagateAtLaunch"] is False
    # One Auto Scaling group per node group, named by EKS (eks-<node group>-<id>).
    assert all(len(names) == 1 for names in by_group.values())
    gpu, system = by_group["main-gpu-a10g"].pop(), by_group["main-system"].pop()
    assert gpu != system and gpu.startswith("eks-main-gpu-a10g-") and system.startswith("eks-main-system-")


def test_user_labels_taints_and_zones_reach_the_group_its_tags_and_its_contract(eks_variant):
    group = eks_variant.custom(NODE_GROUP)["main-gpu-a10g"]
    assert group["labels"]["team"] == "research"
    assert group["taints"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
        {"key": "dedicated", "value": "training", "effect": "NO_SCHEDULE"},
    ]
    subnets = {r.name: r.id for r in eks_variant.record.of_type("aws:ec2/subnet:Subnet")}
    assert group["subnetIds"] == [subnets["main-vpc-private-euw1-az1"]]
    tags = _asg_tags(eks_variant, "gpu-a10g")
    assert tags[f"{CA}/node-template/label/team"] == "research"
    assert tags[f"{CA}/node-template/taint/dedicated"] == "training:NoSchedule"
    # g5.12xlarge carries four A10G GPUs (stacks/catalogs/eks.yaml).
    assert tags[f"{CA}/node-template/resources/nvidia.com/gpu"] == "4"
    assert tags[f"{CA}/node-template/label/k8s.amazonaws.com/accelerator"] == "nvidia-a10g"
    assert eks_variant.custom(NODE_GROUP)["main-system"]["amiType"] == "AL2023_ARM_64_STANDARD"


@pytest.mark.parametrize(
    ("instance_type", "model", "gpus"),
    [
        ("g6.xlarge", "nvidia-l4", "1"),
        ("g5.12xlarge", "nvidia-a10g", "4"),
        ("p4d.24xlarge", "nvidia-tesla-a100", "8"),
    ],
)
def test_scale_from_zero_gpu_count_is_the_instance_types(instance_type, model, gpus):
    # No acceleratorCount: the count still comes from the instance type, not a default of one.
    pool = PoolConfig(kind="gpu", machine_type=instance_type, accelerator=model, min=0, max=2)
    tags = autoscaler_tags("dev-main", "gpu", pool)
    assert tags[f"{CA}/node-template/resources/nvidia.com/gpu"] == gpus
    assert tags[f"{CA}/node-template/label/k8s.amazonaws.com/accelerator"] == model
