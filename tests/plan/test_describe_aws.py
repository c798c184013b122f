"""`plan preview` of the EKS example: the platform and its workloads, summarised for review."""

from __future__ import annotations

from plan.preview import render_preview
from plan.workloads import render_workloads


def test_preview_summarises_the_eks_platform_and_workloads(eks):
    out = render_preview(eks.record, sections=[render_workloads])
    assert (
        # The operators' network, then the named CI runners' range (ciAccess: runnerCidrs).
        "aws:eks/cluster:Cluster  main  [Kubernetes 1.35, endpoint public to 203.0.113.0/24, "
        "198.51.100.16/28, secrets KMS-encrypted, logs api,audit,authenticator]"
    ) in out
    assert (
        "aws:eks/nodeGroup:NodeGroup  main-gpu-a10g  "
        "[g5.xlarge, 0..4 nodes, AL2023_x86_64_NVIDIA, spot, taint nvidia.com/gpu]" in out
    )
    assert "[k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu=1]" in out
    assert "aws:ec2/subnet:Subnet  main-vpc-private-euw1-az1  [10.30.0.0/18 in euw1-az1]" in out
    assert (
        "aws:ecr/repository:Repository  main-models-sentiment  "
        "[models/sentiment, tags immutable, scan on push]" in out
    )
    assert "/sentiment" in out and "sentiment-candidate" in out
    assert "nightly-batch" in out
