"""EKS managed node groups: IMDSv2 launch template, GPU AMIs, spot, labels and taints from the
pool contract, and the Auto Scaling group tags that let the cluster autoscaler start from zero."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.contract import (
    GPU_RESOURCE,
    UPPER_SNAKE_TAINT_EFFECT,
    PoolContract,
    Toleration,
    node_labels,
    pool_contract,
)
from stacks import eks
from stacks.clusters import PoolConfig

EKS_CAPACITY_TYPE_LABEL = "eks.amazonaws.com/capacityType"
# EKS neither labels nor taints GPU nodes: the platform does both. The label is the one the
# NVIDIA device plugin's chart looks for.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
# The GPU model, on the node before the device plugin advertises nvidia.com/gpu: without it the
# autoscaler takes the starting node for one without GPUs and scales up again (cluster-autoscaler
# cloudprovider/aws/README.md, "Special note on GPU instances"; GPULabel in aws_cloud_provider.go).
AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"
GPU_TAINT_VALUE = "true"

AUTOSCALER_TAG = "k8s.io/cluster-autoscaler"
NODE_TEMPLATE_TAG = f"{AUTOSCALER_TAG}/node-template"

# Graviton families: m7g, c7gn, r8g, t4g, g5g, ... and the Grace-based p6e-gb200.
_GRAVITON_FAMILY = re.compile(r"[a-z]+[0-9]+[a-z]*g[a-z]*")


def is_graviton(instance_type: str) -> bool:
    family = instance_type.split(".")[0]
    return bool(_GRAVITON_FAMILY.fullmatch(family)) or "-gb" in family


def ami_type(pool: PoolConfig) -> str:
    """Amazon Linux 2023, with the NVIDIA driver for GPU pools, for the instance's CPU."""
    architecture = "ARM_64" if is_graviton(pool.machine_type or "") else "x86_64"
    return f"AL2023_{architecture}_{'NVIDIA' if pool.kind == 'gpu' else 'STANDARD'}"


def pool_node_labels(pool_name: str, pool: PoolConfig) -> dict[str, str]:
    labels = node_labels(pool_name, pool.labels)
    if pool.kind == "gpu":
        labels[GPU_PRESENT_LABEL] = "true"
        labels[AUTOSCALER_GPU_LABEL] = gpu_instance(pool).gpu
    return labels


def gpu_instance(pool: PoolConfig) -> eks.GpuInstance:
    """The catalog entry of a GPU pool's instance type (the config refuses unknown ones)."""
    instance = eks.gpu_instance(pool.machine_type or "")
    assert instance is not None, f"{pool.machine_type} passed the config without a catalog entry"
    return instance


def pool_taints(pool: PoolConfig) -> list[tuple[str, str, str]]:
    """(key, value, effect) of every taint the group's nodes carry; GPU nodes are always
    tainted so CPU-only pods never keep an expensive node awake."""
    taints = [(t.key, t.value, t.effect) for t in pool.taints]
    if pool.kind == "gpu":
        taints.insert(0, (GPU_RESOURCE, GPU_TAINT_VALUE, "NoSchedule"))
    return taints


def eks_pool_contract(name: str, pool: PoolConfig) -> PoolContract:
    """How workloads reach an EKS node group: the pool label, plus the capacity type for spot."""
    selector = node_labels(name)
    if pool.spot:
        selector[EKS_CAPACITY_TYPE_LABEL] = "SPOT"
    gpu_taint = (Toleration(GPU_RESOURCE),) if pool.kind == "gpu" else ()
    return pool_contract(
        name, pool, selector=selector, labels=pool_node_labels(name, pool), platform_tolerations=gpu_taint
    )


def autoscaler_tags(cluster_name: str, pool_name: str, pool: PoolConfig) -> dict[str, str]:
    """Tags for the group's Auto Scaling group: auto-discovery, and a description of the nodes
    it would create, which is all the autoscaler has to go on while the group is at zero."""
    tags = {f"{AUTOSCALER_TAG}/enabled": "true", f"{AUTOSCALER_TAG}/{cluster_name}": "owned"}
    labels = {
        **pool_node_labels(pool_name, pool),
        EKS_CAPACITY_TYPE_LABEL: "SPOT" if pool.spot else "ON_DEMAND",
    }
    for key, value in labels.items():
        tags[f"{NODE_TEMPLATE_TAG}/label/{key}"] = value
    for key, value, effect in pool_taints(pool):
        tags[f"{NODE_TEMPLATE_TAG}/taint/{key}"] = f"{value}:{effect}"
    if pool.kind == "gpu":
        # What one node of this instance type really has, not what the pool asks for.
        tags[f"{NODE_TEMPLATE_TAG}/resources/{GPU_RESOURCE}"] = str(gpu_instance(pool).gpus)
    return tags


@dataclass(frozen=True)
class EksNodeGroupArgs:
    pool_name: str
    pool: PoolConfig
    # Physical cluster name, known before deployment: it is part of the autoscaler's tag keys.
    cluster_name: str
    # The same name as an output of the cluster resource, so the group waits for the cluster.
    cluster: pulumi.Input[str]
    kubernetes_version: str
    node_role_arn: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]
    # Tags for the instances and volumes (provider default tags do not reach them).
    tags: dict[str, str] = field(default_factory=dict)
    # What nodes need before they can join: pod networking, the node role's policies.
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class EksNodeGroup(pulumi.ComponentResource):
    launch_template: aws.ec2.LaunchTemplate
    node_group: aws.eks.NodeGroup
    contract: PoolContract

    def __init__(self, name: str, args: EksNodeGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:NodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = args.pool
        self.contract = eks_pool_contract(args.pool_name, pool)

        instance_tags = {**args.tags, "Name": name}
        self.launch_template = aws.ec2.LaunchTemplate(
            name,
            description=f"EKS nodes of pool {args.pool_name}",
            # IMDSv2 only, one hop: pods cannot reach the node's credentials (they use IRSA).
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool.disk_size_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            update_default_version=True,
            opts=child,
        )

        self.node_group = aws.eks.NodeGroup(
            name,
            cluster_name=args.cluster,
            version=args.kubernetes_version,
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            ami_type=ami_type(pool),
            capacity_type="SPOT" if pool.spot else "ON_DEMAND",
            instance_types=[pool.machine_type],
            labels=self.contract.labels,
            taints=[
                aws.eks.NodeGroupTaintArgs(
                    key=key, value=value or None, effect=UPPER_SNAKE_TAINT_EFFECT[effect]
                )
                for key, value, effect in pool_taints(pool)
            ],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=pool.min, min_size=pool.min, max_size=pool.max
            ),
            # Accelerators rarely have surge capacity: replace one node at a time.
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            # The cluster autoscaler owns the current size; Pulumi only sets the bounds.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=args.depends_on, ignore_changes=["scalingConfig.desiredSize"]
            ),
        )

        # Tags on a managed node group do not reach its Auto Scaling group: tag the group itself,
        # by the name the node group reports.
        group_name = self.node_group.resources.apply(
            lambda resources: resources[0].autoscaling_groups[0].name
        )
        self.autoscaler_tags = [
            aws.autoscaling.Tag(
                f"{name}-asg-{key.removeprefix(AUTOSCALER_TAG + '/').replace('/', '-')}",
                autoscaling_group_name=group_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )
            for key, value in autoscaler_tags(args.cluster_name, args.pool_name, pool).items()
        ]
        self.register_outputs({"name": self.node_group.node_group_name, "autoscalingGroup": group_name})
