"""The monthly cost envelope of a set of cloud resources, priced from `prices.yaml` beside this file.

It works from what both a CrossGuard policy and the offline plan record see: a resource's type
token and its camelCase properties. The same code serves `python -m plan cost`, the budget
policy of this pack and the PR comment, so this module imports nothing outside the pack.

Interface:

    estimate(resources, prices=None) -> CostEnvelope
        `resources`: `Resource` values or plain `(type_token, props)` pairs. A `Resource` adds
        what a pair lacks: the logical name, the cluster the resource belongs to and the props
        of its explicit provider (an EKS node group has no region of its own).
        `prices`: a `PriceTable` (default: prices.yaml).
    resources_from_graph(nodes) -> list[Resource]
        Resolves cluster and provider props from anything shaped like a resource graph
        (`GraphNode`; `graph_nodes_from_policy(args.resources)` adapts CrossGuard's
        PolicyResource objects for a stack policy).
    UnknownPrice(ValueError)
        A machine type, accelerator or region the price table lacks; the message names it
        and the price file.

Floor: every pool at its minimum node count plus what runs regardless of load (control planes,
NAT gateways, load balancers, public IPs, registries' fixed fees). Ceiling: every pool at its
maximum. Storage billed by use (buckets, registry storage) appears as a line priced at zero with
its per-GB price in the detail: a plan cannot know how much data there will be.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PRICES_FILE = Path(__file__).with_name("prices.yaml")
PRICES_DISPLAY = "policies/prices.yaml"

# The label every node of a platform pool carries (components.contract.POOL_LABEL; repeated
# because the policy pack runs on its own, without the program's packages).
POOL_LABEL = "mlplatform.io/pool"
# The label/tag the platforms stamp with their cluster's name.
CLUSTER_LABEL = "mlplatform-cluster"
STACK_TYPE = "pulumi:pulumi:Stack"


class UnknownPrice(ValueError):  # noqa: N818 (the name is part of the shared interface)
    """The price table has no price for something the resources use."""


@dataclass(frozen=True)
class CostLine:
    cluster: str  # cluster/platform it belongs to, "" if none
    item: str  # e.g. "pool gpu-t4", "control plane", "nat", "load balancer", "storage"
    resource: str  # logical resource name it was derived from
    detail: str  # e.g. "n1-standard-8 + 1x nvidia-tesla-t4, spot"
    hourly_usd: float  # per node / per unit
    floor_usd: float  # monthly at min
    ceiling_usd: float  # monthly at max


@dataclass(frozen=True)
class CostEnvelope:
    lines: tuple[CostLine, ...]
    floor_usd: float
    ceiling_usd: float
    price_table_date: str
    # The price pages the priced lines come from, one per cloud priced.
    sources: tuple[str, ...] = ()
    # What the price table could not price (each: why); floor and ceiling leave these out.
    unpriced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resource:
    type: str
    props: Mapping[str, Any]
    name: str = ""
    cluster: str = ""
    provider: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None  # when known: links a node group to its launch template


@dataclass(frozen=True)
class GraphNode:
    """One resource of a stack with its links, as the plan record and CrossGuard both know it."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None  # parent URN
    provider: str | None = None  # provider URN
    provider_props: Mapping[str, Any] | None = None  # when the provider is not itself a node
    id: str | None = None


