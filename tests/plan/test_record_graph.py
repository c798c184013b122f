"""The plan record carries what the engine orders and protects by: dependencies and options."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest

from plan.engine import ConfigError
from plan.record import PlanRecord


def _declare_chain() -> None:
    provider = k8s.Provider("cluster", kubeconfig="{}")
    opts = pulumi.ResourceOptions(provider=provider)
    namespace = k8s.core.v1.Namespace("team", metadata={"name": "team"}, opts=opts)
    account = k8s.core.v1.ServiceAccount(
        "runner",
        metadata={"name": "runner", "namespace": namespace.metadata.name},
        opts=pulumi.ResourceOptions(
            provider=provider,
            delete_before_replace=True,
            ignore_changes=["metadata.labels"],
            custom_timeouts=pulumi.CustomTimeouts(create="5m"),
        ),
    )
    k8s.core.v1.ConfigMap(
        "settings",
        metadata={"name": "settings", "namespace": "team"},
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[account], protect=True),
    )


def _by_name(record: PlanRecord) -> dict[str, object]:
    return {r.name: r for r in record.resources}


def test_dependencies_come_from_inputs_and_depends_on(run_components):
    record = run_components(_declare_chain)
    resources = _by_name(record)
    namespace, account, settings = resources["team"], resources["runner"], resources["settings"]
    assert account.dependencies == [namespace.urn]  # through metadata.namespace
    assert settings.dependencies == [account.urn]  # explicit dependsOn
    assert record.depends_on(settings.urn, namespace.urn)  # transitively
    assert record.depends_on(namespace.urn, resources["cluster"].urn)  # through its provider
    assert not record.depends_on(namespace.urn, settings.urn)


def test_options_not_at_their_default_are_recorded(run_components):
    resources = _by_name(run_components(_declare_chain))
    assert resources["runner"].options == {
        "customTimeouts": {"create": "5m"},
        "deleteBeforeReplace": True,
        "ignoreChanges": ["metadata.labels"],
    }
    assert resources["settings"].options == {"protect": True}
    # The SDK's own type aliases (old API versions of a kind) are not the program's options.
    assert resources["team"].options == {}


def test_the_record_round_trips_dependencies_and_options(run_components):
    record = run_components(_declare_chain)
    again = PlanRecord.from_json(record.to_json())
    assert [(r.dependencies, r.options) for r in again.resources] == [
        (r.dependencies, r.options) for r in record.resources
    ]


def test_two_resources_with_one_urn_are_refused_like_the_engine_does(run_components):
    def declare() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        for _ in range(2):
            k8s.core.v1.Namespace("team", opts=pulumi.ResourceOptions(provider=provider))

    with pytest.raises(
        ConfigError, match=r"two resources would have one URN.*'team' \(kubernetes:core/v1:Namespace\)"
    ):
        run_components(declare)


def test_every_resource_of_a_shipped_plan_has_its_provider_and_inputs_wired(plan_of, dev_config):
    record = plan_of(dev_config)
    urns = {r.urn for r in record.resources}
    for resource in record.resources:
        assert set(resource.dependencies) <= urns, resource.name
    node_pools = record.of_type("gcp:container/nodePool:NodePool")
    cluster = record.of_type("gcp:container/cluster:Cluster")[0]
    assert node_pools and all(record.depends_on(pool.urn, cluster.urn) for pool in node_pools)
    deployments = record.of_type("kubernetes:apps/v1:Deployment")
    assert deployments and all(record.depends_on(d.urn, cluster.urn) for d in deployments)
