"""The scale benchmark's parts: realistic generated stacks, the bare yardstick, the measurements.

The figures themselves come from `make bench`, never from a test.
"""

from __future__ import annotations

import sys

import pytest
import yaml

from benchmarks import bare_program
from benchmarks.scale import CPU_POOL, DEV_STACK, GPU_POOL, Row, Run, generate_stack, measure, table
from stacks.loading import validate_stack_config


def test_generated_stack_is_a_valid_dev_cluster_with_models_routes_splits_and_cronjobs():
    config = generate_stack(40)["config"]
    stack = validate_stack_config(config, "Pulumi.bench-40.yaml")
    dev = yaml.safe_load(DEV_STACK.read_text())["config"]
    cluster = dev["mlplatform:clusters"]["main"]
    gpu_replicas = sum(1 + len(m.variants) for m in stack.models.values() if m.pool == GPU_POOL)
    # The dev cluster, with a GPU pool large enough for every GPU replica at minimum scale.
    cluster["pools"][GPU_POOL]["max"] = max(cluster["pools"][GPU_POOL]["max"], gpu_replicas)
    assert config["mlplatform:clusters"] == {"main": cluster}
    assert stack.teams[next(iter(stack.teams))].quota.gpu == gpu_replicas
    assert stack.environment == "dev"
    assert len(stack.models) == 40 and len(stack.teams) == 1
    assert {m.pool for m in stack.models.values()} == {CPU_POOL, GPU_POOL}
    assert len({m.route.path for m in stack.models.values() if m.route}) == 40
    split = [m for m in stack.models.values() if m.variants]
    assert split and all(m.primary_weight + sum(v.weight for v in m.variants.values()) == 100 for m in split)
    assert any(m.autoscale.gpu_util for m in stack.models.values())
    assert len(stack.jobs) == 4 and all(job.schedule for job in stack.jobs.values())


def test_measure_reports_the_child_resources_time_and_peak_memory(tmp_path):
    child = "x = bytearray(64 * 2**20); x[::4096] = b'1' * len(x[::4096]); print('Resources: 7 to create')"
    run = measure([sys.executable, "-c", child], tmp_path)
    assert run.resources == 7
    assert run.peak_rss_mib >= 64
    assert run.wall > 0 and run.cpu > 0


def test_measure_stops_on_a_failed_child(tmp_path):
    with pytest.raises(SystemExit, match="boom"):
        measure([sys.executable, "-c", "import sys; sys.exit('boom')"], tmp_path)


def test_bare_program_declares_exactly_count_plain_resources(monkeypatch, capsys):
    declared = []
    echo = bare_program.EchoMocks.new_resource

    def counting(self, args):
        declared.append(args.typ)
        return echo(self, args)

    monkeypatch.setattr(bare_program.EchoMocks, "new_resource", counting)
    assert bare_program.main(["bare_program.py", "25"]) == 0
    assert bare_program.main(["bare_program.py", "5", "--tuned"]) == 0
    assert declared == ["test:index:Thing"] * 30
    assert capsys.readouterr().out == "Resources: 25 to create\nResources: 5 to create\n"


def test_table_puts_project_and_bare_side_by_side_with_ratios():
    row = Row(
        "100 models",
        project=Run(3.0, 2.5, 220.4, 1365),
        bare=Run(1.5, 1.25, 97.0, 1365),
        tuned_bare=Run(0.75, 0.7, 96.0, 1365),
    )
    lines = table([row]).splitlines()
    assert lines[0].startswith("| stack | resources | wall (s)")
    assert lines[1] == "|---|---|---|---|---|---|---|---|---|---|"
    assert lines[2] == "| 100 models | 1365 | 3.00 | 2.50 | 220 | 1.50 | 97 | 2.00 | 0.75 | 4.00 |"
