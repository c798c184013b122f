"""One-line preview summaries of the AWS resources a reviewer checks first."""

from __future__ import annotations

from typing import Any

from plan.preview import describes


@describes("aws:eks/cluster:Cluster")
def _eks_cluster(inputs: dict[str, Any]) -> str:
    vpc = inputs.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess"):
        endpoint = f"endpoint public to {', '.join(vpc.get('publicAccessCidrs') or ['?'])}"
    else:
        endpoint = "endpoint private"
    parts = [f"Kubernetes {inputs.get('version')}", endpoint]
    if (inputs.get("encryptionConfig") or {}).get("resources"):
        parts.append("secrets KMS-encrypted")
    if inputs.get("enabledClusterLogTypes"):
        parts.append(f"logs {','.join(inputs['enabledClusterLogTypes'])}")
    return ", ".join(parts)


@describes("aws:eks/nodeGroup:NodeGroup")
def _eks_node_group(inputs: dict[str, Any]) -> str:
    scaling = inputs.get("scalingConfig") or {}
    parts = [
        ",".join(inputs.get("instanceTypes") or ["?"]),
        f"{scaling.get('minSize')}..{scaling.get('maxSize')} nodes",
        str(inputs.get("amiType")),
    ]
    if inputs.get("capacityType") == "SPOT":
        parts.append("spot")
    for taint in inputs.get("taints") or []:
        parts.append(f"taint {taint.get('key')}")
    return ", ".join(parts)


@describes("aws:ec2/vpc:Vpc")
def _vpc(inputs: dict[str, Any]) -> str:
    return str(inputs.get("cidrBlock"))


@describes("aws:ec2/subnet:Subnet")
def _subnet(inputs: dict[str, Any]) -> str:
    return (
        f"{inputs.get('cidrBlock')} in {inputs.get('availabilityZoneId') or inputs.get('availabilityZone')}"
    )


@describes("aws:autoscaling/tag:Tag")
def _autoscaling_tag(inputs: dict[str, Any]) -> str:
    tag = inputs.get("tag") or {}
    return f"{tag.get('key')}={tag.get('value')}"


@describes("aws:ecr/repository:Repository")
def _ecr_repository(inputs: dict[str, Any]) -> str:
    scan = (inputs.get("imageScanningConfiguration") or {}).get("scanOnPush")
    return f"{inputs.get('name')}, tags {str(inputs.get('imageTagMutability')).lower()}" + (
        ", scan on push" if scan else ""
    )


@describes("aws:s3/bucket:Bucket")
def _s3_bucket(inputs: dict[str, Any]) -> str:
    return str(inputs.get("bucket"))


@describes("aws:iam/role:Role")
def _iam_role(inputs: dict[str, Any]) -> str:
    return str(inputs.get("name"))
