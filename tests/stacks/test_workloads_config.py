"""Workload config: models, jobs and teams are checked against the clusters they land on."""

from __future__ import annotations

from typing import Any

import pytest

from plan.cli import main
from stacks import ConfigError, load_stack_file
from tests.helpers import multi_host_tpu


def _models(document: dict[str, Any]) -> dict[str, Any]:
    return document["config"]["mlplatform:models"]


def _jobs(document: dict[str, Any]) -> dict[str, Any]:
    return document["config"]["mlplatform:jobs"]


def _model(name: str, **changes):
    def mutate(document):
        _models(document)[name].update(changes)

    return mutate


def _job(name: str, **changes):
    def mutate(document):
        _jobs(document)[name].update(changes)

    return mutate


def _woken_model1(drop_route: bool = False, mode: str | None = None):
    """dev's model1 at min 0 on request scaling, without its candidate variant."""

    def mutate(document):
        model = _models(document)["model1"]
        model.pop("variants")
        model.pop("weight")
        model["autoscale"] = {"min": 0, "max": 1, "requests": {"target": 4}}
        if drop_route:
            model.pop("route")
        if mode is not None:
            # Plain HTTP: the Ingress's TLS needs a Secret of its own, beside the point here.
            document["config"]["mlplatform:clusters"]["main"]["routing"].update(mode=mode, insecureHttp=True)

    return mutate


def _renamed_job(name: str, new_name: str, **changes):
    def mutate(document):
        _jobs(document)[new_name] = {**_jobs(document).pop(name), **changes}

    return mutate


def _ingress_cluster(document):
    document["config"]["mlplatform:clusters"]["main"]["routing"] = {
        "mode": "ingress",
        "tls": {"secretName": "ml-tls"},
    }
    for model in _models(document).values():
        model["route"]["stripPrefix"] = False  # GKE's Ingress cannot rewrite paths


def _second_team(document):
    document["config"]["mlplatform:teams"]["other"] = {}