class PriceTable:
    """prices.yaml, with lookups that fail naming what is missing."""

    def __init__(self, document: Mapping[str, Any], stack_source: str | None = None):
        self.document = document
        # Where a stack's own prices come from (with_overrides), cited beside the table's.
        self.stack_source = stack_source
        self.date = str(document["date"])
        self.hours_per_month = float(document.get("hoursPerMonth", 730))

    @classmethod
    def load(cls, path: str | Path = PRICES_FILE) -> PriceTable:
        """The table at `path`, with each cloud's `machinesFile` (generated machine prices, beside
        it) merged under its regions: a machine the table itself lists wins."""
        path = Path(path)
        document = yaml.safe_load(path.read_text())
        for cloud in document["clouds"].values():
            if "machinesFile" in cloud:
                generated = yaml.safe_load((path.parent / cloud["machinesFile"]).read_text())
                regions = cloud.setdefault("regions", {})
                for region, machines in generated["regions"].items():
                    prices = regions.setdefault(region, {})
                    prices["machines"] = {**machines, **prices.get("machines", {})}
                # Sizes the source had no retail meter for in a region: likely not sold there.
                cloud["unmetered"] = {
                    "asOf": str(generated["sourceGeneratedAt"])[:10],
                    "regions": generated.get("missingFromSource") or {},
                }
        return cls(document)

    def with_overrides(
        self, overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] | None, source: str | None = None
    ) -> PriceTable:
        """This table with a stack's own prices (cloud -> region -> machines/accelerators/disks)
        merged over it, key by key; `source` is cited with the table's."""
        if not overrides:
            return self
        document = copy.deepcopy(dict(self.document))
        for cloud, regions in overrides.items():
            table_regions = document["clouds"][cloud].setdefault("regions", {})
            for region, prices in regions.items():
                merged = table_regions.setdefault(region, {})
                for key, figures in prices.items():
                    merged[key] = (
                        {**merged.get(key, {}), **figures} if isinstance(figures, Mapping) else figures
                    )
        return PriceTable(document, stack_source=source or "the stack's budget.prices")

    def cloud(self, cloud: str) -> Mapping[str, Any]:
        return self.document["clouds"][cloud]

    def region(self, cloud: str, region: str) -> Mapping[str, Any]:
        regions = self.cloud(cloud)["regions"]
        if region not in regions:
            raise UnknownPrice(
                f"no prices for {cloud} region {region} in {PRICES_DISPLAY} "
                f"(priced regions: {', '.join(sorted(regions))}; add it with its source, or give the stack's "
                f"own under budget.prices.{cloud}.{region})"
            )
        return regions[region]

    def machine(self, cloud: str, region: str, machine_type: str, spot: bool) -> float:
        prices = self.region(cloud, region)
        if spot and machine_type in prices.get("spotMachines", {}):
            return float(prices["spotMachines"][machine_type])
        if machine_type not in prices.get("machines", {}):
            raise UnknownPrice(
                f"no price for machine type {machine_type} in {PRICES_DISPLAY} "
                f"(add it with its source under clouds.{cloud}.regions.{region}.machines, or the stack's "
                f"budget.prices.{cloud}.{region}.machines){self._unmetered_hint(cloud, region, machine_type)}"
            )
        return float(prices["machines"][machine_type]) * self.spot_factor(cloud, spot)

    def _unmetered_hint(self, cloud: str, region: str, machine_type: str) -> str:
        """Azure lists a retail meter for a VM size wherever it sells it, so a size the generated
        table's source has no meter for is likely not offered in the region: say so, as AKS would
        refuse the pool at `pulumi up` (the Compute SKUs API is the authority)."""
        unmetered = self.cloud(cloud).get("unmetered") or {}
        if machine_type not in (unmetered.get("regions") or {}).get(region, []):
            return ""
        return (
            f"; the Azure Retail Prices API had no meter for it in {region} on {unmetered['asOf']}, "
            f"so Azure may not offer it there: check `az vm list-skus --location {region} --size "
            f"{machine_type} --output table`"
        )

    def accelerator(self, cloud: str, region: str, accelerator: str, spot: bool) -> float:
        prices = self.region(cloud, region).get("accelerators", {})
        if accelerator not in prices:
            raise UnknownPrice(
                f"no price for accelerator {accelerator} in {PRICES_DISPLAY} "
                f"(add it with its source under clouds.{cloud}.regions.{region}.accelerators, or the stack's "
                f"budget.prices.{cloud}.{region}.accelerators)"
            )
        return float(prices[accelerator]) * self.spot_factor(cloud, spot)

    def disk(self, cloud: str, region: str, disk_type: str) -> float:
        prices = self.region(cloud, region).get("disks", {})
        if disk_type not in prices:
            raise UnknownPrice(
                f"no price for disk type {disk_type} in {PRICES_DISPLAY} "
                f"(add it with its source under clouds.{cloud}.regions.{region}.disks, or the stack's "
                f"budget.prices.{cloud}.{region}.disks)"
            )
        return float(prices[disk_type])

    def spot_factor(self, cloud: str, spot: bool) -> float:
        return 1.0 - float(self.cloud(cloud)["spot"]["discount"]) if spot else 1.0

    def regional(self, cloud: str, region: str, key: str) -> float:
        """A per-region figure (NAT, load balancer, storage), else the cloud-wide one."""
        prices = self.region(cloud, region)
        value = prices.get(key, self.cloud(cloud).get(key))
        if value is None:
            raise UnknownPrice(f"no {key} for {cloud} region {region} in {PRICES_DISPLAY}")
        return float(value)

    def source(self, cloud: str) -> str:
        return str(self.cloud(cloud)["sources"]["compute"])


