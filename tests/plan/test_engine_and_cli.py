"""The offline engine and its command line: determinism, records, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from plan.cli import main
from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord
from tests.helpers import preview_cli


def test_two_runs_give_byte_identical_records(dev_plan):
    again = run_program(PROJECT_DIR / "Pulumi.dev.yaml")
    assert again.to_json() == dev_plan.to_json()


def test_record_round_trips_and_keeps_parents_and_providers(dev_plan, tmp_path):
    path = tmp_path / "dev.json"
    dev_plan.write(path)
    loaded = PlanRecord.read(path)
    assert loaded.to_json() == dev_plan.to_json()
    pool = next(r for r in loaded.resources if r.name == "main-gpu-t4" and r.custom)
    assert pool.parent.endswith("mlplatform:gcp:NodePool::main-gpu-t4")
    assert pool.provider.endswith("pulumi:providers:gcp::main-gcp")
    kubeconfig = next(r for r in loaded.resources if r.type == "pulumi:providers:kubernetes").inputs[
        "kubeconfig"
    ]
    assert kubeconfig == "<secret>"


def test_preview_prints_tree_counts_and_workloads(capsys):
    assert main(["preview", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "gcp:container/cluster:Cluster  main" in out
    assert "main-gpu-t4  [n1-standard-8, 0..3 nodes, 1x nvidia-tesla-t4, spot]" in out
    assert "Resources: " in out and "gcp:container/nodePool:NodePool" in out
    assert "model   ml/model2" in out and "pool gpu-t4" in out
    assert "/model1              -> model1 90% + model1-candidate 10%" in out


def test_preview_json_records_the_prod_platform(tmp_path, capsys):
    out = tmp_path / "prod.json"
    assert main(["preview", "--stack", "prod", "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    types = [r["type"] for r in document["resources"]]
    assert types.count("gcp:container/nodePool:NodePool") == 3
    for token in (
        "gcp:container/cluster:Cluster",
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/routerNat:RouterNat",
        "gcp:artifactregistry/repository:Repository",
        "gcp:storage/bucket:Bucket",
    ):
        assert token in types


def test_render_writes_one_manifest_per_object_and_a_release_summary(tmp_path, capsys):
    out = tmp_path / "manifests"
    assert main(["render", "--stack", "prod", "--out", str(out)]) == 0
    deployment = yaml.safe_load((out / "main" / "ml" / "deployment-llm.yaml").read_text())
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    # Beside the directory, not in it: `kubectl apply -R -f DIR` reads every .yaml/.json below DIR.
    releases = yaml.safe_load((tmp_path / "manifests.helm-releases.yaml").read_text())["releases"]
    assert {"dcgm-exporter", "prometheus", "keda"} <= {r["chart"] for r in releases}
    assert (out / "main" / "_cluster" / "namespace-ml.yaml").exists()
    for path in out.rglob("*"):
        if path.suffix in (".yaml", ".yml", ".json"):
            document = yaml.safe_load(path.read_text())
            assert {"apiVersion", "kind", "metadata"} <= set(document), path


def test_render_removes_the_files_of_deleted_workloads_only(tmp_path, dev_config, write_stack):
    out = tmp_path / "manifests"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "mine.yaml").write_text("kind: ConfigMap\n")  # the user's, never rendered
    assert main(["render", "--config", str(write_stack(dev_config)), "--out", str(out)]) == 0
    model1 = sorted(p.relative_to(out) for p in out.rglob("*-model1*.yaml"))
    assert model1

    del dev_config["config"]["mlplatform:models"]["model1"]
    assert main(["render", "--config", str(write_stack(dev_config)), "--out", str(out)]) == 0
    assert not [p for p in model1 if (out / p).exists()]
    assert (out / "notes" / "mine.yaml").read_text() == "kind: ConfigMap\n"
    listed = (out / ".mlplatform-rendered").read_text().split()
    assert listed and all((out / p).is_file() for p in listed)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml") if p.parent.name != "notes") == sorted(
        listed
    )


def _bad_stack(tmp_path, mutate) -> Path:
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    mutate(document["config"]["mlplatform:clusters"]["main"])
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _to_aws_with_tpu(cluster):
    del cluster["gcp"]
    cluster.update(
        cloud="aws",
        aws={
            "accountId": "123456789012",
            "region": "eu-west-1",
            "availabilityZoneIds": ["euw1-az1", "euw1-az2"],
            "deployerRoleArn": "arn:aws:iam::123456789012:role/deployer",
        },
    )
    cluster["pools"]["tpu"] = {
        "kind": "tpu",
        "machineType": "ct5lp-hightpu-4t",
        "topology": "2x2",
        "min": 0,
        "max": 1,
    }


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["pools"]["system"].update(minSize=1), "mlplatform:clusters.main.pools.system.minSize"),
        (lambda c: c["pools"]["system"].update(min=4), "mlplatform:clusters.main.pools.system.max"),
        (_to_aws_with_tpu, "mlplatform:clusters.main.pools.tpu.kind"),
    ],
    ids=["misspelt-key", "min-above-max", "tpu-not-on-gcp"],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, mutate, key):
    # In-process (tests/helpers.py); tests/stacks/test_versions.py runs `python -m plan` itself.
    result = preview_cli(_bad_stack(tmp_path, mutate))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: Pulumi.bad.yaml: " + key)
    assert "Traceback" not in result.stderr


def test_unknown_stack_and_missing_file_are_bad_input(capsys):
    assert main(["preview", "--stack", "staging"]) == 2
    assert "no stack 'staging'" in capsys.readouterr().err
    assert main(["preview", "--config", "does/not/exist.yaml"]) == 2


def test_program_failure_exits_3_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("stacks.platform.build_workloads", broken)
    assert main(["preview", "--stack", "dev"]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "Traceback" not in err
    assert main(["--debug", "preview", "--stack", "dev"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_preview_shows_an_alb_weighted_split_as_shares(capsys):
    assert main(["preview", "--config", str(PROJECT_DIR / "examples" / "aws-eks.yaml")]) == 0
    assert (
        "/sentiment           -> sentiment 90% + sentiment-candidate 10%  (Ingress)"
        in capsys.readouterr().out
    )
