"""Cluster config: cloud settings, network, registry, buckets and the node pools."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from stacks import access, aks, capacity, eks, gke, kubernetes_rules, tpu, versions
from stacks.aks import check_aks_cluster
from stacks.base import DnsLabel, StrictModel, rule_error

Cloud = Literal["gcp", "aws", "azure", "existing"]
PoolKind = Literal["cpu", "gpu", "tpu"]


class GcpSettings(StrictModel):
    project: str = Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
    region: str = Field(pattern=r"^[a-z]+-[a-z]+[0-9]+$")
    # One zone makes a zonal cluster (cheap, dev); none or several make a regional one.
    zones: list[str] = Field(default_factory=list)
    regional: bool = False
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    master_cidr: str = "172.16.0.0/28"
    # Google Groups for RBAC: the `gke-security-groups@<domain>` group whose member groups GKE
    # puts in tokens; required once a team on the cluster names Google groups.
    security_group: str | None = None

    @field_validator("security_group")
    @classmethod
    def _gke_security_group(cls, group: str | None) -> str | None:
        if group is not None and not access.GKE_SECURITY_GROUP.fullmatch(group):
            raise ValueError(
                f"{group!r}: GKE reads group memberships only from a group named "
                "gke-security-groups@<your domain> (Google Groups for RBAC)"
            )
        return group

    @field_validator("region")
    @classmethod
    def _region_in_catalog(cls, region: str) -> str:
        problem = gke.region_problem(region)
        if problem:
            raise ValueError(problem)
        return region

    @field_validator("zones")
    @classmethod
    def _zones_in_region(cls, zones: list[str], info: ValidationInfo) -> list[str]:
        region = info.data.get("region")
        for zone in zones:
            problem = gke.zone_problem(zone, region) if region else None
            if problem:
                raise ValueError(problem)
        return zones

    @model_validator(mode="after")
    def _zonal_needs_one_zone(self) -> GcpSettings:
        if not self.regional and len(self.zones) != 1:
            raise rule_error(
                ("zones",),
                "a zonal cluster (regional: false) needs exactly one zone; "
                "list one zone or set regional: true",
            )
        return self


_ROLE_ARN = r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]+"


class AwsSettings(StrictModel):
    # The only account the AWS provider may act in (it refuses other credentials); ARNs are
    # built from it, so no lookup is needed.
    account_id: str = Field(pattern=r"^[0-9]{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
    # EKS needs subnets in at least two zones; use three for production HA. Zones are named by
    # AZ ID (euw1-az1): AZ names map to different zones in each account, while EKS's list of
    # zones without a control plane is by ID (stacks/catalogs/eks.yaml).
    availability_zone_ids: list[str] = Field(min_length=2, max_length=6)
    # One NAT gateway for the VPC (cheap; a zone outage cuts egress) or one per zone (HA).
    nat_gateways: Literal["single", "perAz"] = "perAz"
    # The IAM role that runs `pulumi up`: it gets an explicit, revocable cluster-admin access
    # entry instead of EKS's implicit bootstrap admin, which collides (409) with an access entry
    # for the same role (terraform-aws-eks #3293, pulumi-eks #2373).
    deployer_role_arn: str = Field(pattern=rf"^{_ROLE_ARN}$")
    # Further IAM role ARNs given cluster-admin through EKS access entries.
    admin_role_arns: list[str] = Field(default_factory=list)
    # CloudWatch retention of the control-plane logs (one of the values CloudWatch accepts).
    log_retention_days: int = Field(
        default=90,
        description="days CloudWatch keeps the control-plane logs (costs money: billed per GB stored; "
        "prod policy wants 365)",
    )
    # CloudWatch retention of the VPC's flow logs (every accepted and rejected flow); null: no
    # flow logs. Costs money: CloudWatch bills flow logs per GB ingested and stored.
    flow_log_retention_days: int | None = Field(
        default=90,
        description="days CloudWatch keeps the VPC flow logs; null: no flow logs (costs money: billed per GB "
        "ingested and stored)",
    )
    # EKS bills a version in extended support at six times the standard cluster-hour; only an
    # explicit EXTENDED keeps a cluster on such a version (UpgradePolicy.supportType).
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"

    @model_validator(mode="before")
    @classmethod
    def _zone_names_renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "availabilityZones" in data:
            raise rule_error(
                ("availabilityZones",),
                "EKS settings name zones by AZ ID: replace availabilityZones with "
                "availabilityZoneIds (e.g. [euw1-az1, euw1-az2]; `aws ec2 describe-availability-zones`)",
            )
        return data

    @field_validator("region")
    @classmethod
    def _region_in_catalog(cls, region: str) -> str:
        problem = eks.region_problem(region)
        if problem:
            raise ValueError(problem)
        return region

    @field_validator("availability_zone_ids")
    @classmethod
    def _zones_in_region(cls, zones: list[str], info: ValidationInfo) -> list[str]:
        region = info.data.get("region")
        for zone in zones:
            problem = eks.zone_id_error(region, zone) if region else None
            if problem:
                raise ValueError(problem)
        if len(set(zones)) != len(zones):
            raise ValueError("zones must not repeat")
        return zones

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, arns: list[str]) -> list[str]:
        for arn in arns:
            if not re.fullmatch(_ROLE_ARN, arn):
                raise ValueError(f"{arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        return arns

    @model_validator(mode="after")
    def _deployer_listed_once(self) -> AwsSettings:
        # One access entry per principal: a second one for the deployer would fail with 409.
        if self.deployer_role_arn in self.admin_role_arns:
            raise rule_error(
                ("adminRoleArns",),
                f"{self.deployer_role_arn} is the deployerRoleArn, which is cluster-admin already: "
                "remove it from adminRoleArns",
            )
        return self

    @field_validator("log_retention_days", "flow_log_retention_days")
    @classmethod
    def _retention_cloudwatch_accepts(cls, days: int | None) -> int | None:
        if days is not None and days not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in CLOUDWATCH_RETENTION_DAYS)
            raise ValueError(f"CloudWatch keeps logs for one of {allowed} days, not {days}")
        return days


CLOUDWATCH_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)


_GUID = r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$"


class KeyVaultRef(StrictModel):
    """An existing Key Vault (Azure RBAC permission model) that models read secrets from."""

    # Vault names: 3-24 letters, digits and '-' (learn.microsoft.com/azure/key-vault/general/
    # about-keys-secrets-certificates, "Vault name").
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$")
    resource_group: str = Field(pattern=r"^[-\w._()]{1,90}$")


class NetworkWatcherRef(StrictModel):
    """The region's Network Watcher, which VNet flow logs live under (one per subscription and
    region: Azure refuses a second)."""

    # 1-80 letters, digits, '_', '.', '-'; starts alphanumeric, ends alphanumeric or '_'
    # (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
    name: str = Field(pattern=r"^[A-Za-z0-9]([-\w.]{0,78}\w)?$")
    resource_group: str = Field(pattern=r"^[-\w._()]{1,90}$")


class AzureSettings(StrictModel):
    subscription_id: str = Field(pattern=_GUID)
    location: str = Field(pattern=r"^[a-z0-9]+$")
    # Entra ID tenant of the cluster's users; None: the subscription's tenant.
    tenant_id: str | None = Field(default=None, pattern=_GUID)
    # Entra ID groups given cluster-admin.
    admin_group_object_ids: list[Annotated[str, StringConstraints(pattern=_GUID)]] = Field(
        default_factory=list
    )
    # Availability zones for the node pools (a pool's own `zones` wins); none: regional placement.
    zones: list[Literal["1", "2", "3"]] = Field(default_factory=list)
    # Free has no uptime SLA; Standard is the production tier; Premium adds long-term support.
    sku_tier: Literal["Free", "Standard", "Premium"] = "Standard"
    # KubernetesOfficial: a minor is supported for its community year. AKSLongTermSupport: a
    # second year of patches, on the Premium tier only (learn.microsoft.com/azure/aks/long-term-support).
    support_plan: Literal["KubernetesOfficial", "AKSLongTermSupport"] = "KubernetesOfficial"
    # Control-plane logs (API server, admin audit, autoscaler, Entra guard) go to a Log Analytics
    # workspace kept this many days (30-730, the workspace's retention range); null: none sent.
    # Costs money: Log Analytics bills per GB ingested.
    log_retention_days: int | None = Field(
        default=90,
        ge=30,
        le=730,
        description="days the Log Analytics workspace keeps control-plane logs; null: none sent "
        "(costs money: billed per GB ingested; prod policy wants 365)",
    )
    # Host-based encryption of node temp disks, caches and OS/data disks. Needs the one-time
    # subscription feature: az feature register --namespace Microsoft.Compute --name EncryptionAtHost.
    encryption_at_host: bool = Field(
        default=True,
        description="encrypt node temp disks and caches on the host (needs the one-time subscription feature "
        "Microsoft.Compute/EncryptionAtHost)",
    )
    storage_sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_GZRS"] = "Standard_LRS"
    # Spot pool name -> highest price paid, USD per node-hour; unlisted spot pools pay up to the
    # on-demand price (-1), which makes evictions capacity-only.
    spot_max_price: dict[str, float] = Field(default_factory=dict)
    # How kubelogin gets the Entra ID token for the Kubernetes provider: `azurecli` for people
    # and CI after `az login`, `workloadidentity` for federated CI runners, `msi` on Azure VMs.
    kubelogin_mode: Literal["azurecli", "workloadidentity", "msi", "spn", "azd"] = "azurecli"
    # The Entra object ID of what runs `pulumi up` (CI's service principal, or a person): it gets
    # Azure Kubernetes Service RBAC Cluster Admin on this cluster only, to declare the workloads.
    # Explicit, so that whoever happens to run a deploy is not made admin.
    deployer_object_id: str = Field(pattern=_GUID)
    # What the deployer is: a person (`User`) or a CI identity (`ServicePrincipal`). Azure
    # rejects a role assignment whose stated principal type is wrong.
    deployer_principal_type: Literal["User", "ServicePrincipal"] = "User"
    # Where models' `secrets` live; the cluster runs the Key Vault provider add-on when set.
    key_vault: KeyVaultRef | None = None
    # VNet flow logs (every flow through the VNet) to a storage account of their own, blobs
    # deleted after this many days by the flow log's retention policy (1-365: it deletes logs
    # "up to a year after their creation", learn.microsoft.com/azure/network-watcher/
    # nsg-flow-logs-overview); null: no flow logs. Costs money: Network Watcher bills per GB
    # collected (5 GB a month free per subscription), plus the blobs stored
    # (vnet-flow-logs-overview, "Pricing"; azure.microsoft.com/pricing/details/network-watcher).
    flow_log_retention_days: int | None = Field(
        default=90,
        ge=1,
        le=365,
        description="days the VNet flow logs are kept in their storage account; null: no flow logs "
        "(costs money: billed per GB collected, plus storage)",
    )
    # Traffic analytics on the flow logs, into the control-plane logs' Log Analytics workspace.
    # Off by default: billed per GB processed, with no free tier (ibid.).
    traffic_analytics: bool = Field(
        default=False,
        description="process the VNet flow logs with traffic analytics into the cluster's Log Analytics "
        "workspace (costs money: billed per GB processed; needs logRetentionDays and flowLogRetentionDays)",
    )
    # The Network Watcher the flow logs live under; null: Azure's own (NetworkWatcher_<location>
    # in NetworkWatcherRG), adopted when it exists, created before the VNet when it does not
    # (components/azure/network.py RegionalNetworkWatcher). Set it when the subscription keeps
    # its watcher elsewhere.
    network_watcher: NetworkWatcherRef | None = None

    @model_validator(mode="after")
    def _traffic_analytics_needs_logs(self) -> AzureSettings:
        if self.traffic_analytics and self.flow_log_retention_days is None:
            raise rule_error(
                ("trafficAnalytics",),
                "traffic analytics reads the VNet flow logs: set flowLogRetentionDays, or "
                "trafficAnalytics: false",
            )
        if self.traffic_analytics and self.log_retention_days is None:
            raise rule_error(
                ("trafficAnalytics",),
                "traffic analytics writes to the cluster's Log Analytics workspace, which exists only with "
                "logRetentionDays set: set it, or trafficAnalytics: false",
            )
        return self


class ExistingSettings(StrictModel):
    # Path of the kubeconfig file; None means the default ($KUBECONFIG or ~/.kube/config).
    kubeconfig: str | None = None
    context: str


class NetworkConfig(StrictModel):
    cidr: str
    pod_cidr: str = "10.244.0.0/14"
    service_cidr: str = "10.96.0.0/20"

    @field_validator("cidr", "pod_cidr", "service_cidr")
    @classmethod
    def _is_private_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR block ({exc})") from None
        if network.version != 4 or not (network.is_private or network.subnet_of(_CGNAT)):
            raise ValueError(f"{value} is not a private IPv4 range")
        return value

    @model_validator(mode="after")
    def _ranges_do_not_overlap(self) -> NetworkConfig:
        ranges = {"cidr": self.cidr, "podCidr": self.pod_cidr, "serviceCidr": self.service_cidr}
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if ipaddress.ip_network(ranges[first]).overlaps(ipaddress.ip_network(ranges[second])):
                    raise rule_error((second,), f"{ranges[second]} overlaps {first} {ranges[first]}")
        return self


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class RegistryConfig(StrictModel):
    name: DnsLabel
    # Untagged images older than this are deleted; the newest `keepRecent` are always kept.
    untagged_retention_days: int = Field(default=14, ge=1, le=3650)
    keep_recent: int = Field(default=20, ge=1, le=1000)


class BucketConfig(StrictModel):
    # Previous versions of overwritten and deleted objects are kept (on by default: a bad write
    # can be undone); they cost storage until they expire.
    versioning: bool = Field(
        default=True,
        description="keep previous versions of overwritten and deleted objects "
        "(costs money: old versions are billed as storage until they expire)",
    )
    # Noncurrent versions (when versioning) are removed after this many days.
    noncurrent_retention_days: int = Field(
        default=30, ge=1, le=3650, description="days a previous object version is kept before it is deleted"
    )


class Taint(StrictModel):
    key: str = Field(min_length=1, max_length=253)
    value: str = Field(default="", max_length=63)
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"

    @field_validator("key")
    @classmethod
    def _qualified_key(cls, key: str) -> str:
        problem = kubernetes_rules.qualified_name_problem(key)
        if problem:
            raise ValueError(f"a taint key is a qualified name like a label key: {problem}")
        return key

    @field_validator("value")
    @classmethod
    def _label_value(cls, value: str) -> str:
        problem = kubernetes_rules.label_value_problem(value)
        if problem:
            raise ValueError(f"a taint value follows the label value rules: {problem}")
        return value


class GpuSharing(StrictModel):
    strategy: Literal["time-sharing", "mps"]
    max_shared_clients_per_gpu: int = Field(ge=2, le=48)


class PoolConfig(StrictModel):
    kind: PoolKind
    # Machine type / instance type / VM size in the cloud's own vocabulary.
    machine_type: str | None = None
    min: int = Field(ge=0, le=1000)
    max: int = Field(ge=1, le=1000)
    spot: bool = False
    accelerator: str | None = None
    accelerator_count: int | None = Field(default=None, ge=1, le=16)
    topology: str | None = Field(default=None, pattern=r"^[1-9][0-9]*(x[1-9][0-9]*){1,2}$")
    gpu_sharing: GpuSharing | None = None
    disk_size_gb: int = Field(default=100, ge=20, le=65536)
    # Zones for this pool when it must differ from the cluster's (TPUs live in few zones).
    zones: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)

    @field_validator("labels")
    @classmethod
    def _node_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        problem = kubernetes_rules.labels_problem(labels)
        if problem:
            raise ValueError(problem)
        return labels

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min")
        if minimum is not None and value < minimum:
            raise ValueError(f"{value} is less than min {minimum}")
        return value

    @model_validator(mode="after")
    def _kind_matches_hardware(self) -> PoolConfig:
        if self.kind == "cpu":
            for key in ("accelerator", "acceleratorCount", "topology", "gpuSharing"):
                if getattr(self, _snake(key)) is not None:
                    raise rule_error((key,), f"a cpu pool has no {key}; use kind: gpu or tpu")
        if self.kind == "gpu":
            if not self.accelerator:
                raise rule_error(("accelerator",), "a gpu pool needs accelerator (e.g. nvidia-tesla-t4)")
            if self.topology is not None:
                raise rule_error(("topology",), "topology is for tpu pools only")
        if self.kind == "tpu":
            self._check_tpu_slice()
        return self

    @property
    def is_accelerated(self) -> bool:
        return self.kind in ("gpu", "tpu")

    @property
    def gpus_per_node(self) -> int:
        return (self.accelerator_count or 1) if self.kind == "gpu" else 0

    def _check_tpu_slice(self) -> None:
        """GKE's slice rules ("Plan TPUs in GKE", "Deploy TPU workloads in GKE Standard";
        facts in stacks/catalogs/gke_tpu.yaml): the topology is one the machine type offers; a
        multi-host slice is created and removed whole, so its pool scales between 0 (or all)
        and exactly the slice's host count."""
        catalog = f"stacks/catalogs/gke_tpu.yaml, checked {tpu.catalog_checked()}"
        if self.accelerator is not None or self.gpu_sharing is not None:
            raise rule_error(("accelerator",), "a tpu pool takes no accelerator or gpuSharing")
        if self.machine_type is None or tpu.tpu_accelerator(self.machine_type) is None:
            raise rule_error(
                ("machineType",),
                f"a tpu pool needs a GKE TPU machine type ({', '.join(tpu.tpu_machine_types())}; {catalog})",
            )
        offered = tpu.valid_topologies(self.machine_type)
        if self.topology is None:
            raise rule_error(("topology",), f"a tpu pool needs topology (one of {', '.join(offered)})")
        tpu_slice = tpu.tpu_slice(self.machine_type, self.topology)
        if tpu_slice is None:
            raise rule_error(
                ("topology",),
                f"GKE offers no {self.topology} slice on {self.machine_type}: use one of "
                f"{', '.join(offered)} ({catalog})",
            )
        hosts = tpu_slice.hosts
        if tpu_slice.multi_host and (self.max != hosts or self.min not in (0, hosts)):
            raise rule_error(
                ("max",),
                f"a {self.topology} slice of {self.machine_type} spans {hosts} hosts and GKE scales "
                f"it as a unit: set min to 0 or {hosts} and max to {hosts}",
            )
        if tpu_slice.multi_host and len(self.zones) > 1:
            raise rule_error(("zones",), "a multi-host TPU slice lives in one zone: list one zone")

    @property
    def tpu_slice(self) -> tpu.TpuSlice | None:
        if self.kind != "tpu" or self.machine_type is None or self.topology is None:
            return None
        return tpu.tpu_slice(self.machine_type, self.topology)

    @property
    def tpu_chips_per_node(self) -> int:
        return self.tpu_slice.chips_per_host if self.tpu_slice else 0

    @property
    def tpu_multi_host(self) -> bool:
        """One slice spans several nodes (GKE: placement policy, per-zone autoscaling)."""
        return self.tpu_slice is not None and self.tpu_slice.multi_host


