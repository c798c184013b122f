"""KEDA: the request autoscaler (ScaledObjects with prometheus triggers), able to scale to zero."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.contract import PoolContract
from components.k8s.helm import Chart, chart_release, scheduling_values

NAMESPACE = "keda"
# v2.20 is tested on Kubernetes 1.33-1.35 (keda.sh/docs/2.20/operate/cluster, compatibility matrix).
KEDA = Chart("keda", "https://kedacore.github.io/charts", "2.20.2")


@dataclass(frozen=True)
class KedaArgs:
    system_pool: PoolContract
    system_pool_ready: list[pulumi.Resource] = field(default_factory=list)


class Keda(pulumi.ComponentResource):
    # The release (operator, metrics API server, admission webhooks and the CRDs, chart value
    # crds.install defaults to true): what ScaledObjects wait for.
    release: pulumi.Resource

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:k8s:Keda", name, None, opts)
        # Values of kedacore/charts keda/values.yaml at v2.20.2: top-level nodeSelector and
        # tolerations apply to all three Deployments.
        self.release = chart_release(
            f"{name}-keda",
            KEDA,
            NAMESPACE,
            scheduling_values(args.system_pool),
            pulumi.ResourceOptions(parent=self, depends_on=args.system_pool_ready),
        )
        self.register_outputs({"namespace": NAMESPACE})
