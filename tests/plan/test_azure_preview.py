"""`plan preview` on the AKS example: exit codes and the AKS summaries (its full plan is
pinned by the snapshot in tests/snapshots/azure-aks.json)."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import pytest
import yaml

import plan.describe_azure  # noqa: F401  (registers the AKS summaries)
from plan.cli import EXIT_BAD_INPUT, EXIT_OK, main
from plan.engine import PROJECT_DIR
from plan.preview import DESCRIBERS

EXAMPLE = PROJECT_DIR / "examples" / "azure-aks.yaml"


@pytest.fixture(scope="module")
def preview() -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["preview", "--config", str(EXAMPLE)])
    return code, out.getvalue()


def test_preview_of_the_aks_example_shows_platform_and_workloads(preview):
    code, out = preview
    assert code == EXIT_OK
    assert "azure-native:containerservice:ManagedCluster  aks  [westeurope, Standard tier, k8s 1.35;" in out
    assert "CNI overlay + cilium; API from 198.51.100.0/24" in out
    assert "[user Standard_NC4as_T4_v3, 0..4 nodes, spot <= $0.35/h, taints sku=gpu:NoSchedule" in out
    assert "[AcrPull on registries/stagingaksmodels" in out
    assert "[Storage Blob Data Reader on containers/artifacts]" in out
    assert "cronjob ml/nightly-batch" in out
    assert "/model1              -> model1 90% + model1-candidate 10%  (Gateway API)" in out
    assert (
        "azure-native:network:Subnet  aks-gateway-subnet  "
        "[10.60.8.0/24, delegated to Microsoft.ServiceNetworking/trafficControllers]"
    ) in out
    assert "[Application Gateway for Containers in subnet aks-gateway-subnet" in out
    assert "[AppGw for Containers Configuration Manager on resourceGroups/aks-rg" in out
    assert "azure-native:network:Subnet  aks-vnet-nodes  [10.60.0.0/21, egress via NAT gateway]" in out
    assert re.search(
        r"azure-native:network:FlowLog  aks-flow-logs  \[flows of aks-vnet\w+, kept 90 days, "
        r"under NetworkWatcher_westeurope\]",
        out,
    )


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


def test_a_long_term_support_cluster_says_so_in_the_preview():
    summary = DESCRIBERS["azure-native:containerservice:ManagedCluster"](
        {
            "location": "westeurope",
            "sku": {"tier": "Premium"},
            "kubernetesVersion": "1.34",
            "supportPlan": "AKSLongTermSupport",
        }
    )
    assert summary.startswith("westeurope, Premium tier, k8s 1.34 (long-term support);")
