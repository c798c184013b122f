"""The critical path of a first deploy: the longest chain of waits, weighted by create times."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from plan.critical_path import create_seconds, critical_path, render_critical_path


def test_the_path_follows_the_slowest_chain_of_waits(run_components):
    def declare() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        opts = pulumi.ResourceOptions(provider=provider)
        namespace = k8s.core.v1.Namespace("team", metadata={"name": "team"}, opts=opts)
        deployment = k8s.apps.v1.Deployment(
            "server",
            metadata={"namespace": namespace.metadata.name},
            spec={
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a"}}},
            },
            opts=opts,
        )
        k8s.core.v1.Service(
            "server",
            metadata={"namespace": "team"},
            opts=opts.merge(pulumi.ResourceOptions(depends_on=[deployment])),
        )
        k8s.core.v1.ConfigMap("unrelated", metadata={"namespace": "team"}, opts=opts)

    path = critical_path(run_components(declare))
    assert [(r.name, seconds) for r, seconds in path.steps] == [("team", 2), ("server", 90), ("server", 2)]
    assert path.seconds == 94


def test_shipped_stacks_show_the_cluster_on_their_critical_path(plan_of, dev_config):
    record = plan_of(dev_config)
    path = critical_path(record)
    types = [resource.type for resource, _ in path.steps]
    assert "gcp:container/cluster:Cluster" in types
    assert path.seconds == sum(seconds for _, seconds in path.steps)
    assert render_critical_path(record).startswith(f"Critical path: about {path.seconds / 60:.1f} min")


def test_every_declared_type_has_a_create_time(plan_of, dev_config):
    record = plan_of(dev_config)
    assert all(create_seconds(r) >= 0 for r in record.resources)
    assert create_seconds(record.of_type("gcp:container/cluster:Cluster")[0]) == 480