_RFC1918 = tuple(ipaddress.ip_network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _camel(snake: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), snake)


def _snake(camel: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


# How a cluster keeps a version past standard support, per cloud (each costs extra).
EXTENDED_SUPPORT_CHOICE = {
    "gcp": "gcp.releaseChannel: EXTENDED",
    "aws": "aws.supportType: EXTENDED (billed at six times the standard cluster-hour)",
    "azure": "azure.supportPlan: AKSLongTermSupport (needs skuTier: Premium)",
}

# How each cloud exposes HTTP by default, and what its Ingress can express. AKS: Gateway API
# through Application Gateway for Containers; `ingress` keeps the application routing add-on.
DEFAULT_ROUTING_MODE = {"gcp": "gateway", "aws": "ingress", "azure": "gateway", "existing": "ingress"}
GATEWAY_CLOUDS = {"gcp", "azure", "existing"}
WEIGHTED_INGRESS_CLOUDS = {"aws"}


# RFC 1123 host name (Kubernetes IsDNS1123Subdomain, lowercase): labels of letters, digits and
# '-', at most 63 characters each and 253 in all. A certificate is issued for it, so at least two
# labels and no wildcard (HTTP-01 and load-balancer authorisation cannot prove a wildcard).
DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
)
# Where the platform issues the entry point's certificate itself: GKE Gateway (Certificate
# Manager), the EKS ALB Ingress (ACM), AKS Application Gateway for Containers (cert-manager with
# Let's Encrypt). Elsewhere the entry point serves a Secret that `tls.secretName` names.
MANAGED_TLS = {
    ("gcp", "gateway"): "Certificate Manager",
    ("aws", "ingress"): "ACM",
    ("azure", "gateway"): "cert-manager (Let's Encrypt)",
}


