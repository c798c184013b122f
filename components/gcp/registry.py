"""Artifact Registry docker repository: immutable tags, a cleanup policy, scoped pulls."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class ArtifactRegistryArgs:
    project: str
    location: str
    repository_id: str
    untagged_retention_days: int
    keep_recent: int
    # IAM members ("serviceAccount:...") allowed to pull.
    readers: list[pulumi.Input[str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


class ArtifactRegistry(pulumi.ComponentResource):
    repository: gcp.artifactregistry.Repository
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:gcp:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = gcp.artifactregistry.Repository(
            name,
            repository_id=args.repository_id,
            location=args.location,
            format="DOCKER",
            description="Model-serving and training images",
            # A tag names one image forever: deploys are reproducible, rollbacks exact.
            docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="delete-untagged",
                    action="DELETE",
                    condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                        tag_state="UNTAGGED", older_than=f"{args.untagged_retention_days * 86400}s"
                    ),
                ),
                gcp.artifactregistry.RepositoryCleanupPolicyArgs(
                    id="keep-recent",
                    action="KEEP",
                    most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                        keep_count=args.keep_recent
                    ),
                ),
            ],
            labels=args.labels,
            opts=child,
        )
        for i, member in enumerate(args.readers):
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-reader-{i}",
                project=args.project,
                location=args.location,
                repository=self.repository.repository_id,
                role="roles/artifactregistry.reader",
                member=member,
                opts=child,
            )
        self.url = pulumi.Output.concat(
            args.location, "-docker.pkg.dev/", args.project, "/", self.repository.repository_id
        )
        self.register_outputs({"url": self.url})
