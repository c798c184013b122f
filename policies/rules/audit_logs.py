"""How long the control planes' audit logs are kept, on every cloud, with a threshold per
environment (policies/config/<environment>.json: a year in prod)."""

from __future__ import annotations

from pulumi_policy import Severity

from .aws import EKS_CLUSTER
from .azure import AKS_CLUSTER, LOG_WORKSPACE
from .base import number, resources_of, show, stack_rule

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# Log Analytics keeps data 30 days unless the workspace says otherwise (learn.microsoft.com/azure/
# azure-monitor/logs/data-retention-configure).
WORKSPACE_DEFAULT_DAYS = 30


@stack_rule(
    "control-plane-log-retention",
    family="posture",
    description="Control-plane (API server, audit) logs are kept at least the environment's minimum: EKS "
    "CloudWatch log groups, AKS Log Analytics workspaces. GKE's go to Cloud Logging's _Default bucket "
    "(30 days), outside this stack (docs/policies.md).",
    remediation="Raise mlplatform: aws.logRetentionDays or azure.logRetentionDays to at least the minimum "
    "of this environment's policy config (365 in prod).",
    severity=Severity.MEDIUM,
    config={"minRetentionDays": {"type": "integer", "minimum": 1, "maximum": 3653, "default": 90}},
)
def control_plane_log_retention(args, report, config):
    minimum = config["minRetentionDays"]
    groups = {str(g.props.get("name")): g for g in resources_of(args, LOG_GROUP)}
    for cluster in resources_of(args, EKS_CLUSTER):
        group = groups.get(f"/aws/eks/{cluster.props.get('name')}/cluster")
        # No group: EKS creates one that never expires; 0 or unset: never expires either.
        days = number(group.props.get("retentionInDays")) if group is not None else None
        if days and days < minimum:
            report(
                f"EKS cluster {cluster.name} keeps its control-plane logs {show(days)} days, fewer than "
                f"{show(minimum)}",
                cluster.urn,
            )
    workspaces = {id(w.parent): w for w in resources_of(args, LOG_WORKSPACE)}
    for cluster in resources_of(args, AKS_CLUSTER):
        # The platform declares the workspace beside the cluster (same parent).
        workspace = workspaces.get(id(cluster.parent))
        if workspace is None:
            continue  # no logs at all: aks-control-plane-logs reports it
        days = number(workspace.props.get("retentionInDays")) or WORKSPACE_DEFAULT_DAYS
        if days < minimum:
            report(
                f"AKS cluster {cluster.name} keeps its control-plane logs {show(days)} days, fewer than "
                f"{show(minimum)}",
                cluster.urn,
            )