class TlsConfig(StrictModel):
    """Where the entry point's certificate comes from, when the platform does not issue it."""

    # A kubernetes.io/tls Secret: in the gateway namespace for a Gateway, in every team namespace
    # that has an Ingress.
    secret_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)
    # A cert-manager ClusterIssuer (installed by you) that keeps `secretName` filled.
    cluster_issuer: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    # AKS gateway: the Let's Encrypt account's contact address (optional).
    acme_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RoutingConfig(StrictModel):
    """The cluster's fanout entry point: Gateway API (GKE's managed gateway, AKS's Application
    Gateway for Containers) or an Ingress; HTTPS unless `insecureHttp: true`."""

    mode: Literal["gateway", "ingress"] | None = None
    # Overrides the cloud's class (required for an existing cluster: its controller's class).
    class_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    # Host names served, and named in the certificate (DNS is managed outside: point them at the
    # entry point's address). None: any host, which only plain HTTP allows on managed clouds.
    hosts: list[str] = Field(default_factory=list)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    # Plain HTTP on port 80 only: say so explicitly (the stack logs a warning).
    insecure_http: bool = False

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if not DNS_NAME.match(host):
                raise ValueError(
                    f"{host!r} is not a DNS host name (RFC 1123: lowercase labels of letters, digits "
                    "and '-', at least two, no wildcard), e.g. ml.dev.example.com"
                )
        if len(set(hosts)) != len(hosts):
            raise ValueError("a host is listed twice")
        return hosts


