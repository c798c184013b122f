"""Scale benchmark: `plan preview` of one GKE cluster with N models and N/10 CronJobs.

For each N (default 10, 100, 1000) it writes a realistic stack file (the dev stack's cluster,
one team, N models over the CPU and GPU pools, each with its own route, some split between
variants, N/10 CronJobs), runs `python -m plan preview --config FILE` as a separate process and
measures its wall time, CPU time and peak RSS. In the same run, and just as a separate process,
it measures `benchmarks/bare_program.py`, a bare mock-runtime program declaring the same number
of plain resources: the ratio says how much the project adds to what the Pulumi SDK costs anyway.
The bare program runs once more under the engine's runtime settings (plan/tuning.py), which
shows how much of the engine's speed those settings alone would give any program.

    python benchmarks/scale.py [--sizes 10,100,1000] [--repeat 1] [--keep DIR]

Figures come from here, never from a timed test. With --repeat R each figure is the fastest
of R runs (peak RSS: the largest), which filters out other load on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEV_STACK = PROJECT_DIR / "Pulumi.dev.yaml"
BARE_PROGRAM = "benchmarks.bare_program"
RESOURCES_LINE = re.compile(r"^Resources: (\d+) to create$", re.MULTILINE)

TEAM = "ml"
CPU_POOL = "system"
GPU_POOL = "gpu-t4"


def generate_stack(models: int) -> dict[str, Any]:
    """A stack document: the dev stack's GKE cluster, `models` models and models/10 CronJobs.

    Environment, ownership, budget and cluster are the dev stack's, so the dev policies apply
    and the plan passes them: the benchmark measures a clean preview, not a wall of verdicts.
    """
    dev = yaml.safe_load(DEV_STACK.read_text())["config"]
    generated = {f"model-{i:04d}": _model(i) for i in range(models)}
    # Every GPU replica at minimum scale (each variant runs at least one) must fit the team's
    # quota and the GPU pool at its max, or the config refuses the stack, as the cluster would.
    gpu_replicas = sum(1 + len(m.get("variants", {})) for m in generated.values() if m["pool"] == GPU_POOL)
    cluster = copy.deepcopy(dev["mlplatform:clusters"]["main"])
    gpu_pool = cluster["pools"][GPU_POOL]
    gpu_pool["max"] = max(gpu_pool["max"], gpu_replicas)
    return {
        "config": {
            "pulumi:disable-default-providers": ["*"],
            "mlplatform:environment": dev["mlplatform:environment"],
            "mlplatform:ownership": dev["mlplatform:ownership"],
            "mlplatform:budget": dev["mlplatform:budget"],
            "mlplatform:clusters": {"main": cluster},
            "mlplatform:teams": {
                TEAM: {
                    "deployers": ["ml-engineers@acme.example"],
                    "viewers": ["data-scientists@acme.example"],
                    "quota": {
                        "cpu": str(max(32, 4 * models)),
                        "memory": f"{max(128, 16 * models)}Gi",
                        "gpu": max(2, gpu_replicas),
                        "pods": max(100, 20 * models),
                    },
                }
            },
            "mlplatform:models": generated,
            "mlplatform:jobs": {f"batch-{j:03d}": _cronjob(j) for j in range(models // 10)},
        }
    }


def _model(i: int) -> dict[str, Any]:
    """Every 4th model serves on a T4 (half of those scale on GPU utilisation); every 5th is
    split between variants (90/10, or 80/10/10); every model has its own route and reads
    the artifacts bucket."""
    model: dict[str, Any] = {
        "image": {"repository": f"serving/model-{i % 50:02d}", "tag": f"1.{i % 7}.{i % 3}"},
        "route": {"path": f"/models/{i:04d}"},
        "buckets": {"artifacts": "read"},
    }
    if i % 4 == 3:
        autoscale: dict[str, Any] = {"min": 1, "max": 2, "cpu": 80}
        if i % 8 == 7:
            autoscale = {"min": 1, "max": 2, "gpuUtil": 70}
        model.update(
            pool=GPU_POOL,
            resources={"cpu": "2", "memory": "8Gi", "gpu": 1},
            autoscale=autoscale,
        )
    else:
        model.update(
            pool=CPU_POOL,
            resources={"cpu": "500m", "memory": "1Gi"},
            autoscale={"min": 1, "max": 10, "cpu": 50, **({"memory": 80} if i % 3 == 0 else {})},
        )
    if i % 10 == 0:
        model["weight"] = 90
        model["variants"] = {"candidate": {"image": {"tag": "2.0.0"}, "weight": 10}}
    elif i % 10 == 5:
        model["weight"] = 80
        model["variants"] = {
            "candidate": {"image": {"tag": "2.0.0"}, "weight": 10},
            "canary": {"image": {"tag": "2.1.0-rc1"}, "weight": 10, "autoscale": {"max": 2, "cpu": 50}},
        }
    return model


def _cronjob(j: int) -> dict[str, Any]:
    return {
        "image": {"repository": "batch-scoring", "tag": "2.3.0"},
        "pool": CPU_POOL,
        "schedule": f"{j % 60} {j % 24} * * *",
        "timeZone": "Europe/Berlin",
        "resources": {"cpu": "1", "memory": "2Gi"},
        "args": ["--shard", str(j)],
        "buckets": {"datasets": "read", "artifacts": "write"},
    }


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float
    resources: int


def measure(argv: list[str], workdir: Path) -> Run:
    """Run `argv` to completion; its output goes to files (a pipe could fill up and block)."""
    stdout_path, stderr_path = workdir / "stdout.txt", workdir / "stderr.txt"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=PROJECT_DIR, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    output = stdout_path.read_text()
    counted = RESOURCES_LINE.search(output)
    if process.returncode != 0 or counted is None:
        raise SystemExit(
            f"{' '.join(argv)} failed (exit {process.returncode}):\n{stderr_path.read_text()[-2000:]}"
        )
    # Linux reports ru_maxrss in KiB.
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, int(counted.group(1)))


def best(runs: list[Run]) -> Run:
    return Run(
        wall=min(r.wall for r in runs),
        cpu=min(r.cpu for r in runs),
        peak_rss_mib=max(r.peak_rss_mib for r in runs),
        resources=runs[0].resources,
    )


@dataclass(frozen=True)
class Row:
    label: str
    project: Run
    bare: Run
    tuned_bare: Run


def bench(label: str, stack_file: Path, repeat: int, workdir: Path) -> Row:
    preview = [sys.executable, "-m", "plan", "preview", "--config", str(stack_file)]
    runs: dict[str, list[Run]] = {"project": [], "bare": [], "tuned": []}
    for attempt in range(repeat):
        _status(f"{label}: plan preview (run {attempt + 1}/{repeat})")
        runs["project"].append(measure(preview, workdir))
        bare = [sys.executable, "-m", BARE_PROGRAM, str(runs["project"][-1].resources)]
        _status(f"{label}: bare program, stock and tuned (run {attempt + 1}/{repeat})")
        runs["bare"].append(measure(bare, workdir))
        runs["tuned"].append(measure([*bare, "--tuned"], workdir))
    return Row(label, best(runs["project"]), best(runs["bare"]), best(runs["tuned"]))


def _status(message: str) -> None:
    """What is being measured, on a terminal only (the table is the output)."""
    if sys.stderr.isatty():
        print(f"  {message}", file=sys.stderr, flush=True)


def table(rows: list[Row]) -> str:
    header = (
        "| stack | resources | wall (s) | CPU (s) | peak RSS (MiB) | bare wall (s) | bare RSS (MiB) "
        "| wall ratio | tuned bare wall (s) | ratio to tuned |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        p, b, t = row.project, row.bare, row.tuned_bare
        lines.append(
            f"| {row.label} | {p.resources} | {p.wall:.2f} | {p.cpu:.2f} | {p.peak_rss_mib:.0f} "
            f"| {b.wall:.2f} | {b.peak_rss_mib:.0f} | {p.wall / b.wall:.2f} "
            f"| {t.wall:.2f} | {p.wall / t.wall:.2f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split()[1])
        memory = f", {total_kib / 1024 / 1024:.1f} GiB RAM"
    load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}{load}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated model counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest counts")
    parser.add_argument("--no-dev", action="store_true", help="skip the dev stack row")
    parser.add_argument("--keep", metavar="DIR", help="write the generated stack files here and keep them")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 10,100,1000")
    if args.repeat < 1 or any(size < 1 for size in args.sizes):
        parser.error("--repeat and every size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlplatform-bench-") as scratch:
        stacks_dir = Path(args.keep) if args.keep else Path(scratch)
        stacks_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        if not args.no_dev:
            rows.append(bench("dev stack", DEV_STACK, args.repeat, Path(scratch)))
        for size in args.sizes:
            stack_file = stacks_dir / f"Pulumi.bench-{size}.yaml"
            stack_file.write_text(yaml.safe_dump(generate_stack(size), sort_keys=False))
            jobs = size // 10
            label = f"{size} models, {jobs} CronJob{'' if jobs == 1 else 's'}"
            rows.append(bench(label, stack_file, args.repeat, Path(scratch)))
    print(table(rows))
    print(f"\nMachine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
