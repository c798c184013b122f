"""The stack config: every `mlplatform:*` key of a stack file, as one validated model."""

from __future__ import annotations

import ipaddress

from pydantic import Field, model_validator

from stacks.base import StrictModel, is_dns_label, rule_error
from stacks.clusters import ClusterConfig

# Cluster names prefix many physical names (node pools, service accounts: 30 characters on
# GCP); Pulumi appends an 8-character suffix, so keep them short.
MAX_CLUSTER_NAME = 16


class Budget(StrictModel):
    monthly_max_usd: float = Field(gt=0)


class Ownership(StrictModel):
    """Who pays and who to call: stamped as labels/tags on every taggable resource."""

    owner: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")
    cost_center: str = Field(pattern=r"^[a-z0-9][-_a-z0-9]{0,62}$")


class StackConfig(StrictModel):
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    ownership: Ownership
    budget: Budget
    clusters: dict[str, ClusterConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _cluster_names_and_networks(self) -> StackConfig:
        seen: dict[str, tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
        for name, cluster in self.clusters.items():
            if not is_dns_label(name, MAX_CLUSTER_NAME):
                raise rule_error(
                    ("clusters", name),
                    f"cluster name {name!r} must be lowercase letters, digits and '-', "
                    f"start with a letter, at most {MAX_CLUSTER_NAME} characters",
                )
            if cluster.network is None:
                continue
            network = ipaddress.ip_network(cluster.network.cidr)
            for other, (other_cidr, other_network) in seen.items():
                if network.overlaps(other_network):
                    raise rule_error(
                        ("clusters", name, "network", "cidr"),
                        f"{cluster.network.cidr} overlaps cluster {other!r} ({other_cidr}); "
                        "give each cluster its own range so networks can be peered",
                    )
            seen[name] = (cluster.network.cidr, network)
        return self

    @property
    def labels(self) -> dict[str, str]:
        """Ownership labels in a form every cloud accepts (GCP: lowercase, '-', '_')."""
        return {
            "owner": self.ownership.owner,
            "environment": self.environment,
            "cost-center": self.ownership.cost_center,
            "managed-by": "pulumi",
        }
