"""Distributed training: Indexed Jobs whose pods find and reach each other, and survive
preemptions; multi-host TPU slices as one unit."""

from __future__ import annotations

import re

import pytest

from plan.engine import PROJECT_DIR
from tests.helpers import dig, multi_host_tpu, one, shipped_plan

JOB = "kubernetes:batch/v1:Job"
CRONJOB = "kubernetes:batch/v1:CronJob"
SERVICE = "kubernetes:core/v1:Service"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
IGNORE_DISRUPTIONS = {
    "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
}


@pytest.fixture(scope="module")
def existing_plan():
    return shipped_plan(PROJECT_DIR / "examples" / "existing-cluster.yaml")


def _policies(record) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in record.of_type(POLICY)}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def test_parallel_job_pods_resolve_each_other_through_a_headless_service(existing_plan):
    job = one(existing_plan, JOB).inputs
    spec = job["spec"]
    assert (spec["parallelism"], spec["completions"], spec["completionMode"]) == (2, 2, "Indexed")
    service = one(existing_plan, SERVICE, "dgx-finetune-llama-peers").inputs
    assert service["metadata"]["namespace"] == job["metadata"]["namespace"] == "research"
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    template = spec["template"]
    # The subdomain names the Service, which selects exactly this job's pods.
    assert template["spec"]["subdomain"] == service["metadata"]["name"] == "finetune-llama"
    assert _selects(service["spec"]["selector"], template["metadata"]["labels"])
    model_pods = dig(
        one(existing_plan, "kubernetes:apps/v1:Deployment").inputs, "spec.template.metadata.labels"
    )
    assert not _selects(service["spec"]["selector"], model_pods)


def test_parallel_job_pods_may_reach_each_other_and_only_each_other(existing_plan):
    policies = _policies(existing_plan)
    # The namespace denies everything by default, both ways.
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    peers = policies["finetune-llama-peers"]
    pods = dig(one(existing_plan, JOB).inputs, "spec.template.metadata.labels")
    selector = peers["podSelector"]["matchLabels"]
    assert _selects(selector, pods)
    assert peers["policyTypes"] == ["Ingress", "Egress"]
    # Every port (NCCL picks its own), but from and to this job's pods alone.
    assert peers["ingress"] == [{"from": [{"podSelector": {"matchLabels": selector}}]}]
    assert peers["egress"] == [{"to": [{"podSelector": {"matchLabels": selector}}]}]
    cron_pods = dig(one(existing_plan, CRONJOB).inputs, "spec.jobTemplate.spec.template.metadata.labels")
    model_pods = dig(
        one(existing_plan, "kubernetes:apps/v1:Deployment").inputs, "spec.template.metadata.labels"
    )
    assert not _selects(selector, cron_pods) and not _selects(selector, model_pods)


