"""One EKS cluster with everything around it: provider, VPC, cluster, node groups, add-ons,
ECR, S3 buckets and IRSA workload identity."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.access import EksTeamAccess, EksTeamAccessArgs
from components.aws.addons import EksAddons, EksAddonsArgs
from components.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.aws.bucket import S3Bucket, S3BucketArgs
from components.aws.certificate import AcmCertificate, AcmCertificateArgs, https_annotations
from components.aws.cluster import EksCluster, EksClusterArgs
from components.aws.identity import EksSecretStore, EksWorkloadIdentity, NodeRole, NodeRoleArgs, role_name
from components.aws.load_balancer import INGRESS_CLASS, LoadBalancerController, LoadBalancerControllerArgs
from components.aws.network import EksNetwork, EksNetworkArgs
from components.aws.node_group import EksNodeGroup, EksNodeGroupArgs
from components.aws.registry import EcrRegistry, EcrRegistryArgs
from components.handle import BucketDriver, ClusterAccess, ClusterHandle, EntryTls, Routing
from components.naming import fitted_name
from stacks.clusters import ClusterConfig
from stacks.config import StackConfig

S3_NAME_LIMIT = 63


@dataclass(frozen=True)
class EksPlatformArgs:
    environment: str
    cluster: ClusterConfig
    labels: dict[str, str] = field(default_factory=dict)
    # Image repositories the cluster's workloads pull (one ECR repository each).
    repositories: tuple[str, ...] = ()
    # Team IAM role ARN -> the Kubernetes groups its access entry carries.
    team_role_groups: dict[str, list[str]] = field(default_factory=dict)
    # A workload reads Secrets Manager secrets: install the Secrets Store CSI driver.
    secrets: bool = False


class EksPlatform(pulumi.ComponentResource):
    handle: ClusterHandle

    def __init__(self, name: str, args: EksPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Platform", name, None, opts)
        config = args.cluster
        settings = config.aws
        # Guaranteed by ClusterConfig for cloud: aws.
        assert settings is not None and config.network is not None and config.kubernetes_version is not None
        tags = {**args.labels, "mlplatform-cluster": name}
        # EKS names are per account and region, IAM role names per account: say which stack.
        cluster_name = f"{args.environment}-{name}"
        region, account_id = settings.region, settings.account_id

        self.provider = aws.Provider(
            f"{name}-aws",
            region=region,
            allowed_account_ids=[account_id],
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"aws": self.provider})

        self.network = EksNetwork(
            f"{name}-vpc",
            EksNetworkArgs(
                region=region,
                cidr=config.network.cidr,
                availability_zone_ids=settings.availability_zone_ids,
                nat_gateways=settings.nat_gateways,
                account_id=account_id,
                flow_log_role_name=role_name(cluster_name, "flow-logs"),
                flow_log_retention_days=settings.flow_log_retention_days,
            ),
            opts=child,
        )
        self.cluster = EksCluster(
            name,
            EksClusterArgs(
                cluster_name=cluster_name,
                region=region,
                kubernetes_version=config.kubernetes_version,
                subnet_ids=self.network.private_subnet_ids(),
                service_cidr=config.network.service_cidr,
                role_prefix=cluster_name,
                private_endpoint=config.private_endpoint,
                authorized_networks=config.api_networks,
                deployer_role_arn=settings.deployer_role_arn,
                account_id=account_id,
                admin_role_arns=settings.admin_role_arns,
                support_type=settings.support_type,
                log_retention_days=settings.log_retention_days,
                deletion_protection=config.deletion_protection,
                # Nodes join through the NAT routes; load balancers need the subnet tags.
                depends_on=[self.network],
                runner_vpc_cidr=config.network.cidr
                if config.ci_access is not None and config.ci_access.mode == "selfHostedRunner"
                else None,
            ),
            opts=child,
        )
        self.team_access = EksTeamAccess(
            f"{name}-team-access",
            EksTeamAccessArgs(
                cluster_name=self.cluster.cluster.name,
                cluster_arn=self.cluster.cluster.arn,
                name_prefix=cluster_name,
                role_groups=dict(args.team_role_groups),
            ),
            opts=child,
        )
        self.node_role = NodeRole(
            f"{name}-nodes",
            NodeRoleArgs(role_name=role_name(cluster_name, "nodes"), region=region),
            opts=child,
        )
        self.node_groups = {
            pool_name: EksNodeGroup(
                f"{name}-{pool_name}",
                EksNodeGroupArgs(
                    pool_name=pool_name,
                    pool=pool,
                    cluster_name=cluster_name,
                    cluster=self.cluster.cluster.name,
                    kubernetes_version=config.kubernetes_version,
                    node_role_arn=self.node_role.arn,
                    subnet_ids=self.network.private_subnet_ids(pool.zones),
                    tags=tags,
                    # Nodes turn Ready only with pod networking, and join only with their policies.
                    depends_on=[*self.cluster.networking_addons, *self.node_role.attachments],
                ),
                opts=child,
            )
            for pool_name, pool in config.pools.items()
        }
        contracts = {pool_name: group.contract for pool_name, group in self.node_groups.items()}
        system_pool = contracts[config.system_pool]

        cluster_child = pulumi.ResourceOptions(
            parent=self, providers={"aws": self.provider, "kubernetes": self.cluster.kubernetes_provider}
        )
        # Each add-on waits for the node group its pods schedule on, not for every pool.
        system_nodes = self.node_groups[config.system_pool]
        gpu_pools = [pool_name for pool_name, contract in contracts.items() if contract.kind == "gpu"]
        self.addons = EksAddons(
            f"{name}-addons",
            EksAddonsArgs(
                cluster_name=self.cluster.cluster.name,
                kubernetes_version=config.kubernetes_version,
                region=region,
                oidc=self.cluster.oidc,
                role_name=role_name(cluster_name, "ebs-csi"),
                system_pool=system_pool,
                system_nodes=system_nodes,
                gpu_pools=[contracts[pool_name] for pool_name in gpu_pools],
                gpu_nodes=[self.node_groups[pool_name] for pool_name in gpu_pools],
                bucket_mounts=bool(config.buckets),
                secrets=args.secrets,
            ),
            opts=cluster_child,
        )
        self.autoscaler = ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=cluster_name,
                region=region,
                account_id=account_id,
                kubernetes_version=config.kubernetes_version,
                oidc=self.cluster.oidc,
                role_name=role_name(cluster_name, "cluster-autoscaler"),
                system_pool=system_pool,
                system_nodes=system_nodes,
            ),
            opts=cluster_child,
        )
        self.load_balancer_controller = LoadBalancerController(
            f"{name}-lb-controller",
            LoadBalancerControllerArgs(
                cluster_name=cluster_name,
                region=region,
                account_id=account_id,
                vpc_id=self.network.vpc.id,
                oidc=self.cluster.oidc,
                role_name=role_name(cluster_name, "lb-controller"),
                system_pool=system_pool,
                system_nodes=system_nodes,
            ),
            opts=cluster_child,
        )

        self.registry = None
        if config.registry is not None:
            self.registry = EcrRegistry(
                f"{name}-{config.registry.name}",
                EcrRegistryArgs(
                    account_id=account_id,
                    region=region,
                    registry_name=config.registry.name,
                    repositories=args.repositories,
                    untagged_retention_days=config.registry.untagged_retention_days,
                ),
                opts=child,
            )
        bucket_names = {
            # Bucket names are global across all AWS accounts: a digest (salted with the
            # account) keeps them unique, the rest says what they are.
            bucket_name: fitted_name(
                cluster_name, bucket_name, max_length=S3_NAME_LIMIT, salt=account_id, unique=True
            )
            for bucket_name in config.buckets
        }
        self.buckets = {
            bucket_name: S3Bucket(
                f"{name}-{bucket_name}",
                S3BucketArgs(
                    bucket_name=bucket_names[bucket_name],
                    region=region,
                    versioning=bucket.versioning,
                    noncurrent_retention_days=bucket.noncurrent_retention_days,
                ),
                opts=child,
            )
            for bucket_name, bucket in config.buckets.items()
        }

        self.certificate = None
        ingress_annotations = alb_annotations(cluster_name, tags)
        if config.managed_tls:
            self.certificate = AcmCertificate(
                f"{name}-tls", AcmCertificateArgs(hosts=tuple(config.routing.hosts)), opts=child
            )
            ingress_annotations.update(https_annotations(self.certificate.certificate.arn))

        self.handle = ClusterHandle(
            name=name,
            cloud="aws",
            kubernetes_provider=self.cluster.kubernetes_provider,
            pools=contracts,
            system_pool=config.system_pool,
            routing=Routing(
                gateway_class=None,
                ingress_class=INGRESS_CLASS,
                ingress_weights="alb-actions",
                ingress_annotations=ingress_annotations,
                tls=EntryTls() if self.certificate else None,
                health_check="alb-annotation",
                ready=(self.load_balancer_controller,),
                # The ALB reaches pod IPs (target type ip) from its addresses in the public subnets.
                source_cidrs=tuple(plan.public_cidr for plan in self.network.plan),
            ),
            registry_url=pulumi.Output.from_input(self.registry.url) if self.registry else None,
            buckets={bucket_name: bucket.name for bucket_name, bucket in self.buckets.items()},
            bucket_driver=BucketDriver(
                kind="mountpoint-s3",
                names={bucket_name: bucket.name for bucket_name, bucket in self.buckets.items()},
                region=region,
                ready=(self.addons.s3_csi,),
            )
            if self.addons.s3_csi is not None
            else None,
            secret_store=EksSecretStore(region=region, ready=(self.addons.secrets_store,))
            if self.addons.secrets_store is not None
            else None,
            identity=EksWorkloadIdentity(
                name_prefix=cluster_name,
                region=region,
                account_id=account_id,
                oidc=self.cluster.oidc,
                provider=self.provider,
                buckets=bucket_names,
            ),
            # Workloads need nodes, DNS, the metrics API and the ALB controller's webhooks.
            ready=[
                *self.node_groups.values(),
                self.addons,
                self.autoscaler,
                self.load_balancer_controller,
            ],
            pool_ready={pool_name: [group] for pool_name, group in self.node_groups.items()},
            access=ClusterAccess(
                self.cluster.cluster.name,
                self.cluster.cluster.endpoint,
                self.cluster.kubeconfig,
                credentials_policy=self.team_access.credentials_policy.arn,
            ),
            certificate_dns_records=self.certificate.dns_records if self.certificate else None,
        )
        self.register_outputs(
            {
                "cluster": self.cluster.cluster.name,
                "registry": self.handle.registry_url,
                "buckets": self.handle.buckets,
            }
        )


def alb_annotations(cluster_name: str, tags: dict[str, str]) -> dict[str, pulumi.Input[str]]:
    """What every Ingress of the fanout tells the AWS Load Balancer Controller."""
    return {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        # Straight to pod IPs: no NodePort hop, and the ALB sees each pod's readiness.
        "alb.ingress.kubernetes.io/target-type": "ip",
        # One ALB for the cluster's entry point, however many team namespaces have Ingresses.
        "alb.ingress.kubernetes.io/group.name": cluster_name,
        # Malformed headers are dropped at the edge rather than passed to model servers.
        "alb.ingress.kubernetes.io/load-balancer-attributes": (
            "routing.http.drop_invalid_header_fields.enabled=true"
        ),
        "alb.ingress.kubernetes.io/tags": ",".join(f"{key}={value}" for key, value in sorted(tags.items())),
    }


def image_repositories(stack: StackConfig, cluster_name: str) -> tuple[str, ...]:
    """The registry repositories the workloads placed on this cluster pull from."""
    repositories: set[str] = set()
    for model in stack.models.values():
        if stack.cluster_of(model) == cluster_name:
            images = [model.image, *(variant.image for variant in model.variants.values())]
            repositories.update(image.repository for image in images if image.repository)
    for job in stack.jobs.values():
        if stack.cluster_of(job) == cluster_name and job.image.repository:
            repositories.add(job.image.repository)
    return tuple(sorted(repositories))


def build_cluster(name: str, cluster: ClusterConfig, stack: StackConfig) -> ClusterHandle:
    return EksPlatform(
        name,
        EksPlatformArgs(
            environment=stack.environment,
            cluster=cluster,
            labels=stack.labels,
            repositories=image_repositories(stack, name),
            team_role_groups=stack.eks_team_groups(name),
            secrets=any(stack.cluster_of(m) == name and m.secrets for m in stack.models.values()),
        ),
    ).handle
