"""Training Jobs and scheduled batch CronJobs, on any pool (TPU slices included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.contract import POOL_LABEL, PoolContract
from components.handle import BucketAccess, WorkloadIdentity
from components.k8s.artifacts import ArtifactSource, artifact_mount, artifacts_directory
from components.k8s.namespace import peers_policy
from components.k8s.pod import (
    ContainerResources,
    ContainerSpec,
    container,
    object_metadata,
    pod_spec,
    standard_labels,
    workload_service_account,
)

# torchrun's default rendezvous port (https://docs.pytorch.org/docs/stable/elastic/run.html,
# --master-port).
RENDEZVOUS_PORT = 29500
# The Job controller labels each pod with its Job's name (for a CronJob: the run's Job) and
# annotates it with its completion index; the index also reaches the container as
# JOB_COMPLETION_INDEX, set by Kubernetes
# (https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-labels, #completion-mode).
JOB_NAME_FIELD = "metadata.labels['batch.kubernetes.io/job-name']"
COMPLETION_INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
# Spot preemptions, node drains and evictions mark the pod with the DisruptionTarget condition
# (https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-conditions);
# Ignore replaces the pod without counting it against backoffLimit
# (https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy; GA in
# 1.31, below every version the catalogs offer). The API admits podFailurePolicy only with
# restartPolicy Never; `status` is required by the batch/v1 schema of 1.30 (kubernetes-validate,
# tests/manifests).
IGNORE_DISRUPTIONS = {
    "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
}


def rendezvous_env(service: str, pods: int, processes_per_pod: int) -> tuple[dict[str, str], dict[str, str]]:
    """The (field, value) variables a distributed job's pods meet through: index 0 is the
    master. Plain names for torch.distributed's env:// init (MASTER_ADDR, MASTER_PORT, WORLD_SIZE:
    all processes), and torchrun's own (it reads each --option from PET_<OPTION>,
    torch/distributed/argparse_util.py), so `torchrun train.py` needs no flags."""
    master = f"$(BATCH_JOB_NAME)-0.{service}"
    fields = {"BATCH_JOB_NAME": JOB_NAME_FIELD, "PET_NODE_RANK": COMPLETION_INDEX_FIELD}
    values = {
        "MASTER_ADDR": master,
        "MASTER_PORT": str(RENDEZVOUS_PORT),
        "WORLD_SIZE": str(pods * processes_per_pod),
        "PET_MASTER_ADDR": master,
        "PET_MASTER_PORT": str(RENDEZVOUS_PORT),
        "PET_NNODES": str(pods),
        "PET_NPROC_PER_NODE": str(processes_per_pod),
    }
    return fields, values


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
    # Pods that run at once; above 1 a distributed job: Indexed, with a headless Service, its own
    # NetworkPolicy and rendezvous env. On a multi-host TPU slice: the slice's hosts.
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
        child = pulumi.ResourceOptions(parent=self, depends_on=args.depends_on)
        distributed = args.parallelism > 1
        field_env: dict[str, str] = {}
        env = {**args.env, **args.bucket_env, **artifact_env, "JOB_NAME": args.job}
        if distributed:
            peers = {"app.kubernetes.io/name": args.job, "app.kubernetes.io/component": component}
            # Indexed pods are named <job>-<index>; with this headless Service as their subdomain
            # they resolve as <job>-<index>.<service>
            # (https://kubernetes.io/docs/tasks/job/job-with-pod-to-pod-communication). On GKE the
            # same shape (Indexed, subdomain, parallelism above 1, google.com/tpu requested) makes
            # GKE's mutating webhook set TPU_WORKER_ID and TPU_WORKER_HOSTNAMES for a multi-host
            # slice (https://cloud.google.com/kubernetes-engine/docs/how-to/tpus, multi-host
            # workload; quoted in abatilo/gke-tpu-env-injector's README), so the platform sets
            # neither.
            k8s.core.v1.Service(
                f"{name}-peers",
                metadata=object_metadata(args.job, args.namespace, labels),
                spec={
                    "clusterIP": "None",
                    "selector": peers,
                    # Ranks look each other up before any of them is Ready.
                    "publishNotReadyAddresses": True,
                },
                opts=child,
            )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-peers-policy",
                metadata=object_metadata(f"{args.job}-peers", args.namespace, labels),
                spec=peers_policy(peers),
                opts=child,
            )
            processes = args.resources.accelerators if args.pool.kind == "gpu" else 1
            field_env, rendezvous = rendezvous_env(args.job, args.parallelism, max(processes, 1))
            env.update(rendezvous)
        job_spec: dict = {
            "backoffLimit": args.backoff_limit,
            "activeDeadlineSeconds": args.active_deadline_seconds,
            "parallelism": args.parallelism,
            "completions": args.parallelism,
            # Indexed pods get stable hostnames and ranks: what multi-host TPU and torchrun need.
            # Retries stay counted for the whole Job, not per index (backoffLimitPerIndex, GA only
            # since 1.33 while EKS 1.32 is offered): one rank cannot restart alone anyway, its
            # peers lose the collective with it.
            "completionMode": "Indexed" if distributed else "NonIndexed",
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
                                env=env,
                                field_env=field_env,
                                volume_mounts=[mount.volume_mount] if mount and mount.volume_mount else [],
                            ),
                            args.pool,
                        )
                    ],
                    args.pool,
                    args.job,
                    shm_size=args.resources.shm_size,
                    restart_policy=args.restart_policy,
                    subdomain=args.job if distributed else None,
                    volumes=mount.volumes if mount else None,
                ),
            },
        }
        if args.restart_policy == "Never":
            job_spec["podFailurePolicy"] = IGNORE_DISRUPTIONS
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