def test_parallel_job_gets_rendezvous_env_and_shared_memory_from_its_memory(existing_plan):
    pod = dig(one(existing_plan, JOB).inputs, "spec.template.spec")
    container = pod["containers"][0]
    env = _env(container)
    assert env["BATCH_JOB_NAME"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
    }
    assert env["PET_NODE_RANK"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
    }
    # Index 0's hostname under the subdomain; $(BATCH_JOB_NAME) expands only if defined earlier.
    assert (
        env["MASTER_ADDR"]["value"] == env["PET_MASTER_ADDR"]["value"] == "$(BATCH_JOB_NAME)-0.finetune-llama"
    )
    names = [e["name"] for e in container["env"]]
    for variable in ("MASTER_ADDR", "PET_MASTER_ADDR"):
        for reference in re.findall(r"\$\((\w+)\)", env[variable]["value"]):
            assert names.index(reference) < names.index(variable)
    assert (env["MASTER_PORT"]["value"], env["PET_MASTER_PORT"]["value"]) == ("29500", "29500")
    # 2 nodes x 8 GPUs: one torchrun worker per GPU.
    assert (env["PET_NNODES"]["value"], env["PET_NPROC_PER_NODE"]["value"]) == ("2", "8")
    assert env["WORLD_SIZE"]["value"] == "16"
    # Kubernetes sets JOB_COMPLETION_INDEX itself; the platform leaves it alone.
    assert "JOB_COMPLETION_INDEX" not in env
    # 512Gi of memory: half would be 256Gi, capped at 16Gi.
    shm = next(v for v in pod["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "16384Mi"}


def test_preemptions_and_drains_do_not_use_up_the_backoff_limit(existing_plan, dev_plan):
    job = one(existing_plan, JOB).inputs["spec"]
    assert job["podFailurePolicy"] == IGNORE_DISRUPTIONS
    assert dig(job, "template.spec.restartPolicy") == "Never"
    # Single-pod jobs too (dev's spot T4 job and the nightly CronJob's runs).
    assert one(dev_plan, JOB).inputs["spec"]["podFailurePolicy"] == IGNORE_DISRUPTIONS
    assert dig(one(dev_plan, CRONJOB).inputs, "spec.jobTemplate.spec.podFailurePolicy") == IGNORE_DISRUPTIONS


def test_a_single_pod_job_has_no_peers(dev_plan):
    spec = one(dev_plan, JOB).inputs["spec"]
    assert spec["completionMode"] == "NonIndexed"
    assert "subdomain" not in spec["template"]["spec"]
    assert not [n for n in _policies(dev_plan) if n.endswith("-peers")]
    assert "MASTER_ADDR" not in _env(spec["template"]["spec"]["containers"][0])


def test_on_failure_restarts_get_no_pod_failure_policy(dev_config, plan_of):
    """The API admits podFailurePolicy only with restartPolicy Never."""
    dev_config["config"]["mlplatform:jobs"]["train-bert"]["restartPolicy"] = "OnFailure"
    assert "podFailurePolicy" not in one(plan_of(dev_config), JOB).inputs["spec"]


def test_a_parallel_cronjob_addresses_the_master_of_each_run(dev_config, plan_of):
    dev_config["config"]["mlplatform:jobs"]["nightly-batch"]["parallelism"] = 2
    record = plan_of(dev_config)
    cron = one(record, CRONJOB).inputs
    job = cron["spec"]["jobTemplate"]["spec"]
    assert (job["parallelism"], job["completions"], job["completionMode"]) == (2, 2, "Indexed")
    assert job["podFailurePolicy"] == IGNORE_DISRUPTIONS
    assert dig(job, "template.spec.subdomain") == "nightly-batch"
    service = one(record, SERVICE, "main-nightly-batch-peers").inputs
    assert _selects(service["spec"]["selector"], job["template"]["metadata"]["labels"])
    # Each run is a Job of its own name (<cronjob>-<minutes>): the master follows it.
    env = _env(job["template"]["spec"]["containers"][0])
    assert env["MASTER_ADDR"]["value"] == "$(BATCH_JOB_NAME)-0.nightly-batch"
    assert (
        _policies(record)["nightly-batch-peers"]["podSelector"]["matchLabels"] == service["spec"]["selector"]
    )
    # Its pod template still carries no ownership label (the template is immutable).
    assert "owner" not in job["template"]["metadata"]["labels"]


def test_a_job_on_a_multi_host_tpu_slice_runs_one_pod_per_host_as_one_unit(prod_config, plan_of):
    record = plan_of(multi_host_tpu(prod_config))
    spec = one(record, JOB).inputs["spec"]
    # parallelism unset: the slice's 4 hosts, all at once, Indexed.
    assert (spec["parallelism"], spec["completions"], spec["completionMode"]) == (4, 4, "Indexed")
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"]["cloud.google.com/gke-tpu-topology"] == "4x4"
    # The pool label keeps every pod on this one slice.
    assert pod["nodeSelector"]["mlplatform.io/pool"] == "tpu-v5e"
    assert pod["containers"][0]["resources"]["limits"]["google.com/tpu"] == "4"
    # GKE's webhook sets TPU_WORKER_ID/TPU_WORKER_HOSTNAMES for an Indexed Job with a subdomain
    # that requests google.com/tpu: the headless Service and subdomain are what it needs.
    service = one(record, SERVICE, "main-train-t5-tpu-peers").inputs
    assert pod["subdomain"] == service["metadata"]["name"] == "train-t5-tpu"
    env = _env(pod["containers"][0])
    assert not [name for name in env if name.startswith("TPU_WORKER")]
    assert env["PET_NPROC_PER_NODE"]["value"] == "1"
    assert "train-t5-tpu-peers" in _policies(record)
