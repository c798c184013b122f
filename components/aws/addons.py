"""Cluster add-ons that need running nodes: CoreDNS, the EBS CSI driver (EKS managed) with a
default gp3 StorageClass and the Mountpoint for Amazon S3 CSI driver, metrics-server (for HPAs)
and the NVIDIA device plugin (for `nvidia.com/gpu`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.aws.eks_addon import managed_addon
from components.aws.identity import IrsaRole, IrsaRoleArgs, OidcIssuer
from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, on_pools_values, scheduling_values

METRICS_SERVER_CHART = Chart("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.12.2")
# The AWS provider for the Secrets Store CSI driver; its chart installs the driver itself as a
# dependency (chart 3.1.1, Chart.lock: secrets-store-csi-driver 1.6.0; README "Installation").
SECRETS_PROVIDER_CHART = Chart(
    "secrets-store-csi-driver-provider-aws",
    "https://aws.github.io/secrets-store-csi-driver-provider-aws",
    "3.1.1",
)
DEVICE_PLUGIN_CHART = Chart("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.17.1")
NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
DEFAULT_STORAGE_CLASS = "gp3"


@dataclass(frozen=True)
class EksAddonsArgs:
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    region: str
    oidc: OidcIssuer
    role_name: str
    system_pool: PoolContract
    # The system pool's node group: managed add-ons only turn healthy, and Helm releases only
    # become ready (atomic), once their pods run there.
    system_nodes: pulumi.Resource
    gpu_pools: list[PoolContract] = field(default_factory=list)
    # The GPU pools' node groups, where the device plugin's DaemonSet runs.
    gpu_nodes: list[pulumi.Resource] = field(default_factory=list)
    # Workloads mount the cluster's buckets: install the Mountpoint for Amazon S3 CSI driver.
    bucket_mounts: bool = False
    # Workloads read Secrets Manager secrets: install the Secrets Store CSI driver and ASCP.
    secrets: bool = False


class EksAddons(pulumi.ComponentResource):
    """Needs the aws and kubernetes providers in `opts.providers`."""

    def __init__(self, name: str, args: EksAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Addons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        on_nodes = pulumi.ResourceOptions(parent=self, depends_on=[args.system_nodes])
        system = args.system_pool.pod_scheduling()

        self.coredns = managed_addon(
            f"{name}-coredns",
            "coredns",
            args.cluster_name,
            args.kubernetes_version,
            on_nodes,
            configuration_values=json.dumps(system, sort_keys=True),
        )
        ebs_role = IrsaRole(
            f"{name}-ebs-csi",
            IrsaRoleArgs(
                role_name=args.role_name,
                region=args.region,
                oidc=args.oidc,
                namespace=NAMESPACE,
                service_account=EBS_CSI_SERVICE_ACCOUNT,
                description="EBS CSI driver (persistent volumes)",
                managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
            ),
            opts=child,
        )
        self.ebs_csi = managed_addon(
            f"{name}-ebs-csi",
            "aws-ebs-csi-driver",
            args.cluster_name,
            args.kubernetes_version,
            on_nodes,
            service_account_role_arn=ebs_role.arn,
            # The controller runs with the other add-ons; the node DaemonSet tolerates every
            # taint by default, so volumes attach on GPU nodes too.
            configuration_values=json.dumps({"controller": system}, sort_keys=True),
        )
        # EKS marks no StorageClass as default any more: volume claims (e.g. Prometheus') need one.
        self.storage_class = k8s.storage.v1.StorageClass(
            f"{name}-{DEFAULT_STORAGE_CLASS}",
            metadata={
                "name": DEFAULT_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            # Create the volume in the zone the pod is scheduled to.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.ebs_csi]),
        )
        self.metrics_server = chart_release(
            f"{name}-metrics-server",
            METRICS_SERVER_CHART,
            NAMESPACE,
            {
                # HPAs stop scaling while the metrics API is down: keep it available.
                "replicas": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
                **scheduling_values(args.system_pool),
            },
            opts=on_nodes,
            create_namespace=False,
        )
        self.s3_csi = None
        if args.bucket_mounts:
            # Mountpoint for Amazon S3 CSI driver, EKS add-on (docs.aws.amazon.com/eks/latest/
            # userguide/s3-csi.html). Its v2 node DaemonSet and mounter pods tolerate every taint
            # (chart 2.7.0 values.yaml node.defaultTolerations; awslabs/mountpoint-s3-csi-driver
            # docs/CONFIGURATION.md "Configure driver toleration settings"). No driver-level role:
            # every volume authenticates as its pod's IRSA role (authenticationSource: pod), so a
            # model reads exactly the buckets its own role grants, read-only.
            self.s3_csi = managed_addon(
                f"{name}-s3-csi",
                "aws-mountpoint-s3-csi-driver",
                args.cluster_name,
                args.kubernetes_version,
                on_nodes,
            )
        self.secrets_store = None
        if args.secrets:
            self.secrets_store = chart_release(
                f"{name}-secrets-store",
                SECRETS_PROVIDER_CHART,
                NAMESPACE,
                {
                    "awsRegion": args.region,
                    # The provider DaemonSet must run wherever a pod mounts secrets, GPU nodes
                    # included: its chart tolerates nothing by default (values.yaml
                    # `tolerations: []`), the driver's DaemonSet everything (driver chart 1.6.0
                    # values.yaml linux.tolerations: operator Exists).
                    "tolerations": [{"operator": "Exists"}],
                    # Secrets stay files in the pods: no sync into Kubernetes Secrets.
                    "secrets-store-csi-driver": {"syncSecret": {"enabled": False}},
                },
                opts=on_nodes,
                create_namespace=False,
            )
        self.device_plugin = None
        if args.gpu_pools:
            self.device_plugin = chart_release(
                f"{name}-nvidia-device-plugin",
                DEVICE_PLUGIN_CHART,
                NAMESPACE,
                on_pools_values(args.gpu_pools),
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.gpu_nodes),
                create_namespace=False,
            )
        self.register_outputs({})
