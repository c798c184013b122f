"""ECR repositories for model images: scan on push, immutable tags, lifecycle policy."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


def registry_host(account_id: str, region: str) -> str:
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account_id}.dkr.ecr.{region}.{domain}"


def lifecycle_policy(untagged_retention_days: int) -> str:
    """Untagged images (failed or superseded pushes) expire; tagged images are deploy
    references (tags are immutable) and stay until someone deletes them."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_retention_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_retention_days,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass(frozen=True)
class EcrRegistryArgs:
    account_id: str
    region: str
    # Namespace of the repositories: images are <host>/<registry_name>/<repository>:<tag>.
    registry_name: str
    repositories: tuple[str, ...]
    untagged_retention_days: int


class EcrRegistry(pulumi.ComponentResource):
    repositories: dict[str, aws.ecr.Repository]
    url: str

    def __init__(self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:aws:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repositories = {}
        for repository in args.repositories:
            self.repositories[repository] = aws.ecr.Repository(
                f"{name}-{repository.replace('/', '-')}",
                name=f"{args.registry_name}/{repository}",
                # A tag names one image forever: deploys are reproducible, rollbacks exact.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
                ],
                force_delete=False,
                opts=child,
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{repository.replace('/', '-')}",
                repository=self.repositories[repository].name,
                policy=lifecycle_policy(args.untagged_retention_days),
                opts=child,
            )
        # Known before deployment: the repositories' common prefix.
        self.url = f"{registry_host(args.account_id, args.region)}/{args.registry_name}"
        self.register_outputs({"url": self.url})