@cache
def default_prices() -> PriceTable:
    return PriceTable.load()


# --------------------------------------------------------------------------------------------
# The estimate


@dataclass
class _Cluster:
    """What the resources of one cluster add up to, for the lines that depend on it."""

    cloud: str | None = None
    region: str | None = None
    min_nodes: int = 0
    max_nodes: int = 0


@dataclass
class _Estimate:
    prices: PriceTable
    clusters: dict[str, _Cluster]
    # Launch templates by id, by name and by (cluster, logical name): where EKS node disks are.
    launch_templates: dict[Any, Resource] = field(default_factory=dict)
    lines: list[CostLine] = field(default_factory=list)
    clouds: set[str] = field(default_factory=set)
    # What could not be priced (each: "resource: why"); floor and ceiling leave these out.
    unpriced: list[str] = field(default_factory=list)

    def add(self, resource: Resource, item: str, detail: str, hourly: float, low: float, high: float):
        hours = self.prices.hours_per_month
        self.lines.append(
            CostLine(
                cluster=resource.cluster,
                item=item,
                resource=resource.name,
                detail=detail,
                hourly_usd=hourly,
                floor_usd=hourly * low * hours,
                ceiling_usd=hourly * high * hours,
            )
        )

    def add_monthly(self, resource: Resource, item: str, detail: str, monthly: float):
        self.add(resource, item, detail, monthly / self.prices.hours_per_month, 1, 1)

    def add_nodes(self, resource: Resource, cloud: str, low: int, high: int) -> None:
        cluster = self.clusters.setdefault(resource.cluster, _Cluster(cloud=cloud))
        cluster.min_nodes += low
        cluster.max_nodes += high

    def volume_hourly(
        self, resource: Resource, cloud: str, region: str, size_gb: int, disk_type: str
    ) -> float:
        """One node volume per node-hour. A volume the table cannot price is listed unpriced on
        its own (0 here), so its pool's nodes still count and floor and ceiling stay lower bounds."""
        try:
            return size_gb * self.prices.disk(cloud, region, disk_type) / self.prices.hours_per_month
        except UnknownPrice as exc:
            self.unpriced.append(f"{resource.name}: {exc}")
            return 0.0

    def region(self, resource: Resource, cloud: str) -> str:
        region = _own_region(resource, cloud) or self.clusters.get(resource.cluster, _Cluster()).region
        if not region:
            raise UnknownPrice(f"cannot tell the {cloud} region of {resource.type} {resource.name!r}")
        self.clouds.add(cloud)
        return region


Pricer = Callable[[Resource, _Estimate], None]
# type token -> pricer; `_DEFERRED` pricers run after all others (they need node counts or the
# cluster's cloud).
_PRICERS: dict[str, Pricer] = {}
_DEFERRED: dict[str, Pricer] = {}


def _prices(*type_tokens: str, deferred: bool = False) -> Callable[[Pricer], Pricer]:
    def register(function: Pricer) -> Pricer:
        for token in type_tokens:
            (_DEFERRED if deferred else _PRICERS)[token] = function
        return function

    return register