INVALID = [
    pytest.param(
        lambda d: d["config"]["mlplatform:teams"].__setitem__(
            "kube-ml", d["config"]["mlplatform:teams"]["ml"]
        ),
        "mlplatform:teams.kube-ml: namespace 'kube-ml' is a system namespace of Kubernetes or the cloud",
        id="team-named-like-a-system-namespace",
    ),
    pytest.param(
        # 54Gi of containers plus the two model1 pods' Cloud Storage FUSE sidecars (2Gi each).
        lambda d: d["config"]["mlplatform:teams"]["ml"]["quota"].update(memory="8Gi"),
        "mlplatform:teams.ml.quota.memory: the team's models at their minimum replicas and its jobs need "
        "58Gi memory (limits), more than the quota allows: raise it to at least 58Gi",
        id="quota-below-one-replica-of-each-workload",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 3, "max": 4, "cpu": 50}),
        "mlplatform:models.model1.autoscale.min: 6 replicas at minimum need 6 accelerators, but pool "
        "'gpu-t4' holds 3 at its max of 3 nodes",
        id="minimum-replicas-beyond-the-pool",
    ),
    pytest.param(
        _model("model2", pool="gpu-a100"),
        "mlplatform:models.model2.pool: cluster 'main' has no pool 'gpu-a100' (pools: system, gpu-t4)",
        id="pool-missing",
    ),
    pytest.param(
        _model("model2", resources={"cpu": "1", "memory": "1Gi", "gpu": 1}),
        "mlplatform:models.model2.resources.gpu: pool 'system' is a cpu pool: it has no GPUs",
        id="gpu-on-cpu-pool",
    ),
    pytest.param(
        _model("model2", resources={"cpu": "1", "memory": "1Gi", "tpu": 4}),
        "mlplatform:models.model2.resources.tpu: pool 'system' is a cpu pool: it has no TPUs",
        id="tpu-on-cpu-pool",
    ),
    pytest.param(
        _model("model1", resources={"cpu": "1", "memory": "1Gi"}),
        "mlplatform:models.model1.resources.gpu: pool 'gpu-t4' is a gpu pool: request resources.gpu",
        id="cpu-only-pod-on-gpu-pool",
    ),
    pytest.param(
        _model("model1", resources={"cpu": "1", "memory": "1Gi", "gpu": 2}),
        "mlplatform:models.model1.resources.gpu: 2 GPUs do not fit on a 'gpu-t4' node (1 per node)",
        id="more-gpus-than-a-node-has",
    ),
    pytest.param(
        _model("model2", route={"path": "/model1"}),
        "mlplatform:models.model2.route.path: /model1 is already routed to model 'model1'",
        id="duplicate-route",
    ),
    pytest.param(
        _model("model2", route={"path": "/models/../admin"}),
        "mlplatform:models.model2.route.path: '/models/../admin' must not contain '/../': HTTPRoutes "
        "and Ingresses refuse that path",
        id="route-path-an-http-route-refuses",
    ),
    pytest.param(
        _model("model1", weight=80),
        "mlplatform:models.model1.weight: weights add up to 90, not 100 (primary 80 + variants)",
        id="weights-do-not-add-up",
    ),
    pytest.param(
        _model("model1", weight=None),
        "mlplatform:models.model1.weight: with variants, give the primary's weight",
        id="variants-without-primary-weight",
    ),
    pytest.param(
        _model("model1", image={"repository": "sentiment", "tag": "latest"}),
        "mlplatform:models.model1.image.tag: 'latest' is not a version: pin the image tag",
        id="latest-tag",
    ),
    pytest.param(
        _model("model1", image={"repository": "sentiment", "name": "x/y", "tag": "1"}),
        "mlplatform:models.model1.image.repository: give either repository",
        id="image-repository-and-name",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 3, "max": 2, "cpu": 50}),
        "mlplatform:models.model1.autoscale.max: 2 is less than min 3",
        id="hpa-min-above-max",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 1, "max": 2}),
        "mlplatform:models.model1.autoscale.cpu: autoscale needs a target",
        id="hpa-without-target",
    ),
    pytest.param(
        _model("model2", autoscale={"min": 1, "max": 2, "gpuUtil": 60}),
        "mlplatform:models.model2.autoscale.gpuUtil: gpuUtil needs a model that requests a gpu",
        id="gpu-util-without-gpu",
    ),
    pytest.param(
        _model("model2", buckets={"checkpoints": "read"}),
        "mlplatform:models.model2.buckets.checkpoints: cluster 'main' has no bucket 'checkpoints'",
        id="unknown-bucket",
    ),
    pytest.param(
        _model("model1", buckets={"artifacts": "admin"}),
        "mlplatform:models.model1.buckets.artifacts: Input should be 'read' or 'write'",
        id="bad-bucket-access",
    ),
    pytest.param(
        _model("model1", team="search"),
        "mlplatform:models.model1.team: no team 'search' in mlplatform:teams (ml)",
        id="unknown-team",
    ),
    pytest.param(
        _second_team,
        "mlplatform:models.model1.team: name the team (namespace) it belongs to",
        id="ambiguous-team",
    ),
    pytest.param(
        _model("model1", cluster="eu"),
        "mlplatform:models.model1.cluster: no cluster 'eu' (clusters: main)",
        id="unknown-cluster",
    ),
    pytest.param(
        _ingress_cluster,
        "mlplatform:models.model1.variants: cluster 'main' routes through an Ingress, which on gcp "
        "cannot split traffic by weight",
        id="weights-on-ingress-without-weights",
    ),
    pytest.param(
        lambda d: _models(d).update({"a" * 41: _models(d)["model2"]}),
        f"mlplatform:models.{'a' * 41}: '{'a' * 41}' becomes Kubernetes object names",
        id="model-name-too-long",
    ),
    pytest.param(
        lambda d: _jobs(d).update({"n" * 53: _jobs(d)["nightly-batch"]}),
        f"mlplatform:jobs.{'n' * 53}: '{'n' * 53}' becomes Kubernetes object names: "
        "lowercase letters, digits, '-', at most 52",
        id="cronjob-name-over-52",
    ),
    pytest.param(
        _job("train-bert", restartPolicy="Always"),
        "mlplatform:jobs.train-bert.restartPolicy: Input should be 'Never' or 'OnFailure'",
        id="job-restart-always",
    ),
    pytest.param(
        _job("train-bert", timeZone="Europe/Paris"),
        "mlplatform:jobs.train-bert.timeZone: timeZone applies to scheduled jobs",
        id="timezone-without-schedule",
    ),
    pytest.param(
        _job("nightly-batch", schedule="every night"),
        "mlplatform:jobs.nightly-batch.schedule: a schedule has 5 fields (minute hour day-of-month month "
        "day-of-week), not 2",
        id="bad-schedule",
    ),
    pytest.param(
        _job("nightly-batch", schedule="0 24 * * *"),
        "mlplatform:jobs.nightly-batch.schedule: hour field '24': 24 is outside 0-23",
        id="cron-hour-out-of-range",
    ),
    pytest.param(
        _job("nightly-batch", schedule="0 2 * * 7"),
        "mlplatform:jobs.nightly-batch.schedule: day of week field '7': 7 is outside 0-6",
        id="cron-sunday-as-7",
    ),
    pytest.param(
        _job("nightly-batch", schedule="CRON_TZ=UTC 0 2 * * *"),
        "schedule: a time zone in the schedule is refused by Kubernetes: set timeZone instead",
        id="cron-time-zone-in-schedule",
    ),
    pytest.param(
        _job("nightly-batch", timeZone="Europe/Berln"),
        "mlplatform:jobs.nightly-batch.timeZone: 'Europe/Berln' is not an IANA time zone",
        id="unknown-time-zone",
    ),
    pytest.param(
        _job("nightly-batch", resources={"cpu": "1", "memory": "512m"}),
        "mlplatform:jobs.nightly-batch.resources.memory: 512m is 512 thousandths of a byte ('m' is milli): "
        "write 512Mi",
        id="memory-in-millibytes",
    ),
    pytest.param(
        lambda d: _jobs(d).update({"model1": _jobs(d)["train-bert"]}),
        "mlplatform:jobs.model1: 'model1' names a model too",
        id="job-and-model-share-a-name",
    ),
    pytest.param(
        _model("model1", variants={"Canary!": {"image": {"tag": "2"}, "weight": 10}}),
        "mlplatform:models.model1.variants: variant name 'Canary!'",
        id="bad-variant-name",
    ),
    pytest.param(
        _model("model2", image={"name": "docker.io/library/embeddings", "tag": "0.9.1"}),
        "mlplatform:models.model2.image.name: docker.io/library/embeddings is outside the allowed registries "
        "(none): push it to the cluster's registry and use image.repository, or add its registry to "
        "mlplatform:imagePolicy.allowedRegistries",
        id="image-outside-the-allowed-registries",
    ),
    pytest.param(
        lambda d: (
            d["config"].__setitem__("mlplatform:imagePolicy", {"allowedRegistries": ["nvcr.io/nvidia"]}),
            _job("train-bert", image={"name": "nvcr.io/nvidia-evil/pytorch", "tag": "24.05"})(d),
        ),
        "mlplatform:jobs.train-bert.image.name: nvcr.io/nvidia-evil/pytorch is outside the allowed "
        "registries (nvcr.io/nvidia)",
        id="job-image-beside-an-allowed-path",
    ),
    pytest.param(
        _model(
            "model1", variants={"candidate": {"image": {"name": "ghcr.io/x/vllm", "tag": "1"}, "weight": 10}}
        ),
        "mlplatform:models.model1.variants.candidate.image.name: ghcr.io/x/vllm is outside",
        id="variant-image-outside-the-allowed-registries",
    ),
    pytest.param(
        lambda d: d["config"].__setitem__("mlplatform:imagePolicy", {"allowedRegistries": ["nvidia/*"]}),
        "mlplatform:imagePolicy.allowedRegistries: 'nvidia/*' is not a registry prefix",
        id="allow-list-entry-without-a-registry",
    ),
    pytest.param(
        lambda d: d["config"]["mlplatform:clusters"].__setitem__(
            "second",
            {
                **d["config"]["mlplatform:clusters"]["main"],
                "network": {"cidr": "10.60.0.0/20", "podCidr": "10.64.0.0/14", "serviceCidr": "10.68.0.0/20"},
            },
        ),
        "mlplatform:clusters.second.gcp.project: cluster 'main' is in project acme-ml-dev already",
        id="two-gke-clusters-in-one-project",
    ),
    pytest.param(
        _job("train-bert", parallelism=4),
        "mlplatform:jobs.train-bert.parallelism: 4 pods at once need 4 accelerators, but pool 'gpu-t4' "
        "holds 3 such pods at its max of 3 nodes: raise the pool's max or lower parallelism",
        id="distributed-job-beyond-its-pool",
    ),
    pytest.param(
        # Fits the pool (3 T4 nodes), not the team's 3 GPUs next to the LLM's two variants.
        _job("train-bert", parallelism=2),
        "mlplatform:teams.ml.quota.gpu: the team's models at their minimum replicas and its jobs need 4 gpu",
        id="distributed-job-beyond-the-quota",
    ),
    pytest.param(
        _renamed_job("train-bert", "t" * 62, parallelism=2),
        f"mlplatform:jobs.{'t' * 62}: its pods' hostnames (<job>-<index>) would be 64 characters, beyond the "
        "63 of a DNS label: shorten the job name to at most 61",
        id="distributed-job-hostname-too-long",
    ),
    pytest.param(
        _renamed_job("train-bert", "model1-candidate", parallelism=2),
        "mlplatform:jobs.model1-candidate: its pods' headless Service 'model1-candidate' would clash with "
        "the Service of model 'model1' in namespace 'ml': rename the job",
        id="distributed-job-service-named-like-a-model-variant",
    ),
    pytest.param(
        # A CronJob's runs are named <cronjob>-<8 digits>: 52 + 9 + len("-10") = 64.
        _renamed_job("nightly-batch", "n" * 52, parallelism=11),
        f"mlplatform:jobs.{'n' * 52}: its pods' hostnames (<job>-<index>) would be 64 characters, beyond the "
        "63 of a DNS label: shorten the job name to at most 51",
        id="distributed-cronjob-hostname-too-long",
    ),
    pytest.param(
        _model("model2", autoscale={"min": 0, "max": 2, "cpu": 50}),
        "mlplatform:models.model2.autoscale.min: 0 needs autoscale.requests: only the request "
        "autoscaler (KEDA) scales to zero",
        id="scale-to-zero-on-an-hpa",
    ),
    pytest.param(
        _model("model2", autoscale={"min": 0, "max": 2, "requests": {"target": 5}}),
        "mlplatform:models.model2.autoscale.requests: server 'custom' exports no demand metric",
        id="request-scaling-without-a-server-metric",
    ),
    pytest.param(
        _model(
            "model1",
            server="vllm",
            pool="system",
            resources={"cpu": "1", "memory": "4Gi"},
            autoscale={"min": 0, "max": 2, "requests": {"target": 5}},
        ),
        "mlplatform:models.model1.autoscale.min: 0 replicas save nothing while pool 'system' keeps "
        "min 1 nodes: set the pool's min to 0",
        id="scale-to-zero-on-a-pool-that-does-not",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 0, "max": 1, "requests": {"target": 4}}),
        "mlplatform:models.model1.autoscale.min: 0 (woken by its first request through the KEDA HTTP "
        "add-on's interceptor) serves one Service, not weighted variants: drop the variants",
        id="scale-to-zero-with-variants",
    ),
    pytest.param(
        _woken_model1(drop_route=True),
        "mlplatform:models.model1.autoscale.min: 0 needs a route: the model wakes on its first request",
        id="scale-to-zero-without-a-route",
    ),
    pytest.param(
        _woken_model1(mode="ingress"),
        "mlplatform:models.model1.autoscale.min: 0 needs routing.mode: gateway: an Ingress cannot send to "
        "the KEDA HTTP add-on's interceptor in another namespace",
        id="scale-to-zero-behind-an-ingress",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 1, "max": 2, "gpuUtil": 60, "requests": {"target": 5}}),
        "mlplatform:models.model1.autoscale.gpuUtil: scale on requests (KEDA) or on gpuUtil",
        id="requests-and-gpu-util",
    ),
    pytest.param(
        _model("model1", autoscale={"min": 1, "max": 2, "requests": {"target": 5, "servingMin": 2}}),
        "mlplatform:models.model1.autoscale.requests.servingMin: servingMin applies with min 0",
        id="serving-min-without-scale-to-zero",
    ),
    pytest.param(
        lambda d: _models(d)["model1"]["variants"]["candidate"].update(
            autoscale={"min": 0, "max": 1, "cpu": 50}
        ),
        "mlplatform:models.model1.variants.candidate.autoscale.min: 0 needs autoscale.requests",
        id="variant-scale-to-zero-on-an-hpa",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), INVALID)
