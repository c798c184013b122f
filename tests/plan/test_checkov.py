"""`plan policy --scanner checkov`: the plan record as a Terraform plan (AWS, Google Cloud) and an
ARM template (Azure) that checkov's own cloud checks read, and the scan through the CLI."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from plan.checkov import CHECKOV, arm_template, terraform_plan
from plan.cli import main
from plan.engine import PROJECT_DIR
from plan.record import PlanRecord
from tests.helpers import one

SNAPSHOTS = PROJECT_DIR / "tests" / "snapshots"


@pytest.fixture(scope="module")
def eks_record() -> PlanRecord:
    return PlanRecord.read(SNAPSHOTS / "aws-eks.json")


def _planned(plan: dict, address: str) -> dict:
    (found,) = [r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address]
    return found


def _references(plan: dict, address: str) -> dict:
    (found,) = [r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address]
    return {key: expression["references"] for key, expression in found["expressions"].items()}


def test_aws_resources_become_terraform_arguments_with_blocks_as_lists(eks_record):
    plan, left_out = terraform_plan(eks_record)
    cluster = _planned(plan, "aws_eks_cluster.main")["values"]
    assert cluster["encryption_config"][0]["resources"] == ["secrets"]
    assert cluster["vpc_config"][0]["endpoint_private_access"] is True
    assert cluster["enabled_cluster_log_types"] == ["api", "audit", "authenticator"]
    assert isinstance(_planned(plan, "aws_vpc.main-vpc")["values"]["tags"], dict)  # a map, not a block
    assert left_out > 0 and plan["terraform_version"]


def test_ids_become_references_to_the_resource_that_owns_them(eks_record):
    plan, _ = terraform_plan(eks_record)
    assert _references(plan, "aws_flow_log.main-vpc-flow-logs") == {
        "vpc_id": ["aws_vpc.main-vpc.id", "aws_vpc.main-vpc"]
    }
    # The bucket's companions report its name as their id too: the bucket is the one referred to.
    assert _references(plan, "aws_s3_bucket_public_access_block.main-artifacts")["bucket"][1] == (
        "aws_s3_bucket.main-artifacts"
    )


def test_azure_resources_become_arm_resources_with_arm_property_names():
    template, _ = arm_template(PlanRecord.read(SNAPSHOTS / "azure-aks.json"))
    (account,) = [
        r
        for r in template["resources"]
        if r["type"] == "Microsoft.Storage/storageAccounts" and r["name"].startswith("stagingaks3")
    ]
    assert account["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert account["properties"]["supportsHttpsTrafficOnly"] is True
    assert "location" in account and "location" not in account["properties"]
    assert account["name"] != "aks-storage"  # the physical account name


def test_checkov_sees_the_vpc_flow_logs_and_misses_them_on_a_vpc_without(eks_record, tmp_path, capsys):
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make test` (it bootstraps .venv-checkov)")
    # One scan (checkov's start-up is most of its run): the EKS record plus a copy of its VPC that no
    # flow log refers to; only the copy may fail the flow-log check.
    record = copy.deepcopy(eks_record)
    vpc = one(record, "aws:ec2/vpc:Vpc", "main-vpc")
    record.resources.append(
        dataclasses.replace(vpc, urn=f"{vpc.urn}-unlogged", name="unlogged-vpc", id=f"{vpc.id}-unlogged")
    )
    path = tmp_path / "unlogged-vpc.json"
    record.write(path)
    assert main(["policy", "--record", str(path), "--scanner", "checkov"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("checkov: ") and " passed, " in out
    assert "FAILED CKV2_AWS_11  aws_vpc.unlogged-vpc" in out
    assert "CKV2_AWS_11  aws_vpc.main-vpc" not in out and "CKV_AWS_58" not in out  # EKS secrets encryption


def test_checkov_holds_the_vnet_flow_log_to_90_days_of_retention(tmp_path, capsys):
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make test` (it bootstraps .venv-checkov)")
    record = PlanRecord.read(SNAPSHOTS / "azure-aks.json")
    (flow_log,) = record.of_type("azure-native:network:FlowLog")
    template, _ = arm_template(record)
    (converted,) = [
        r for r in template["resources"] if r["type"] == "Microsoft.Network/networkWatchers/flowLogs"
    ]
    assert converted["properties"]["retentionPolicy"] == {"enabled": True, "days": 90}
    # One scan (checkov is slow): the shipped flow log beside a copy kept 30 days.
    short = copy.deepcopy(flow_log)
    short.urn, short.name = f"{flow_log.urn}-short", f"{flow_log.name}-short"
    short.inputs["retentionPolicy"]["days"] = 30
    record.resources.append(short)
    path = tmp_path / "short-retention.json"
    record.write(path)
    assert main(["policy", "--record", str(path), "--scanner", "checkov"]) == 1
    failed = [line for line in capsys.readouterr().out.splitlines() if "CKV_AZURE_12" in line]
    assert failed == [
        "  FAILED CKV_AZURE_12  Microsoft.Network/networkWatchers/flowLogs.aks-flow-logs-short: "
        "Ensure that Network Security Group Flow Log retention period is 'greater than 90 days'"
    ]
