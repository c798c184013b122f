"""Team identities and CI paths at the door: a form the cluster's cloud cannot put in a token, or a
CI path the cluster cannot offer, exits 2 through the CLI with one line naming the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from plan.cli import main
from plan.engine import PROJECT_DIR
from stacks import load_stack_file

DEV = PROJECT_DIR / "Pulumi.dev.yaml"
EKS = PROJECT_DIR / "examples" / "aws-eks.yaml"
AKS = PROJECT_DIR / "examples" / "azure-aks.yaml"
SSO_ROLE = "AWSReservedSSO_MLEngineers_0a1b2c3d4e5f6a7b"


def _team(document: dict[str, Any]) -> dict[str, Any]:
    return next(iter(document["config"]["mlplatform:teams"].values()))


def _cluster(document: dict[str, Any]) -> dict[str, Any]:
    return next(iter(document["config"]["mlplatform:clusters"].values()))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = _cluster(document)
        for key in parents:
            target = target.setdefault(key, {})
        target[last] = value

    return mutate


def _member(role: str, identity: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        _team(document)[role] = [identity]

    return mutate


INVALID = [
    pytest.param(
        DEV,
        _member("deployers", "ml-engineers"),
        "mlplatform:teams.ml.deployers.0: 'ml-engineers' cannot work on GKE cluster 'main': GKE puts "
        "Google group e-mails in tokens (Google Groups for RBAC)",
        id="gke-group-name",
    ),
    pytest.param(
        DEV,
        lambda d: _cluster(d)["gcp"].pop("securityGroup"),
        "mlplatform:clusters.main.gcp.securityGroup: the teams name Google groups, which reach RBAC only "
        "through Google Groups for RBAC: set securityGroup: gke-security-groups@<your domain>",
        id="gke-without-security-group",
    ),
    pytest.param(
        DEV,
        _set("gcp.securityGroup", "ml-security@acme.example"),
        "mlplatform:clusters.main.gcp.securityGroup: 'ml-security@acme.example': GKE reads "
        "group memberships only from a group named gke-security-groups@<your domain>",
        id="gke-security-group-misnamed",
    ),
    pytest.param(
        EKS,
        _member("viewers", "data-scientists"),
        "mlplatform:teams.ml.viewers.0: 'data-scientists' cannot work on EKS cluster 'main': EKS maps IAM "
        "roles to Kubernetes groups through access entries; give a role ARN",
        id="eks-group-name",
    ),
    pytest.param(
        EKS,
        _member("viewers", "arn:aws:iam::123456789012:user/alice"),
        "mlplatform:teams.ml.viewers.0: 'arn:aws:iam::123456789012:user/alice' cannot work on EKS",
        id="eks-user-arn",
    ),
    pytest.param(
        EKS,
        _member("deployers", f"arn:aws:iam::123456789012:role/{SSO_ROLE}"),
        f"mlplatform:teams.ml.deployers.0: 'arn:aws:iam::123456789012:role/{SSO_ROLE}' cannot work on EKS "
        "cluster 'main': an access entry needs an IAM Identity Center role's full ARN, with its path "
        "role/aws-reserved/sso.amazonaws.com/<region>/",
        id="eks-sso-role-without-path",
    ),
    pytest.param(
        EKS,
        _member("deployers", "arn:aws:iam::123456789012:role/platform-deployer"),
        "mlplatform:teams.ml.deployers.0: arn:aws:iam::123456789012:role/platform-deployer is cluster-admin "
        "on 'main' (aws.deployerRoleArn or adminRoleArns); EKS takes one access entry per role",
        id="eks-team-role-is-the-deployer",
    ),
    pytest.param(
        AKS,
        _member("viewers", "data-scientists@acme.example"),
        "mlplatform:teams.ml.viewers.0: 'data-scientists@acme.example' cannot work on AKS cluster 'aks': "
        "AKS puts Entra group object IDs in tokens",
        id="aks-group-e-mail",
    ),
    pytest.param(
        AKS,
        lambda d: _cluster(d)["azure"].update(deployerObjectId="ci-deployer"),
        "mlplatform:clusters.aks.azure.deployerObjectId: String should match pattern",
        id="aks-deployer-not-an-object-id",
    ),
    pytest.param(
        EKS,
        _set("ciAccess", {"mode": "dnsEndpoint"}),
        "mlplatform:clusters.main.ciAccess.mode: only GKE has an IAM-authorized DNS endpoint; on aws use "
        "selfHostedRunner or runnerCidrs",
        id="dns-endpoint-off-gke",
    ),
    pytest.param(
        DEV,
        _set("ciAccess", {"mode": "selfHostedRunner", "runnerLabels": ["linux"]}),
        "mlplatform:clusters.main.ciAccess.runnerLabels: a self-hosted runner is picked by its labels: list "
        "them, starting with self-hosted",
        id="runner-without-self-hosted-label",
    ),
    pytest.param(
        DEV,
        _set("ciAccess", {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "vpc"]}),
        "mlplatform:clusters.main.ciAccess.mode: a runner inside the VPC reaches GKE's internal endpoint: "
        "set privateEndpoint: true, or use dnsEndpoint",
        id="gke-runner-on-a-public-endpoint",
    ),
    pytest.param(
        EKS,
        _set("ciAccess", {"mode": "runnerCidrs", "runnerCidrs": {"everyone": "0.0.0.0/0"}}),
        "mlplatform:clusters.main.ciAccess.runnerCidrs: 0.0.0.0/0 opens the API endpoint to "
        "the whole internet",
        id="runner-cidr-whole-internet",
    ),
    pytest.param(
        EKS,
        _set("ciAccess", {"mode": "runnerCidrs"}),
        "mlplatform:clusters.main.ciAccess.runnerCidrs: name the runners' egress ranges",
        id="runner-cidrs-missing",
    ),
]


@pytest.mark.parametrize(("stack_file", "mutate", "message"), INVALID)
def test_bad_identity_or_ci_path_exits_2_naming_the_key(stack_file, mutate, message, write_stack, capsys):
    document = yaml.safe_load(stack_file.read_text())
    mutate(document)
    assert main(["preview", "--config", str(write_stack(document))]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_existing_cluster_takes_its_authenticators_names_as_they_are(write_stack):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    _team(document)["viewers"] = ["oidc:research", "research@lab.example"]
    stack = load_stack_file(write_stack(document))
    assert stack.rbac_subjects("dgx", "research", "viewers") == ["oidc:research", "research@lab.example"]


def test_a_stack_without_a_ci_path_is_warned_about(write_stack, capsys):
    document = yaml.safe_load(DEV.read_text())
    del _cluster(document)["ciAccess"]
    stack = load_stack_file(write_stack(document))
    assert any(w.startswith("mlplatform:clusters.main.ciAccess is not set") for w in stack.warnings)
    assert not load_stack_file(DEV).warnings


def test_one_stack_deploys_from_one_runner(write_stack, capsys):
    document = yaml.safe_load((PROJECT_DIR / "examples" / "existing-cluster.yaml").read_text())
    config = document["config"]
    for key in ("mlplatform:models", "mlplatform:jobs"):
        config.pop(key, None)
    clusters = config["mlplatform:clusters"]
    clusters["dgx"]["ciAccess"] = {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "lab"]}
    clusters["dgx2"] = {
        **clusters["dgx"],
        "ciAccess": {"mode": "selfHostedRunner", "runnerLabels": ["self-hosted", "b"]},
    }
    assert main(["preview", "--config", str(write_stack(document))]) == 2
    assert (
        "mlplatform:clusters.dgx2.ciAccess.runnerLabels: one job deploys the stack, on one runner: use the "
        "runnerLabels of cluster 'dgx' (['self-hosted', 'lab']) here too"
    ) in capsys.readouterr().err


def test_runner_cidrs_join_the_endpoints_authorized_networks():
    cluster = load_stack_file(EKS).clusters["main"]
    assert cluster.api_networks == ["203.0.113.0/24", "198.51.100.16/28"]