def _check_api_cidr(cidr: str) -> None:
    """A CIDR the API endpoint may admit: a real block, never the whole internet."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a CIDR block ({exc})") from None
    if network.prefixlen == 0:
        raise ValueError(f"{cidr} opens the API endpoint to the whole internet; list your networks")


CiMode = Literal["dnsEndpoint", "selfHostedRunner", "runnerCidrs"]


class CiAccess(StrictModel):
    """How the deploy workflow reaches the cluster's API server (docs/ci.md compares them):

    - dnsEndpoint (GKE): the control plane's DNS name, authorized by IAM
      (container.clusters.connect) instead of an IP allow-list; GitHub-hosted runners work.
    - selfHostedRunner: the workflow's jobs run on a runner inside the VPC/VNet, picked by
      `runnerLabels` (.github/scripts/list_stacks.py puts them into `runs-on`).
    - runnerCidrs: the runners' egress ranges (static IPs of larger or self-hosted runners),
      by name, added to the API server's authorized networks.
    """

    mode: CiMode
    runner_labels: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][-_.A-Za-z0-9]*$")]] = Field(
        default_factory=list
    )
    runner_cidrs: dict[DnsLabel, str] = Field(default_factory=dict)

    @field_validator("runner_cidrs")
    @classmethod
    def _runner_cidrs(cls, cidrs: dict[str, str]) -> dict[str, str]:
        for cidr in cidrs.values():
            _check_api_cidr(cidr)
        return cidrs

    @model_validator(mode="after")
    def _mode_has_its_settings(self) -> CiAccess:
        if self.mode == "selfHostedRunner":
            # GitHub gives every self-hosted runner the label `self-hosted`; without it a job may
            # land on a GitHub-hosted runner ("Using self-hosted runners in a workflow").
            if "self-hosted" not in self.runner_labels:
                raise rule_error(
                    ("runnerLabels",),
                    "a self-hosted runner is picked by its labels: list them, starting with "
                    "self-hosted (e.g. [self-hosted, linux, vpc-prod])",
                )
        elif self.runner_labels:
            raise rule_error(
                ("runnerLabels",), f"runnerLabels are for mode: selfHostedRunner, not {self.mode}"
            )
        if self.mode == "runnerCidrs":
            if not self.runner_cidrs:
                raise rule_error(
                    ("runnerCidrs",),
                    "name the runners' egress ranges (e.g. {github-larger: 198.51.100.0/28})",
                )
        elif self.runner_cidrs:
            raise rule_error(("runnerCidrs",), f"runnerCidrs are for mode: runnerCidrs, not {self.mode}")
        return self


class ClusterConfig(StrictModel):
    cloud: Cloud
    gcp: GcpSettings | None = None
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    existing: ExistingSettings | None = None
    kubernetes_version: str | None = Field(default=None, pattern=r"^1\.[0-9]{2}$")
    network: NetworkConfig | None = None
    registry: RegistryConfig | None = None
    buckets: dict[DnsLabel, BucketConfig] = Field(default_factory=dict)
    pools: dict[DnsLabel, PoolConfig] = Field(min_length=1)
    # Private API endpoint only (reach it through a bastion/VPN); false keeps a public endpoint
    # restricted to `authorizedNetworks`.
    private_endpoint: bool = False
    authorized_networks: list[str] = Field(default_factory=list)
    deletion_protection: bool = True
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    # The deploy workflow's path to the API server (CiAccess); none: only `authorizedNetworks`
    # reach it, which GitHub-hosted runners are not in (a warning says so).
    ci_access: CiAccess | None = None

    @field_validator("authorized_networks")
    @classmethod
    def _authorized_networks_are_cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            _check_api_cidr(cidr)
        return cidrs

    @model_validator(mode="after")
    def _cloud_settings_match(self) -> ClusterConfig:
        for cloud in ("gcp", "aws", "azure", "existing"):
            present = getattr(self, cloud) is not None
            if cloud == self.cloud and not present:
                raise rule_error((cloud,), f"cloud is {cloud!r}, so the {cloud} settings block is required")
            if cloud != self.cloud and present:
                raise rule_error((cloud,), f"cloud is {self.cloud!r}; remove the {cloud} settings block")
        if self.cloud == "existing":
            for key in ("network", "registry"):
                if getattr(self, key) is not None:
                    raise rule_error((key,), "an existing cluster gets no cloud resources; remove it")
            if self.buckets:
                raise rule_error(("buckets",), "an existing cluster gets no cloud resources; remove it")
        elif self.network is None:
            raise rule_error(("network",), "a managed cluster needs network: {cidr: ...}")
        for name, pool in self.pools.items():
            if pool.kind == "tpu" and self.cloud not in ("gcp", "existing"):
                raise rule_error(
                    ("pools", name, "kind"),
                    f"TPU pools exist only on GKE (cloud: gcp), not on {self.cloud}; "
                    "use a gpu pool or move the pool to a gcp cluster",
                )
            if self.cloud != "existing" and pool.machine_type is None:
                raise rule_error(("pools", name, "machineType"), "a managed pool needs machineType")
            if self.cloud == "existing" and not pool.labels:
                raise rule_error(
                    ("pools", name, "labels"),
                    "a pool of an existing cluster is declared by the node labels it carries; add labels",
                )
        mode = self.routing_mode
        if mode == "gateway" and self.cloud not in GATEWAY_CLOUDS:
            raise rule_error(
                ("routing", "mode"),
                f"no managed Gateway API implementation is wired for {self.cloud}; use mode: ingress",
            )
        if self.cloud == "existing" and self.routing.class_name is None:
            raise rule_error(
                ("routing", "className"),
                "an existing cluster needs the class of its gateway or ingress controller",
            )
        self._check_tls()
        has_system_pool = any(p.kind == "cpu" and not p.spot and p.min >= 1 for p in self.pools.values())
        if self.cloud != "existing" and not has_system_pool:
            raise rule_error(
                ("pools",),
                "the cluster needs a system pool: a cpu pool, not spot, with min >= 1, "
                "for DNS, the autoscaler and other add-ons",
            )
        if self.cloud == "azure":
            check_aks_cluster(self)
        return self

    def _check_tls(self) -> None:
        routing, tls = self.routing, self.routing.tls
        if routing.insecure_http:
            if tls.model_fields_set:
                raise rule_error(("routing", "tls"), "insecureHttp: true serves plain HTTP; remove tls")
            return
        if self.managed_tls:
            if not routing.hosts:
                issuer = MANAGED_TLS[self.cloud, self.routing_mode]
                raise rule_error(
                    ("routing", "hosts"),
                    f"the entry point serves HTTPS with a certificate {issuer} issues for its host "
                    "names: list them (e.g. hosts: [ml.dev.example.com]), or set insecureHttp: true",
                )
            for key in ("secret_name", "cluster_issuer"):
                if getattr(tls, key) is not None:
                    raise rule_error(
                        ("routing", "tls", _camel(key)),
                        "the platform issues this entry point's certificate; remove it",
                    )
        else:
            if tls.secret_name is None:
                raise rule_error(
                    ("routing", "tls", "secretName"),
                    f"this entry point ({self.routing_mode} on {self.cloud}) serves HTTPS from a "
                    "kubernetes.io/tls Secret: name it (cert-manager can fill it: tls.clusterIssuer), "
                    "or set insecureHttp: true",
                )
            if tls.cluster_issuer is not None and not routing.hosts:
                raise rule_error(
                    ("routing", "hosts"),
                    "cert-manager issues the certificate for the host names: list routing.hosts",
                )
        if tls.acme_email is not None and (self.cloud, self.routing_mode) != ("azure", "gateway"):
            raise rule_error(
                ("routing", "tls", "acmeEmail"),
                "acmeEmail is the Let's Encrypt account of AKS's Application Gateway for "
                "Containers; remove it",
            )

    @property
    def managed_tls(self) -> bool:
        """The platform issues the entry point's certificate (MANAGED_TLS), unless plain HTTP."""
        return not self.routing.insecure_http and (self.cloud, self.routing_mode) in MANAGED_TLS

    @model_validator(mode="after")
    def _ci_access_fits_the_cloud(self) -> ClusterConfig:
        ci = self.ci_access
        if ci is None:
            return self
        if ci.mode == "dnsEndpoint" and self.cloud != "gcp":
            raise rule_error(
                ("ciAccess", "mode"),
                f"only GKE has an IAM-authorized DNS endpoint; on {self.cloud} use selfHostedRunner "
                "or runnerCidrs",
            )
        if ci.mode == "runnerCidrs":
            if self.cloud == "existing":
                raise rule_error(
                    ("ciAccess", "mode"),
                    "the platform manages no network of an existing cluster: use selfHostedRunner",
                )
            if self.private_endpoint:
                raise rule_error(
                    ("ciAccess", "mode"),
                    "a private endpoint admits no public runner addresses: use selfHostedRunner "
                    + ("or dnsEndpoint" if self.cloud == "gcp" else "inside the network"),
                )
        if ci.mode == "selfHostedRunner" and self.cloud == "gcp" and not self.private_endpoint:
            # A runner in the VPC egresses through Cloud NAT, whose address no authorized network
            # lists; with privateEndpoint the cluster's endpoint is the internal IP it reaches.
            raise rule_error(
                ("ciAccess", "mode"),
                "a runner inside the VPC reaches GKE's internal endpoint: set privateEndpoint: true, "
                "or use dnsEndpoint",
            )
        return self

    @property
    def api_networks(self) -> list[str]:
        """Every CIDR the public API endpoint admits: operators' networks and named CI runners."""
        runners = list(self.ci_access.runner_cidrs.values()) if self.ci_access else []
        return list(dict.fromkeys([*self.authorized_networks, *runners]))

    @model_validator(mode="after")
    def _gke_rules(self) -> ClusterConfig:
        if self.cloud != "gcp" or self.gcp is None:
            return self
        gke.check_gke_cluster(self)
        for name, pool in self.pools.items():
            zones = pool.zones or self.gcp.zones
            # GKE creates a multi-host slice in one zone ("Deploy TPU workloads in GKE Standard").
            if pool.tpu_multi_host and len(zones) != 1:
                raise rule_error(
                    ("pools", name, "zones"),
                    "a multi-host TPU slice lives in one zone: list the pool's zone (zones: [<zone>])",
                )
        return self

    @model_validator(mode="after")
    def _aws_rules(self) -> ClusterConfig:
        if self.cloud != "aws" or self.aws is None or self.network is None:
            return self
        if self.kubernetes_version is None:
            raise rule_error(
                ("kubernetesVersion",),
                "EKS clusters are upgraded explicitly: set kubernetesVersion (one of "
                f"{', '.join(versions.kubernetes_releases('aws'))}, stacks/catalogs/kubernetes.yaml)",
            )
        if not self.private_endpoint and not self.api_networks:
            raise rule_error(
                ("authorizedNetworks",),
                "a public EKS endpoint must be limited to known networks: list authorizedNetworks "
                "or set privateEndpoint: true",
            )
        if not 16 <= ipaddress.ip_network(self.network.cidr).prefixlen <= 22:
            raise rule_error(
                ("network", "cidr"),
                f"{self.network.cidr}: an EKS VPC needs a /16 to /22 range (AWS allows /16 at most, "
                "and the VPC CNI gives every pod a subnet address)",
            )
        if "pod_cidr" in self.network.model_fields_set:
            raise rule_error(
                ("network", "podCidr"),
                "EKS pods take addresses from the VPC subnets (VPC CNI); remove podCidr",
            )
        service = ipaddress.ip_network(self.network.service_cidr)
        if not any(service.subnet_of(block) for block in _RFC1918) or not 12 <= service.prefixlen <= 24:
            raise rule_error(
                ("network", "serviceCidr"),
                f"{self.network.service_cidr}: EKS takes a /12 to /24 service range inside "
                "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
            )
        zones = set(self.aws.availability_zone_ids)
        for name, pool in self.pools.items():
            if pool.gpu_sharing is not None:
                raise rule_error(
                    ("pools", name, "gpuSharing"),
                    "GPU sharing is managed by GKE only; on EKS remove gpuSharing",
                )
            for zone in pool.zones:
                if zone not in zones:
                    raise rule_error(
                        ("pools", name, "zones"),
                        f"zone {zone!r} is not one of the cluster's availabilityZoneIds {sorted(zones)}",
                    )
        # After the zones are known to be the cluster's: EKS checks whether they offer the pool's type.
        eks.check_eks_cluster(self)
        return self

    @model_validator(mode="after")
    def _kubernetes_version_offered(self) -> ClusterConfig:
        """The version exists on the cloud and is still supported at the run date."""
        version = self.kubernetes_version
        if self.cloud == "existing" or version is None:
            return self
        releases = versions.kubernetes_releases(self.cloud)
        release = releases.get(version)
        today = versions.run_date()
        if release is None:
            known = ", ".join(releases)
            raise rule_error(
                ("kubernetesVersion",),
                f"{versions.SERVICE[self.cloud].upper()} offers no Kubernetes {version} in the version "
                f"catalog (stacks/catalogs/kubernetes.yaml, checked {versions.catalog_checked()}): "
                f"use one of {known}",
            )
        phase = versions.support_phase(release, today)
        if phase == "ended" or (phase == "extended" and not self.extended_support):
            newest = versions.newest_in_standard_support(self.cloud, today)
            upgrade = (
                f"upgrade to {newest} or another version in standard support"
                if newest
                else f"no version of the catalog is in standard support on {today}: refresh "
                f"stacks/catalogs/kubernetes.yaml (checked {versions.catalog_checked()}) from its sources"
            )
            if phase == "ended":
                why = f"left support on {release.extended_end or release.standard_end}"
            else:
                why = (
                    f"left standard support on {release.standard_end}; stay on it only by choosing "
                    f"{EXTENDED_SUPPORT_CHOICE[self.cloud]}"
                )
            raise rule_error(
                ("kubernetesVersion",),
                f"Kubernetes {version} on {versions.SERVICE[self.cloud].upper()} {why}; {upgrade}",
            )
        return self

    @property
    def extended_support(self) -> bool:
        """The cluster opted into the cloud's paid support beyond the standard window."""
        if self.gcp is not None:
            return self.gcp.release_channel == "EXTENDED"
        if self.aws is not None:
            return self.aws.support_type == "EXTENDED"
        if self.azure is not None:
            return self.azure.support_plan == "AKSLongTermSupport"
        return False

    @property
    def support_phase(self) -> versions.SupportPhase | None:
        if self.cloud == "existing" or self.kubernetes_version is None:
            return None
        release = versions.kubernetes_release(self.cloud, self.kubernetes_version)
        return versions.support_phase(release, versions.run_date()) if release else None

    def node_shape(self, pool_name: str) -> capacity.MachineShape | None:
        """The catalog's shape of one node of the pool; None when the catalog does not list the
        machine type (or the cluster is an existing one): its capacity is then unchecked."""
        machine_type = self.pools[pool_name].machine_type or ""
        lookup = {"gcp": gke.machine_shape, "aws": eks.instance_shape, "azure": aks.vm_shape}.get(self.cloud)
        return lookup(machine_type) if lookup else None

    def node_allocatable(self, pool_name: str) -> capacity.Allocatable | None:
        """What one node of the pool offers pods after the cloud's system reservations."""
        shape = self.node_shape(pool_name)
        return capacity.ALLOCATABLE[self.cloud](shape) if shape else None

    @property
    def routing_mode(self) -> str:
        return self.routing.mode or DEFAULT_ROUTING_MODE[self.cloud]

    @property
    def weighted_routing(self) -> bool:
        return self.routing_mode == "gateway" or self.cloud in WEIGHTED_INGRESS_CLOUDS

    @property
    def system_pool(self) -> str:
        """The first on-demand CPU pool that never scales to zero hosts the cluster add-ons."""
        for name, pool in self.pools.items():
            if pool.kind == "cpu" and not pool.spot and pool.min >= 1:
                return name
        return next(iter(self.pools))