def test_invalid_workload_config_is_refused_with_its_key(dev_config, write_stack, mutate, message):
    mutate(dev_config)
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(dev_config))
    assert str(caught.value).startswith("Pulumi.test.yaml: ")
    assert message in str(caught.value)


def test_tpu_request_must_take_the_whole_host(prod_config, write_stack):
    document = prod_config
    document["config"]["mlplatform:jobs"]["train-t5-tpu"]["resources"]["tpu"] = 2
    with pytest.raises(
        ConfigError, match=r"jobs\.train-t5-tpu\.resources\.tpu: a ct5lp-hightpu-4t node has 4 TPU"
    ):
        load_stack_file(write_stack(document))


def test_defaults_are_production_defaults(dev_config, write_stack):
    config = load_stack_file(write_stack(dev_config))
    job = config.jobs["nightly-batch"]
    assert (job.concurrency_policy, job.successful_jobs_history_limit, job.failed_jobs_history_limit) == (
        "Forbid",
        3,
        3,
    )
    # Unset load/probe settings fall to the server preset (custom: today's 300 s, /ready, /healthz).
    assert config.models["model2"].server == "custom"
    assert config.models["model2"].load_seconds is None and config.models["model2"].port == 8080
    assert config.models["model1"].route.strip_prefix is True
    assert config.models["model1"].primary_weight == 90
    assert config.models["model2"].primary_weight == 100


