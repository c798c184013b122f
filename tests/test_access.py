"""Access that works, on every shipped stack and example: each RoleBinding subject is put in
tokens by a cloud-side mapping the plan record shows, and each team can fetch credentials.

- GKE: the cluster's Google Groups for RBAC security group is set, every subject is a group
  e-mail, and each group holds roles/container.clusterViewer on the project.
- EKS: an access entry whose kubernetesGroups include the subject maps a team role to it, and
  the stack exports the eks:DescribeCluster policy of that cluster for the team roles.
- AKS: every subject is an Entra group object ID with the Cluster User role on the cluster.
- existing: subjects are the cluster authenticator's names, taken as configured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.azure.roles import AKS_CLUSTER_USER
from components.gcp.access import CREDENTIALS_ROLE
from plan.record import PlanRecord, ResourceRecord
from stacks import access, load_stack_file
from stacks.config import StackConfig
from tests.helpers import SHIPPED_STACK_FILES, one, shipped_plan

ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


def bindings_by_cluster(record: PlanRecord) -> dict[str, list[ResourceRecord]]:
    """RoleBindings by the cluster whose provider (`<cluster>-k8s`) declares them."""
    found: dict[str, list[ResourceRecord]] = {}
    for binding in record.of_type(ROLE_BINDING):
        assert binding.provider is not None
        cluster = binding.provider.rsplit("::", 1)[-1].removesuffix("-k8s")
        found.setdefault(cluster, []).append(binding)
    return found


def subjects(binding: ResourceRecord) -> list[str]:
    assert all(s["kind"] == "Group" for s in binding.inputs["subjects"])
    return [s["name"] for s in binding.inputs["subjects"]]


def assert_gke_grants(record: PlanRecord, stack: StackConfig, cluster: str, names: set[str]) -> None:
    settings = stack.clusters[cluster].gcp
    assert settings is not None and settings.security_group
    gke = one(record, "gcp:container/cluster:Cluster", cluster).inputs
    assert gke["authenticatorGroupsConfig"] == {"securityGroup": settings.security_group}
    viewers = {
        r.inputs["member"]
        for r in record.of_type("gcp:projects/iAMMember:IAMMember")
        if r.inputs["role"] == CREDENTIALS_ROLE and r.inputs["project"] == settings.project
    }
    for name in names:
        assert access.GROUP_EMAIL.fullmatch(name), name
        assert f"group:{name}" in viewers, name


def assert_eks_grants(record: PlanRecord, stack: StackConfig, cluster: str, names: set[str]) -> None:
    eks = one(record, "aws:eks/cluster:Cluster", cluster)
    entries = [
        r for r in record.of_type("aws:eks/accessEntry:AccessEntry") if r.name.startswith(f"{cluster}-team")
    ]
    team_roles = set(stack.eks_team_groups(cluster))
    assert {e.inputs["principalArn"] for e in entries} == team_roles
    for name in names:
        mapped = [e for e in entries if name in e.inputs.get("kubernetesGroups", [])]
        assert mapped, f"no access entry puts {name} in a token"
        assert all(
            e.inputs["clusterName"] == eks.inputs["name"] and e.inputs["type"] == "STANDARD" for e in mapped
        )
    # Fetching credentials: the policy allows DescribeCluster on this cluster alone, and the stack
    # exports it for the team roles' owners (or permission sets) to attach.
    [policy] = [
        r for r in record.of_type("aws:iam/policy:Policy") if r.name == f"{cluster}-team-access-credentials"
    ]
    statement = json.loads(policy.inputs["policy"])["Statement"]
    assert statement == [
        {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": statement[0]["Resource"]}
    ]
    assert statement[0]["Resource"].endswith(f":cluster/{eks.inputs['name']}")
    assert record.outputs[cluster]["credentialsPolicyArn"].endswith(f":policy/{policy.inputs['name']}")


def assert_aks_grants(record: PlanRecord, stack: StackConfig, cluster: str, names: set[str]) -> None:
    aks = one(record, "azure-native:containerservice:ManagedCluster", cluster)
    users = {
        r.inputs["principalId"]
        for r in record.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(AKS_CLUSTER_USER) and r.inputs["scope"] == aks.id
    }
    for name in names:
        assert access.GUID.fullmatch(name), name
        assert name in users, name


GRANTS = {"gcp": assert_gke_grants, "aws": assert_eks_grants, "azure": assert_aks_grants}


@pytest.mark.parametrize("stack_file", SHIPPED_STACK_FILES, ids=lambda p: p.name)
def test_every_role_binding_subject_is_granted_by_the_cloud(stack_file: Path):
    stack = load_stack_file(stack_file)
    record = shipped_plan(stack_file)
    by_cluster = bindings_by_cluster(record)
    assert by_cluster, "every shipped stack binds team groups"
    for cluster, bindings in by_cluster.items():
        names = {name for binding in bindings for name in subjects(binding)}
        assert names
        cloud = stack.clusters[cluster].cloud
        if cloud == "existing":
            # Free-form: exactly what the config names, as the cluster's authenticator does.
            assert names == set(stack.team_subjects_on(cluster))
        else:
            GRANTS[cloud](record, stack, cluster, names)


def test_eks_bindings_name_the_access_entry_groups_not_the_role_arns(eks):
    bindings = {r.name: subjects(r) for r in eks.record.of_type(ROLE_BINDING)}
    assert bindings == {
        "main-ml-deployers": ["mlplatform:ml:deployers"],
        "main-ml-viewers": ["mlplatform:ml:viewers"],
    }
    entries = {
        r.inputs["principalArn"]: r.inputs.get("kubernetesGroups")
        for r in eks.record.of_type("aws:eks/accessEntry:AccessEntry")
    }
    # The SSO role keeps its path; the admins get no team groups (their policy makes them admin).
    sso = (
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
        "AWSReservedSSO_MLEngineers_0a1b2c3d4e5f6a7b"
    )
    assert entries[sso] == ["mlplatform:ml:deployers"]
    assert entries["arn:aws:iam::123456789012:role/data-scientists"] == ["mlplatform:ml:viewers"]
    assert entries["arn:aws:iam::123456789012:role/platform-deployer"] is None