def estimate(
    resources: Iterable[Resource | tuple[str, Mapping[str, Any]]], prices: PriceTable | None = None
) -> CostEnvelope:
    """The monthly floor and ceiling of `resources`. What the table cannot price is listed in
    `unpriced` (and left out of the sums): a valid stack is never refused for a missing price."""
    prices = prices or default_prices()
    items = [r if isinstance(r, Resource) else Resource(type=r[0], props=r[1]) for r in resources]
    clusters: dict[str, _Cluster] = {}
    for resource in items:
        cloud = _cloud_of(resource.type)
        region = _own_region(resource, cloud) if cloud else None
        if cloud and region and resource.cluster not in clusters:
            clusters[resource.cluster] = _Cluster(cloud=cloud, region=region)
    run = _Estimate(prices=prices, clusters=clusters)
    for resource in items:
        if resource.type == "aws:ec2/launchTemplate:LaunchTemplate":
            for key in (resource.id, resource.props.get("name"), (resource.cluster, resource.name)):
                if key:
                    run.launch_templates[key] = resource
    for table in (_PRICERS, _DEFERRED):
        for resource in items:
            pricer = table.get(resource.type)
            if pricer:
                try:
                    pricer(resource, run)
                except UnknownPrice as exc:
                    run.unpriced.append(f"{resource.name}: {exc}")
    lines = tuple(sorted(run.lines, key=lambda line: (line.cluster, _item_rank(line.item), line.resource)))
    return CostEnvelope(
        lines=lines,
        floor_usd=sum(line.floor_usd for line in lines),
        ceiling_usd=sum(line.ceiling_usd for line in lines),
        price_table_date=prices.date,
        sources=tuple(prices.source(cloud) for cloud in sorted(run.clouds))
        + ((f"the stack's budget.prices ({prices.stack_source})",) if prices.stack_source else ()),
        unpriced=tuple(run.unpriced),
    )


def _item_rank(item: str) -> int:
    for rank, prefix in enumerate(("control plane", "pool", "nat", "load balancer", "public ip")):
        if item.startswith(prefix):
            return rank
    return 9


def _cloud_of(type_token: str) -> str | None:
    package = type_token.split(":", 1)[0]
    return {"gcp": "gcp", "aws": "aws", "azure-native": "azure"}.get(package)


def _own_region(resource: Resource, cloud: str | None) -> str | None:
    """The region a resource states itself, or through its explicit provider."""
    props, provider = resource.props, resource.provider
    if cloud == "gcp":
        location = props.get("region") or props.get("location")
        if not isinstance(location, str) or "-" not in location:
            # No location, or a multi-region (EU, US): the provider's region prices it.
            location = provider.get("region") or location
        return _gcp_region(location) if isinstance(location, str) else None
    if cloud == "aws":
        region = props.get("region") or provider.get("region")
        return region if isinstance(region, str) else None
    if cloud == "azure":
        location = props.get("location") or provider.get("location")
        return location.replace(" ", "").lower() if isinstance(location, str) else None
    return None


def _gcp_region(location: str) -> str:
    """europe-west4-a -> europe-west4; regions (and multi-regions like EU) stay as they are."""
    location = location.lower()
    parts = location.split("-")
    return "-".join(parts[:2]) if len(parts) == 3 else location


def _pool_name(resource: Resource, labels: Any) -> str:
    if isinstance(labels, Mapping) and labels.get(POOL_LABEL):
        return str(labels[POOL_LABEL])
    return resource.name


