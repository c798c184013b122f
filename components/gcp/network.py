"""VPC for a VPC-native GKE cluster: subnet with pod/service ranges, Cloud Router and NAT."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class GkeNetworkArgs:
    region: str
    node_cidr: str
    pod_cidr: str
    service_cidr: str


class GkeNetwork(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork

    def __init__(self, name: str, args: GkeNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        replace_after_delete = pulumi.ResourceOptions(parent=self, delete_before_replace=True)

        self.network = gcp.compute.Network(
            name,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description="ML platform VPC (managed by Pulumi)",
            opts=child,
        )
        self.subnetwork = gcp.compute.Subnetwork(
            f"{name}-nodes",
            network=self.network.id,
            region=args.region,
            ip_cidr_range=args.node_cidr,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=PODS_RANGE, ip_cidr_range=args.pod_cidr
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=SERVICES_RANGE, ip_cidr_range=args.service_cidr
                ),
            ],
            # Private nodes reach Google APIs (registry, GCS) without public IPs.
            private_ip_google_access=True,
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ),
            # A replacement claims the same ranges in the same VPC, which GCP refuses while the
            # old subnet exists: delete first.
            opts=replace_after_delete,
        )
        self.router = gcp.compute.Router(
            f"{name}-router", network=self.network.id, region=args.region, opts=child
        )
        # Private nodes pull public images and reach external APIs through NAT only.
        self.nat = gcp.compute.RouterNat(
            f"{name}-nat",
            router=self.router.name,
            region=args.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            # A router holds one NAT for ALL_SUBNETWORKS_ALL_IP_RANGES: a replacement on the same
            # router conflicts with the old one, so delete first.
            opts=replace_after_delete,
        )
        self.register_outputs(
            {"network": self.network.id, "subnetwork": self.subnetwork.id, "nat": self.nat.name}
        )
