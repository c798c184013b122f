"""Add-ons: cluster autoscaler, AWS Load Balancer Controller, CoreDNS, EBS CSI, metrics-server
and the NVIDIA device plugin - pinned, placed, and with least-privilege IRSA roles."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.addons import EksAddons, EksAddonsArgs
from components.aws.identity import OidcIssuer
from components.aws.load_balancer import controller_policy
from components.contract import POOL_LABEL, PoolContract
from stacks import eks as eks_catalog
from stacks.versions import kubernetes_releases
from tests.eks_plan import eks_variant_document

RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "aws:iam/role:Role"
SYSTEM = {"nodeSelector": {POOL_LABEL: "system"}, "tolerations": []}


def _trusted_subject(plan, role: str) -> str:
    trust = json.loads(plan.custom(ROLE)[role]["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    (audience,) = (v for k, v in condition.items() if k.endswith(":aud"))
    assert audience == "sts.amazonaws.com"
    (subject,) = (v for k, v in condition.items() if k.endswith(":sub"))
    return subject


def test_every_release_is_a_pinned_chart_in_kube_system(eks):
    # The cluster add-ons; monitoring has its own namespace (tests/components/k8s/test_monitoring.py).
    releases = {n: r for n, r in eks.custom(RELEASE).items() if r["namespace"] == "kube-system"}
    assert {r["chart"] for r in releases.values()} == {
        "cluster-autoscaler",
        "aws-load-balancer-controller",
        "metrics-server",
        "nvidia-device-plugin",
        "secrets-store-csi-driver-provider-aws",
    }
    for release in releases.values():
        assert release["version"][0].isdigit() and release["repositoryOpts"]["repo"].startswith("https://")
        assert release["namespace"] == "kube-system" and release["atomic"] is True


def test_cluster_autoscaler_discovers_this_cluster_and_runs_on_the_system_pool(eks):
    values = eks.custom(RELEASE)["main-autoscaler"]["values"]
    assert values["cloudProvider"] == "aws" and values["awsRegion"] == "eu-west-1"
    assert values["autoDiscovery"] == {"clusterName": "dev-main"}
    # The newest cluster-autoscaler-1.35 release (stacks/catalogs/eks.yaml).
    assert values["image"]["tag"] == "v1.35.2"
    assert values["extraArgs"] == {
        "balance-similar-node-groups": "true",
        "skip-nodes-with-system-pods": "false",
        "skip-nodes-with-local-storage": "false",
        "expander": "least-waste",
    }
    assert values["rbac"]["serviceAccount"] == {
        "name": "cluster-autoscaler",
        "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dev-main-cluster-autoscaler"
        },
    }
    assert values["nodeSelector"] == SYSTEM["nodeSelector"]
    assert _trusted_subject(eks, "main-autoscaler") == "system:serviceaccount:kube-system:cluster-autoscaler"


def test_autoscaler_image_is_pinned_for_every_supported_eks_version():
    images = eks_catalog.cluster_autoscaler_images()
    assert set(kubernetes_releases("aws")) <= set(images)
    assert all(tag.startswith(f"v{version}.") for version, tag in images.items())


def test_autoscaler_may_resize_only_this_clusters_groups(eks):
    policy = json.loads(eks.custom("aws:iam/rolePolicy:RolePolicy")["main-autoscaler-access"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    resize = statements["ResizeThisClustersGroups"]
    assert set(resize["Action"]) == {
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    }
    assert resize["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/dev-main": "owned"}
    }
    assert resize["Resource"].startswith("arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:")
    assert statements["DescribeThisClustersNodeGroups"]["Resource"] == (
        "arn:aws:eks:eu-west-1:123456789012:nodegroup/dev-main/*/*"
    )
    # Nothing but describe calls is allowed on every resource.
    unrestricted = [a for s in policy["Statement"] if s["Resource"] == "*" for a in s["Action"]]
    assert all(":Describe" in a or ":GetInstanceTypes" in a for a in unrestricted)


def test_load_balancer_controller_knows_its_cluster_vpc_and_role(eks):
    values = eks.custom(RELEASE)["main-lb-controller"]["values"]
    vpc = next(r for r in eks.record.of_type("aws:ec2/vpc:Vpc"))
    assert (values["clusterName"], values["region"], values["vpcId"]) == ("dev-main", "eu-west-1", vpc.id)
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/dev-main-lb-controller"
    }
    assert values["ingressClass"] == "alb" and values["replicaCount"] == 2
    assert values["nodeSelector"] == SYSTEM["nodeSelector"]
    assert _trusted_subject(eks, "main-lb-controller") == (
        "system:serviceaccount:kube-system:aws-load-balancer-controller"
    )


def test_load_balancer_controller_changes_only_load_balancers_tagged_as_this_clusters(eks):
    shipped = eks.custom("aws:iam/rolePolicy:RolePolicy")["main-lb-controller-access"]["policy"]
    assert shipped == controller_policy("eu-west-1", "123456789012", "dev-main")
    assert "${" not in shipped
    owned = {"aws:ResourceTag/elbv2.k8s.aws/cluster": "dev-main"}
    destructive = {
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups",
        "ec2:DeleteSecurityGroup",
    }
    granted = set()
    for statement in json.loads(shipped)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert all(arn == "*" or ":eu-west-1:123456789012:" in arn for arn in resources), statement["Sid"]
        if destructive & set(actions):
            assert statement["Condition"]["StringEquals"] == owned, statement["Sid"]
            granted |= destructive & set(actions)
        if "ec2:CreateTags" in actions or "elasticloadbalancing:CreateLoadBalancer" in actions:
            # New resources must be tagged as this cluster's to be created at all.
            tags = json.dumps(statement.get("Condition", {}))
            assert '"aws:RequestTag/elbv2.k8s.aws/cluster": "dev-main"' in tags or '"true"' in tags
    assert granted == destructive


def test_device_plugin_runs_on_every_gpu_node_and_tolerates_its_taints(eks, eks_variant):
    values = eks.custom(RELEASE)["main-addons-nvidia-device-plugin"]["values"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    # One term per GPU pool, its own selector (the dev stack's L4 pool is spot).
    assert terms["nodeSelectorTerms"] == [
        {
            "matchExpressions": [
                {"key": "eks.amazonaws.com/capacityType", "operator": "In", "values": ["SPOT"]},
                {"key": "mlplatform.io/pool", "operator": "In", "values": ["gpu-a10g"]},
            ]
        }
    ]
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    tolerations = eks_variant.custom(RELEASE)["main-addons-nvidia-device-plugin"]["values"]["tolerations"]
    assert {
        "key": "dedicated",
        "operator": "Equal",
        "value": "training",
        "effect": "NoSchedule",
    } in tolerations


def test_managed_addons_and_metrics_server_run_on_the_system_pool(eks):
    addons = eks.custom("aws:eks/addon:Addon")
    assert json.loads(addons["main-addons-coredns"]["configurationValues"]) == {
        "nodeSelector": {POOL_LABEL: "system"}
    }
    ebs = addons["main-addons-ebs-csi"]
    assert json.loads(ebs["configurationValues"]) == {"controller": {"nodeSelector": {POOL_LABEL: "system"}}}
    assert ebs["serviceAccountRoleArn"] == "arn:aws:iam::123456789012:role/dev-main-ebs-csi"
    assert (
        _trusted_subject(eks, "main-addons-ebs-csi")
        == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    )
    metrics = eks.custom(RELEASE)["main-addons-metrics-server"]["values"]
    assert metrics["nodeSelector"] == SYSTEM["nodeSelector"] and metrics["replicas"] == 2


def test_default_storage_class_is_encrypted_gp3(eks):
    storage = eks.custom("kubernetes:storage.k8s.io/v1:StorageClass")["main-addons-gp3"]
    assert storage["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage["provisioner"] == "ebs.csi.aws.com"
    assert storage["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert storage["volumeBindingMode"] == "WaitForFirstConsumer"


SYSTEM_NODES = ("aws:eks/nodeGroup:NodeGroup", "main-system")
GPU_NODES = ("aws:eks/nodeGroup:NodeGroup", "main-gpu-a10g")


def test_addons_wait_for_the_node_group_their_pods_run_on(eks):
    for resource in (
        ("aws:eks/addon:Addon", "main-addons-coredns"),
        ("aws:eks/addon:Addon", "main-addons-ebs-csi"),
        (RELEASE, "main-autoscaler"),
        (RELEASE, "main-lb-controller"),
        (RELEASE, "main-addons-metrics-server"),
    ):
        # The system pool hosts them; the spot GPU pool (min 0) does not hold them up.
        assert eks.waits_for(resource, SYSTEM_NODES), resource
        assert not eks.waits_for(resource, GPU_NODES), resource
    plugin = (RELEASE, "main-addons-nvidia-device-plugin")
    assert eks.waits_for(plugin, GPU_NODES) and not eks.waits_for(plugin, SYSTEM_NODES)


def test_managed_addons_are_pinned_to_the_default_for_the_cluster_version(eks, eks_variant):
    addons = eks.custom("aws:eks/addon:Addon")
    # The cluster has buckets: its models mount them through the Mountpoint for S3 driver.
    names = {"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "aws-mountpoint-s3-csi-driver"}
    assert {addon["addonName"] for addon in addons.values()} == names
    for addon in addons.values():
        # What the getAddonVersion invoke answers (emulated: v<cluster version>.0-eksbuild.<n>).
        assert addon["addonVersion"].startswith("v1.35.0-eksbuild."), addon["addonName"]


def test_addon_versions_follow_the_cluster_version(plan_of):
    document = eks_variant_document()
    document["config"]["mlplatform:clusters"]["main"]["kubernetesVersion"] = "1.34"
    addons = {r.inputs["addonName"]: r.inputs for r in plan_of(document).of_type("aws:eks/addon:Addon")}
    assert all(addon["addonVersion"].startswith("v1.34.0-eksbuild.") for addon in addons.values())


def test_a_cluster_without_gpu_pools_gets_no_device_plugin(run_components):
    def declare():
        aws_provider = aws.Provider("aws", region="eu-west-1")
        EksAddons(
            "cpu-only",
            EksAddonsArgs(
                cluster_name="dev-cpu",
                kubernetes_version="1.35",
                region="eu-west-1",
                oidc=OidcIssuer("arn:aws:iam::123456789012:oidc-provider/x", "https://x"),
                role_name="dev-cpu-ebs-csi",
                system_pool=PoolContract("system", "cpu", {POOL_LABEL: "system"}),
                system_nodes=aws_provider,
            ),
            opts=pulumi.ResourceOptions(providers=[aws_provider, k8s.Provider("k8s", kubeconfig="{}")]),
        )

    record = run_components(declare)
    assert [r.inputs["chart"] for r in record.of_type(RELEASE)] == ["metrics-server"]
