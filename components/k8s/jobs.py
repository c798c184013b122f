"""Training Jobs and scheduled batch CronJobs, on any pool (TPU slices included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contract import POOL_LABEL, PoolContract
from components.handle import BucketAccess, WorkloadIdentity
from components.k8s.artifacts import ArtifactSource, artifact_mount, artifacts_directory
from components.k8s.pod import (
    ContainerResources,
    ContainerSpec,
    container,
    object_metadata,
    pod_spec,
    standard_labels,
    workload_service_account,
)


@dataclass(frozen=True)
class Schedule:
    cron: str
    time_zone: str | None = None
    concurrency_policy: Literal["Forbid", "Replace", "Allow"] = "Forbid"
    starting_deadline_seconds: int = 600
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 3


@dataclass(frozen=True)
class BatchJobArgs:
    job: str
    namespace: str
    pool: PoolContract
    image: pulumi.Input[str]
    resources: ContainerResources
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    backoff_limit: int = 3
    restart_policy: Literal["Never", "OnFailure"] = "Never"
    active_deadline_seconds: int = 86400
    # Finished scheduled runs are cleaned up after this; a one-off Job is kept (see below).
    ttl_seconds_after_finished: int = 86400
    parallelism: int = 1
    # None: a one-off Job; otherwise a CronJob running the same template on the schedule.
    schedule: Schedule | None = None
    labels: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, BucketAccess] = field(default_factory=dict)
    # BUCKET_<NAME> and MODEL_* variables (pod.bucket_env).
    bucket_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    identity: WorkloadIdentity | None = None
    # Its data mounted read-only from the cluster's bucket (MODEL_DIR), as for models.
    artifacts: ArtifactSource | None = None
    # What every object of the job waits for (its namespace).
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    # What the pods need before they can start: their pool and the add-ons serving it.
    pods_depend_on: list[pulumi.Resource] = field(default_factory=list)


class BatchJob(pulumi.ComponentResource):
    """A training Job or a scheduled CronJob with its own ServiceAccount and cloud identity."""

    def __init__(self, name: str, args: BatchJobArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:BatchJob", name, None, opts)
        component = "batch-job" if args.schedule else "training-job"
        # A Job's pod template is immutable (kubernetes/kubernetes pkg/apis/batch/validation,
        # ValidateJobSpecUpdate): a label there that may change (owner, cost centre) would make
        # every edit replace the Job and re-run training. The pod template carries only what
        # names the workload; ownership labels stay on the Job/CronJob and the Jobs it spawns.
        workload_labels = standard_labels(args.job, component, {})
        labels = {**workload_labels, **args.labels}

        binding = workload_service_account(
            name, args.job, args.namespace, labels, args.buckets, args.identity, self, args.depends_on
        )
        pod_labels = binding.pod_labels
        mount = (
            artifact_mount(name, args.job, args.namespace, args.artifacts, binding, args.pool, None, self)
            if args.artifacts is not None
            else None
        )
        artifact_env = {"MODEL_DIR": artifacts_directory(args.artifacts, None)} if args.artifacts else {}
        job_spec = {
            "backoffLimit": args.backoff_limit,
            "activeDeadlineSeconds": args.active_deadline_seconds,
            "parallelism": args.parallelism,
            "completions": args.parallelism,
            # Indexed pods get stable hostnames and ranks: what multi-host TPU and torchrun need.
            "completionMode": "Indexed" if args.parallelism > 1 else "NonIndexed",
            "template": {
                "metadata": {
                    "labels": {
                        **workload_labels,
                        **pod_labels,
                        POOL_LABEL: args.pool.name,
                    },
                    **({"annotations": mount.pod_annotations} if mount and mount.pod_annotations else {}),
                },
                "spec": pod_spec(
                    [
                        container(
                            ContainerSpec(
                                name="main",
                                image=args.image,
                                resources=args.resources,
                                command=args.command,
                                args=args.args,
                                env={**args.env, **args.bucket_env, **artifact_env, "JOB_NAME": args.job},
                                volume_mounts=[mount.volume_mount] if mount and mount.volume_mount else [],
                            ),
                            args.pool,
                        )
                    ],
                    args.pool,
                    args.job,
                    shm_size=args.resources.shm_size,
                    restart_policy=args.restart_policy,
                    volumes=mount.volumes if mount else None,
                ),
            },
        }
        opts_with_deps = pulumi.ResourceOptions(
            parent=self,
            depends_on=[*args.depends_on, *args.pods_depend_on, *(mount.depends_on if mount else [])],
        )
        if args.schedule is None:
            self.workload = k8s.batch.v1.Job(
                f"{name}-job",
                # Training runs for hours: `pulumi up` must not wait for completion. And no TTL:
                # a Job that deleted itself would be re-created (and re-run) by the next refresh.
                metadata=object_metadata(args.job, args.namespace, labels, {"pulumi.com/skipAwait": "true"}),
                spec=job_spec,
                opts=opts_with_deps,
            )
        else:
            schedule = args.schedule
            cron_spec = {
                "schedule": schedule.cron,
                "concurrencyPolicy": schedule.concurrency_policy,
                "startingDeadlineSeconds": schedule.starting_deadline_seconds,
                "successfulJobsHistoryLimit": schedule.successful_jobs_history_limit,
                "failedJobsHistoryLimit": schedule.failed_jobs_history_limit,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {**job_spec, "ttlSecondsAfterFinished": args.ttl_seconds_after_finished},
                },
            }
            if schedule.time_zone:
                cron_spec["timeZone"] = schedule.time_zone
            self.workload = k8s.batch.v1.CronJob(
                f"{name}-cronjob",
                metadata=object_metadata(args.job, args.namespace, labels),
                spec=cron_spec,
                opts=opts_with_deps,
            )
        self.register_outputs({"kind": "CronJob" if args.schedule else "Job"})
