"""A cluster component and a ModelService, used directly (no stack-wide platform wiring)."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.config import CONFIG, get_config_env

from components.gcp.platform import GkePlatform, GkePlatformArgs
from components.k8s.model_service import PRIMARY, Autoscaling, ModelService, ModelServiceArgs, ModelVariant
from components.k8s.pod import ContainerResources
from stacks import ConfigError, load_from_pulumi

try:
    # The platform's models validate the mlplatform:* keys (pools, CIDRs, versions) first.
    platform = load_from_pulumi(pulumi.get_stack(), {**get_config_env(), **CONFIG.get()})
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

cluster = GkePlatform(
    "main",
    GkePlatformArgs(
        environment=platform.environment, cluster=platform.clusters["main"], labels=platform.labels
    ),
)
handle = cluster.handle
on_cluster = pulumi.ResourceOptions(provider=handle.kubernetes_provider)

namespace = k8s.core.v1.Namespace("nlp", metadata={"name": "nlp"}, opts=on_cluster)
model = platform.models["sentiment"]
service = ModelService(
    "sentiment",
    ModelServiceArgs(
        model="sentiment",
        namespace="nlp",
        pool=handle.pools[model.pool],
        port=model.port,
        resources=ContainerResources(cpu="500m", memory="1Gi", cpu_limit="1", memory_limit="1Gi"),
        variants=[
            ModelVariant(
                PRIMARY,
                handle.registry_url.apply(lambda url: f"{url}/{model.image.repository}:{model.image.tag}"),
                100,
                Autoscaling(min=model.autoscale.min, max=model.autoscale.max, cpu=model.autoscale.cpu),
            )
        ],
        identity=handle.identity,
        depends_on=[namespace, *handle.ready],
    ),
    opts=on_cluster,
)

pulumi.export("endpoint", handle.access.endpoint)
pulumi.export("kubeconfig", handle.access.kubeconfig)
