"""Model server presets: what a stock server needs to answer its first request."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemandMetric:
    """A server's own load signal, as the request autoscaler (KEDA's prometheus trigger) reads
    it: a gauge as it is, a counter as a per-second rate."""

    metric: str
    counter: bool
    # What one unit is, for the preview ("waiting requests", "requests/s").
    unit: str

    def query(self, selector: str) -> str:
        series = f"{self.metric}{{{selector}}}"
        return f"sum(rate({series}[2m]))" if self.counter else f"sum({series})"


@dataclass(frozen=True)
class ServerPanels:
    """PromQL for a model dashboard's server panels; `{s}` is the variant's series selector."""

    requests: str  # requests per second
    errors: str  # failed requests per second
    latency: str  # seconds per request (p95 where the server exports a histogram, else the mean)


@dataclass(frozen=True)
class ServerPreset:
    port: int
    liveness_path: str
    readiness_path: str
    metrics_port: int | None
    metrics_path: str | None
    # Time to load weights before the startup probe gives up (`loadSeconds` overrides it).
    load_seconds: int
    # A request's budget at the load balancer (`route.timeoutSeconds` overrides it); None: the
    # load balancer's own default.
    request_timeout_seconds: int | None
    # Writable cache (downloads, compiled kernels) and its default size (`resources.cacheSize`).
    cache_dir: str
    cache_size: str
    # A busy LLM pod answers its health endpoint late: a 2 s liveness timeout kills healthy pods.
    liveness_timeout_seconds: int = 10
    # What `autoscale.requests` scales on; None: the server exports no such metric.
    demand: DemandMetric | None = None
    # What the model's dashboard shows of the server; None: only replicas and resources.
    panels: ServerPanels | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


CACHE_DIR = "/cache"

PRESETS: dict[str, ServerPreset] = {
    # vLLM v0.11 OpenAI-compatible server (docs.vllm.ai/en/v0.11.0/serving/openai_compatible_server,
    # .../usage/troubleshooting): `vllm serve` listens on 8000; GET /health is 200 once the engine
    # is up; Prometheus metrics at /metrics on the same port; Hugging Face downloads go to HF_HOME.
    # Generations stream for minutes: 600 s request timeout.
    "vllm": ServerPreset(
        port=8000,
        liveness_path="/health",
        readiness_path="/health",
        metrics_port=8000,
        metrics_path="/metrics",
        load_seconds=900,
        request_timeout_seconds=600,
        cache_dir=CACHE_DIR,
        cache_size="50Gi",
        liveness_timeout_seconds=30,
        # Requests queued for the engine (docs.vllm.ai/en/v0.11.0/usage/metrics, gauge
        # vllm:num_requests_waiting): the queue grows before latency does.
        demand=DemandMetric("vllm:num_requests_waiting", counter=False, unit="waiting requests"),
        # Same page: counter vllm:request_success_total, histogram vllm:e2e_request_latency_seconds;
        # the API server's HTTP metrics (prometheus-fastapi-instrumentator, http_requests_total
        # with status "2xx".."5xx") count the failures.
        panels=ServerPanels(
            requests="sum(rate(vllm:request_success_total{{{s}}}[5m]))",
            errors='sum(rate(http_requests_total{{{s},status="5xx"}}[5m]))',
            latency="histogram_quantile(0.95, sum by (le) "
            "(rate(vllm:e2e_request_latency_seconds_bucket{{{s}}}[5m])))",
        ),
        args=("--port", "8000"),
        env={"HF_HOME": f"{CACHE_DIR}/huggingface", "VLLM_CACHE_ROOT": f"{CACHE_DIR}/vllm"},
    ),
    # Triton r25.10 (triton-inference-server/server docs/user_guide/metrics.md and the KServe v2
    # protocol it implements, docs/protocol/README.md): HTTP 8000 with /v2/health/live and
    # /v2/health/ready, gRPC 8001, Prometheus metrics on 8002 /metrics.
    # The model repository is the model's artifacts path as the pod sees it (MODEL_DIR: the CSI
    # mount, or the download on existing clusters), a local directory on every cloud; Triton's own
    # gs:// and s3:// reader would need credentials of its own (user_guide/model_repository.html).
    "triton": ServerPreset(
        port=8000,
        liveness_path="/v2/health/live",
        readiness_path="/v2/health/ready",
        metrics_port=8002,
        metrics_path="/metrics",
        load_seconds=600,
        request_timeout_seconds=300,
        cache_dir=CACHE_DIR,
        cache_size="20Gi",
        # Requests received but not yet executing (user_guide/metrics.md, "Pending Request Count":
        # nv_inference_pending_request_count, a gauge per model).
        demand=DemandMetric("nv_inference_pending_request_count", counter=False, unit="pending requests"),
        # Same page: counters nv_inference_request_success / _failure, and the cumulative
        # nv_inference_request_duration_us over nv_inference_count (the mean request time).
        panels=ServerPanels(
            requests="sum(rate(nv_inference_request_success{{{s}}}[5m]))",
            errors="sum(rate(nv_inference_request_failure{{{s}}}[5m]))",
            latency="sum(rate(nv_inference_request_duration_us{{{s}}}[5m])) / "
            "sum(rate(nv_inference_count{{{s}}}[5m])) / 1e6",
        ),
        args=("tritonserver", "--http-port=8000", "--metrics-port=8002", "--model-repository=$(MODEL_DIR)"),
    ),
    # TorchServe 0.12 (pytorch.org/serve/inference_api.html, metrics_api.html): inference API on
    # 8080 with GET /ping, management 8081, Prometheus metrics on 8082 /metrics.
    "torchserve": ServerPreset(
        port=8080,
        liveness_path="/ping",
        readiness_path="/ping",
        metrics_port=8082,
        metrics_path="/metrics",
        load_seconds=600,
        request_timeout_seconds=120,
        cache_dir=CACHE_DIR,
        cache_size="10Gi",
        # No queue gauge in Prometheus mode: the request rate (metrics.md, counter
        # ts_inference_requests_total, labels model_name/model_version/hostname).
        demand=DemandMetric("ts_inference_requests_total", counter=True, unit="requests/s"),
        # Same page: counters ts_inference_latency_microseconds and Requests5XX (frontend).
        panels=ServerPanels(
            requests="sum(rate(ts_inference_requests_total{{{s}}}[5m]))",
            errors="sum(rate(Requests5XX{{{s}}}[5m]))",
            latency="sum(rate(ts_inference_latency_microseconds{{{s}}}[5m])) / "
            "sum(rate(ts_inference_requests_total{{{s}}}[5m])) / 1e6",
        ),
    ),
}

# A custom server: the explicit port/probes/args of the model config, with today's defaults.
CUSTOM = ServerPreset(
    port=8080,
    liveness_path="/healthz",
    readiness_path="/ready",
    metrics_port=None,
    metrics_path=None,
    load_seconds=300,
    request_timeout_seconds=None,
    cache_dir="/cache",
    cache_size="1Gi",
)