def test_an_image_from_an_allowed_registry_is_accepted(dev_config, write_stack):
    dev_config["config"]["mlplatform:imagePolicy"] = {"allowedRegistries": ["nvcr.io/nvidia/"]}
    _job("train-bert", image={"name": "nvcr.io/nvidia/pytorch", "tag": "24.05-py3"})(dev_config)
    stack = load_stack_file(write_stack(dev_config))
    assert stack.image_policy.prefixes == ["nvcr.io/nvidia/"]
    assert stack.jobs["train-bert"].image.name == "nvcr.io/nvidia/pytorch"


def test_a_multi_host_tpu_job_defaults_to_one_pod_per_host(prod_config, write_stack):
    config = load_stack_file(write_stack(multi_host_tpu(prod_config)))
    assert config.parallelism_of(config.jobs["train-t5-tpu"]) == 4
    assert config.parallelism_of(config.jobs["nightly-batch"]) == 1


@pytest.mark.parametrize("parallelism", [2, 8])
def test_a_multi_host_tpu_job_takes_the_whole_slice_or_nothing(prod_config, write_stack, parallelism):
    document = multi_host_tpu(prod_config)
    document["config"]["mlplatform:jobs"]["train-t5-tpu"]["parallelism"] = parallelism
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write_stack(document))
    assert (
        "mlplatform:jobs.train-t5-tpu.parallelism: pool 'tpu-v5e' is a 4x4 slice of 4 hosts that GKE runs "
        "as one unit: one pod per host, so parallelism is 4 (or leave it unset)"
    ) in str(caught.value)


def test_a_distributed_job_beyond_its_pool_exits_2_naming_the_key(dev_config, write_stack, capsys):
    dev_config["config"]["mlplatform:jobs"]["train-bert"]["parallelism"] = 4
    assert main(["preview", "--config", str(write_stack(dev_config))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "mlplatform:jobs.train-bert.parallelism: 4 pods at once" in err


def test_on_failure_restarts_on_a_spot_pool_are_a_warning(dev_config, write_stack):
    assert load_stack_file(write_stack(dev_config)).warnings == []
    dev_config["config"]["mlplatform:jobs"]["train-bert"]["restartPolicy"] = "OnFailure"
    assert load_stack_file(write_stack(dev_config)).warnings == [
        "mlplatform:jobs.train-bert.restartPolicy: OnFailure on spot pool 'gpu-t4': every preemption counts "
        "against backoffLimit; restartPolicy Never lets them not count"
    ]


def test_a_model_on_a_pool_that_scales_to_zero_may_scale_to_zero(dev_config, write_stack):
    _woken_model1()(dev_config)
    model = load_stack_file(write_stack(dev_config)).models["model1"]
    assert (model.autoscale.min, model.autoscale.requests.target) == (0, 4)
    assert model.autoscale.requests.idle_seconds == 900