def _count(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _nodes(low: int, high: int) -> str:
    return f"{low} node{'s' if low != 1 else ''}" if low == high else f"{low}..{high} nodes"


# --------------------------------------------------------------------------------------------
# Google Cloud


@_prices("gcp:container/cluster:Cluster")
def _gke_control_plane(resource: Resource, run: _Estimate) -> None:
    run.region(resource, "gcp")
    hourly = float(run.prices.cloud("gcp")["controlPlaneHourly"])
    run.add(resource, "control plane", "GKE cluster management fee", hourly, 1, 1)


@_prices("gcp:container/nodePool:NodePool")
def _gke_pool(resource: Resource, run: _Estimate) -> None:
    props, prices = resource.props, run.prices
    # The nodes exist whether or not their price is known (NAT is billed per node).
    low, high = _gke_node_counts(props)
    run.add_nodes(resource, "gcp", low, high)
    region = run.region(resource, "gcp")
    node = props.get("nodeConfig") or {}
    machine = node.get("machineType")
    if not machine:
        raise UnknownPrice(f"node pool {resource.name!r} has no nodeConfig.machineType to price")
    spot = bool(node.get("spot") or node.get("preemptible"))
    hourly = prices.machine("gcp", region, machine, spot)
    parts = [machine]
    included = prices.cloud("gcp").get("acceleratorIncludedIn", {}).get(machine.split("-")[0])
    for accelerator in node.get("guestAccelerators") or []:
        kind, count = accelerator.get("type"), _count(accelerator.get("count"), 1)
        if kind != included:
            hourly += count * prices.accelerator("gcp", region, kind, spot)
        parts.append(f"{count}x {kind}")
    disk_gb = _count(node.get("diskSizeGb"), 100)
    disk_type = node.get("diskType") or "pd-balanced"
    hourly += run.volume_hourly(resource, "gcp", region, disk_gb, disk_type)
    parts.append(f"{disk_gb} GB {disk_type}")
    detail = " + ".join(parts) + (", spot" if spot else "") + f", {_nodes(low, high)}"
    run.add(resource, f"pool {_pool_name(resource, node.get('labels'))}", detail, hourly, low, high)


def _gke_node_counts(props: Mapping[str, Any]) -> tuple[int, int]:
    """Node totals: `total*` counts are totals; the others are per zone of the pool."""
    scaling = props.get("autoscaling") or {}
    if "totalMinNodeCount" in scaling or "totalMaxNodeCount" in scaling:
        return _count(scaling.get("totalMinNodeCount")), _count(scaling.get("totalMaxNodeCount"))
    zones = len(props.get("nodeLocations") or []) or _gke_default_zones(props.get("location"))
    if "minNodeCount" in scaling or "maxNodeCount" in scaling:
        return _count(scaling.get("minNodeCount")) * zones, _count(scaling.get("maxNodeCount")) * zones
    fixed = _count(props.get("nodeCount"), _count(props.get("initialNodeCount"), 1))
    return fixed * zones, fixed * zones


def _gke_default_zones(location: Any) -> int:
    # A pool of a regional cluster without nodeLocations spans the region's three default zones.
    return 1 if isinstance(location, str) and len(location.split("-")) == 3 else 3


@_prices("gcp:compute/routerNat:RouterNat", deferred=True)
def _cloud_nat(resource: Resource, run: _Estimate) -> None:
    run.region(resource, "gcp")
    nat = run.prices.cloud("gcp")["nat"]
    cluster = run.clusters.get(resource.cluster, _Cluster())

    def hourly(vms: int) -> float:
        addresses = max(1, -(-vms // int(nat["vmsPerIp"])))
        return min(vms * float(nat["perVmHourly"]), float(nat["maxHourly"])) + addresses * float(
            nat["ipHourly"]
        )

    hours = run.prices.hours_per_month
    low, high = cluster.min_nodes, cluster.max_nodes
    run.lines.append(
        CostLine(
            cluster=resource.cluster,
            item="nat",
            resource=resource.name,
            detail=f"Cloud NAT for {_nodes(low, high)} + NAT IP (plus $0.045/GB processed)",
            hourly_usd=hourly(high),
            floor_usd=hourly(low) * hours,
            ceiling_usd=hourly(high) * hours,
        )
    )


@_prices("gcp:compute/address:Address", "gcp:compute/globalAddress:GlobalAddress")
def _gcp_address(resource: Resource, run: _Estimate) -> None:
    if resource.props.get("addressType") == "INTERNAL":
        return
    region = run.region(resource, "gcp")
    hourly = run.prices.regional("gcp", region, "publicIpHourly")
    run.add(resource, "public ip", "external IPv4 address", hourly, 1, 1)


# Always-on items at a regional hourly price, one unit each.
# type -> (cloud, item, what it is, price key)
_FLAT_HOURLY = {
    "aws:ec2/natGateway:NatGateway": ("aws", "nat", "NAT gateway (plus $0.045/GB processed)", "natHourly"),
    "aws:ec2/eip:Eip": ("aws", "public ip", "Elastic IP (public IPv4)", "publicIpHourly"),
    "azure-native:network:NatGateway": (
        "azure",
        "nat",
        "NAT gateway (plus $0.045/GB processed)",
        "natHourly",
    ),
    "azure-native:network:PublicIPAddress": (
        "azure",
        "public ip",
        "Standard public IPv4 address",
        "publicIpHourly",
    ),
    "azure-native:network:LoadBalancer": (
        "azure",
        "load balancer",
        "Standard Load Balancer",
        "loadBalancerHourly",
    ),
}


@_prices(*_FLAT_HOURLY)
def _flat_hourly(resource: Resource, run: _Estimate) -> None:
    cloud, item, what, price_key = _FLAT_HOURLY[resource.type]
    run.add(resource, item, what, run.prices.regional(cloud, run.region(resource, cloud), price_key), 1, 1)


# Storage billed by use: a zero-priced line that still shows the per-GB price.
# type -> (cloud, item, what it is, price key, decimals of the per-GB price)
_BILLED_BY_USE = {
    "gcp:storage/bucket:Bucket": ("gcp", "storage", "GCS bucket", "storagePerGbMonth", 3),
    "gcp:artifactregistry/repository:Repository": (
        "gcp",
        "registry",
        "Artifact Registry",
        "registryPerGbMonth",
        2,
    ),
    "aws:s3/bucket:Bucket": ("aws", "storage", "S3 bucket", "storagePerGbMonth", 3),
    "aws:s3/bucketV2:BucketV2": ("aws", "storage", "S3 bucket", "storagePerGbMonth", 3),
    "aws:ecr/repository:Repository": ("aws", "registry", "ECR repository", "registryPerGbMonth", 2),
    "azure-native:storage:StorageAccount": ("azure", "storage", "storage account", "storagePerGbMonth", 4),
}


@_prices(*_BILLED_BY_USE)
def _billed_by_use(resource: Resource, run: _Estimate) -> None:
    cloud, item, what, price_key, decimals = _BILLED_BY_USE[resource.type]
    per_gb = run.prices.regional(cloud, run.region(resource, cloud), price_key)
    run.add(resource, item, f"{what}, ${per_gb:.{decimals}f}/GB-month by use", 0.0, 0, 0)


# --------------------------------------------------------------------------------------------
# AWS


@_prices("aws:eks/cluster:Cluster")
def _eks_control_plane(resource: Resource, run: _Estimate) -> None:
    run.region(resource, "aws")
    hourly = float(run.prices.cloud("aws")["controlPlaneHourly"])
    run.add(resource, "control plane", "EKS cluster, standard support", hourly, 1, 1)


@_prices("aws:eks/nodeGroup:NodeGroup")
def _eks_pool(resource: Resource, run: _Estimate) -> None:
    props, prices = resource.props, run.prices
    scaling = props.get("scalingConfig") or {}
    low, high = _count(scaling.get("minSize")), _count(scaling.get("maxSize"))
    run.add_nodes(resource, "aws", low, high)
    region = run.region(resource, "aws")
    spot = str(props.get("capacityType") or "ON_DEMAND").upper() == "SPOT"
    types = list(props.get("instanceTypes") or [])
    if not types:
        raise UnknownPrice(f"node group {resource.name!r} has no instanceTypes to price")
    # Several types: the group may run on any of them, so the dearest one bounds the cost.
    machine = max(types, key=lambda t: prices.machine("aws", region, t, spot))
    hourly = prices.machine("aws", region, machine, spot)
    disks = _eks_node_disks(resource, run)
    hourly += sum(run.volume_hourly(resource, "aws", region, size, kind) for size, kind in disks)
    volumes = " + ".join(f"{size} GB {volume_type}" for size, volume_type in disks)
    detail = f"{' or '.join(types)} + {volumes}" + (", spot" if spot else "") + f", {_nodes(low, high)}"
    run.add(resource, f"pool {_pool_name(resource, props.get('labels'))}", detail, hourly, low, high)


def _eks_node_disks(resource: Resource, run: _Estimate) -> list[tuple[int, str]]:
    """The EBS volumes of one node: from the group's launch template (found by id, by name or,
    when the id is not known yet, by the same logical name in the same cluster), else diskSize."""
    reference = resource.props.get("launchTemplate") or {}
    template = None
    if reference:
        for key in (reference.get("id"), reference.get("name"), (resource.cluster, resource.name)):
            if key and key in run.launch_templates:
                template = run.launch_templates[key]
                break
    if template is not None:
        volumes = [
            (_count(ebs.get("volumeSize"), 8), str(ebs.get("volumeType") or "gp3"))
            for mapping in template.props.get("blockDeviceMappings") or []
            if isinstance(ebs := mapping.get("ebs"), Mapping)
        ]
        if volumes:
            return volumes
    return [
        (_count(resource.props.get("diskSize"), int(run.prices.cloud("aws")["defaultNodeDiskGb"])), "gp3")
    ]


@_prices("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
def _aws_load_balancer(resource: Resource, run: _Estimate) -> None:
    region = run.region(resource, "aws")
    hourly = run.prices.regional("aws", region, "loadBalancerHourly")
    kind = resource.props.get("loadBalancerType") or "application"
    run.add(resource, "load balancer", f"{kind} load balancer (plus capacity units)", hourly, 1, 1)


@_prices("aws:kms/key:Key")
def _kms_key(resource: Resource, run: _Estimate) -> None:
    run.region(resource, "aws")
    run.add_monthly(resource, "kms", "customer managed key", float(run.prices.cloud("aws")["kmsKeyMonthly"]))


# --------------------------------------------------------------------------------------------
# Azure


@_prices("azure-native:containerservice:ManagedCluster")
def _aks_cluster(resource: Resource, run: _Estimate) -> None:
    props, azure = resource.props, run.prices.cloud("azure")
    region = run.region(resource, "azure")
    tier = str((props.get("sku") or {}).get("tier") or "Free")
    tiers = azure["controlPlaneHourly"]
    if tier not in tiers:
        raise UnknownPrice(f"no price for AKS tier {tier} in {PRICES_DISPLAY}")
    run.add(resource, "control plane", f"AKS {tier} tier", float(tiers[tier]), 1, 1)
    for profile in props.get("agentPoolProfiles") or []:
        _aks_pool(resource, run, profile, region, str(profile.get("name") or ""))
    outbound = (props.get("networkProfile") or {}).get("outboundType") or "loadBalancer"
    if outbound == "loadBalancer":
        hourly = float(azure["loadBalancerHourly"]) + float(azure["publicIpHourly"])
        run.add(resource, "load balancer", "AKS outbound Standard Load Balancer + public IP", hourly, 1, 1)
    elif outbound == "managedNATGateway":
        hourly = float(azure["natHourly"]) + float(azure["publicIpHourly"])
        run.add(resource, "nat", "AKS managed NAT gateway + public IP (plus $0.045/GB)", hourly, 1, 1)


@_prices("azure-native:containerservice:AgentPool")
def _aks_agent_pool(resource: Resource, run: _Estimate) -> None:
    region = run.region(resource, "azure")
    _aks_pool(resource, run, resource.props, region, str(resource.props.get("agentPoolName") or ""))


def _aks_pool(resource: Resource, run: _Estimate, pool: Mapping[str, Any], region: str, name: str) -> None:
    prices, azure = run.prices, run.prices.cloud("azure")
    if pool.get("enableAutoScaling"):
        low, high = _count(pool.get("minCount")), _count(pool.get("maxCount"))
    else:
        low = high = _count(pool.get("count"), 1)
    run.add_nodes(resource, "azure", low, high)
    machine = pool.get("vmSize")
    if not machine:
        raise UnknownPrice(f"agent pool {name or resource.name!r} has no vmSize to price")
    spot = str(pool.get("scaleSetPriority") or "Regular") == "Spot"
    hourly = prices.machine("azure", region, machine, spot)
    max_price = pool.get("spotMaxPrice")
    if spot and isinstance(max_price, (int, float)) and max_price > 0:
        hourly = min(hourly, float(max_price))  # Azure evicts rather than pay more
    parts = [machine]
    if str(pool.get("osDiskType") or "Managed") == "Managed":
        disk_gb = _count(pool.get("osDiskSizeGB"), int(azure["defaultOsDiskGb"]))
        hourly += disk_gb * float(azure["managedOsDiskPerGbMonth"]) / prices.hours_per_month
        parts.append(f"{disk_gb} GB managed OS disk")
    else:
        parts.append("ephemeral OS disk")
    detail = " + ".join(parts) + (", spot" if spot else "") + f", {_nodes(low, high)}"
    label = _pool_name(Resource(resource.type, pool, name or resource.name), pool.get("nodeLabels"))
    run.add(resource, f"pool {label}", detail, hourly, low, high)


@_prices("azure-native:containerregistry:Registry")
def _container_registry(resource: Resource, run: _Estimate) -> None:
    run.region(resource, "azure")
    sku = str((resource.props.get("sku") or {}).get("name") or "Basic")
    daily = run.prices.cloud("azure")["registryDaily"]
    if sku not in daily:
        raise UnknownPrice(f"no price for container registry SKU {sku} in {PRICES_DISPLAY}")
    monthly = float(daily[sku]) * run.prices.hours_per_month / 24
    run.add_monthly(resource, "registry", f"ACR {sku} (storage beyond the included amount by use)", monthly)


# --------------------------------------------------------------------------------------------
# Kubernetes entry points: each one is a cloud load balancer of the cluster it runs on.


@_prices(
    "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    "kubernetes:gateway.networking.k8s.io/v1beta1:Gateway",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:core/v1:Service",
    deferred=True,
)
def _entry_point(resource: Resource, run: _Estimate) -> None:
    kind = resource.type.rsplit(":", 1)[-1]
    if kind == "Service" and (resource.props.get("spec") or {}).get("type") != "LoadBalancer":
        return
    cluster = run.clusters.get(resource.cluster)
    if cluster is None or not cluster.cloud or not cluster.region:
        return  # an existing cluster: its load balancers are not this stack's cloud resources
    run.clouds.add(cluster.cloud)
    hourly = run.prices.regional(cluster.cloud, cluster.region, "loadBalancerHourly")
    name = (resource.props.get("metadata") or {}).get("name") or resource.name
    run.add(resource, "load balancer", f"{kind} {name} (plus data processed)", hourly, 1, 1)


# --------------------------------------------------------------------------------------------
# Building `Resource` values from a resource graph


def resources_from_graph(nodes: Iterable[GraphNode]) -> list[Resource]:
    """Resources with their cluster and provider props resolved from parents and providers.

    The cluster is the name of the top-level component (just below the stack) that holds the
    resource's provider (a Kubernetes object belongs to the cluster its provider reaches) or,
    failing that, the resource itself; else the `mlplatform-cluster` label.
    """
    nodes = list(nodes)
    by_urn = {node.urn: node for node in nodes}

    def top_component(urn: str | None) -> str:
        node = by_urn.get(urn or "")
        start = node
        while node is not None and node.parent in by_urn and by_urn[node.parent].type != STACK_TYPE:
            node = by_urn[node.parent]
        return node.name if node is not None and node is not start else ""

    resources = []
    for node in nodes:
        if node.type == STACK_TYPE or node.type.startswith("pulumi:providers:"):
            continue
        provider = by_urn.get(node.provider or "")
        provider_props = node.provider_props if node.provider_props is not None else {}
        if provider is not None and node.provider_props is None:
            provider_props = provider.props
        cluster = top_component(node.provider) or top_component(node.urn) or _cluster_label(node.props)
        resources.append(
            Resource(
                type=node.type, props=node.props, name=node.name, cluster=cluster, provider=provider_props
            )
        )
    return resources


def _cluster_label(props: Mapping[str, Any]) -> str:
    for key in ("labels", "resourceLabels", "tags"):
        labels = props.get(key)
        if isinstance(labels, Mapping) and labels.get(CLUSTER_LABEL):
            return str(labels[CLUSTER_LABEL])
    return ""


def graph_nodes_from_policy(resources: Iterable[Any]) -> list[GraphNode]:
    """GraphNodes from CrossGuard's PolicyResource objects (`StackValidationArgs.resources`)."""
    nodes = []
    for resource in resources:
        parent, provider = getattr(resource, "parent", None), getattr(resource, "provider", None)
        nodes.append(
            GraphNode(
                urn=resource.urn,
                type=resource.resource_type,
                name=resource.name,
                props=resource.props,
                parent=parent.urn if parent is not None else None,
                provider=provider.urn if provider is not None else None,
                provider_props=provider.props if provider is not None else None,
            )
        )
    return nodes
