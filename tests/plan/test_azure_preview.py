"""`plan preview` on the AKS example: exit codes, AKS summaries, byte-identical reruns."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from plan.cli import EXIT_BAD_INPUT, EXIT_OK, main
from plan.engine import PROJECT_DIR, run_program

EXAMPLE = PROJECT_DIR / "examples" / "azure-aks.yaml"


@pytest.fixture(scope="module")
def preview(tmp_path_factory) -> tuple[int, str, Path]:
    record = tmp_path_factory.mktemp("preview") / "record.json"
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["preview", "--config", str(EXAMPLE), "--json", str(record)])
    return code, out.getvalue(), record


def test_preview_of_the_aks_example_shows_platform_and_workloads(preview):
    code, out, _ = preview
    assert code == EXIT_OK
    assert "azure-native:containerservice:ManagedCluster  aks  [westeurope, Standard tier, k8s 1.33;" in out
    assert "CNI overlay + cilium; API from 198.51.100.0/24" in out
    assert "[user Standard_NC4as_T4_v3, 0..4 nodes, spot <= $0.35/h, taints sku=gpu:NoSchedule" in out
    assert "[AcrPull on registries/stagingaksmodels" in out
    assert "[Storage Blob Data Reader on containers/artifacts]" in out
    assert "cronjob ml/nightly-batch" in out
    assert "/model2              -> model2  (Ingress)" in out


def test_a_second_run_gives_the_same_record(preview):
    _, _, record = preview
    assert run_program(EXAMPLE).to_json() == record.read_text()


def test_tpu_pool_on_azure_is_a_config_error(capsys, tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["config"]["mlplatform:clusters"]["aks"]["pools"]["tpu"] = {
        "kind": "tpu",
        "machineType": "ct5lp-hightpu-4t",
        "topology": "2x2",
        "min": 0,
        "max": 1,
    }
    path = tmp_path / "aks-tpu.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["preview", "--config", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(
        "error: aks-tpu.yaml: mlplatform:clusters.aks.pools.tpu.kind: TPU pools exist only on GKE"
    )
    assert "Traceback" not in err
