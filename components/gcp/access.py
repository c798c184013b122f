"""What a team's Google groups need on the cloud side to use a GKE cluster: fetching its
credentials. What they may do inside is their namespace's RoleBindings (Google Groups for RBAC).

The role is Kubernetes Engine Cluster Viewer (roles/container.clusterViewer), granted on the
project: `gcloud container clusters get-credentials` needs container.clusters.get, and GKE's
"Google Groups for RBAC" page has members get it from this role. The role reads cluster metadata
only and grants nothing on Kubernetes objects ("IAM roles for GKE",
cloud.google.com/kubernetes-engine/docs/how-to/iam), so viewers and deployers differ in RBAC
alone. The narrower alternative, a custom role with container.clusters.get only, drops `list` at
the cost of a project-level object the deployer must be allowed to create (roles/iam.roleAdmin)
and whose ID stays reserved for weeks after deletion; the predefined role is the trade taken
(docs/gke.md). It is project-wide: a group sees the metadata of the project's other clusters too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

CREDENTIALS_ROLE = "roles/container.clusterViewer"


@dataclass(frozen=True)
class GkeTeamAccessArgs:
    project: str
    # Google group e-mails of the teams whose namespaces are on the cluster.
    groups: list[str]


class GkeTeamAccess(pulumi.ComponentResource):
    bindings: dict[str, gcp.projects.IAMMember]

    def __init__(self, name: str, args: GkeTeamAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:TeamAccess", name, None, opts)
        # IAMMember adds one member to one role, leaving every other grant of the project alone.
        self.bindings = {
            group: gcp.projects.IAMMember(
                f"{name}-{group}",
                project=args.project,
                role=CREDENTIALS_ROLE,
                member=f"group:{group}",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for group in args.groups
        }
        self.register_outputs({"groups": list(self.bindings)})
