"""Small accessors for assertions on plan records."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from plan.engine import PROJECT_DIR
from plan.record import PlanRecord, ResourceRecord


def one(record: PlanRecord, type_token: str, name: str | None = None) -> ResourceRecord:
    matches = [r for r in record.of_type(type_token) if name is None or r.name == name]
    assert len(matches) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in matches]}"
    return matches[0]


def dig(value: Any, path: str) -> Any:
    """dig(inputs, "nodeConfig.guestAccelerators.0.type")"""
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def multi_host_tpu(document: dict[str, Any]) -> dict[str, Any]:
    """The prod stack with its TPU pool as a 4x4 v5e slice: 4 hosts of 4 chips, one unit."""
    pool = document["config"]["mlplatform:clusters"]["main"]["pools"]["tpu-v5e"]
    pool.update(topology="4x4", min=0, max=4)
    return document


def preview_cli(stack_file: Path) -> subprocess.CompletedProcess:
    """`python -m plan preview --config <stack_file>` as a user runs it (exit code, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "plan", "preview", "--config", str(stack_file)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
