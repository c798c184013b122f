"""Small accessors for assertions on plan records."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from plan.cli import main
from plan.engine import run_program, shipped_stack_files
from plan.record import PlanRecord, ResourceRecord

# Every stack file the repository ships: its two stacks and the examples.
SHIPPED_STACK_FILES = shipped_stack_files()


@functools.cache
def shipped_plan(stack_file: Path) -> PlanRecord:
    """The plan of a shipped stack file, run once per test process (each xdist worker) and shared
    by every module that reads it: read-only (deep-copy it to change it)."""
    return run_program(stack_file)


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
    """`python -m plan preview --config <stack_file>` as a user runs it: exit code, stdout, stderr.

    In this process: `python -m plan` only calls `plan.cli.main` (plan/__main__.py), and an
    exception escaping it fails the test as a traceback would fail the user; a subprocess per
    case would re-import the three cloud SDKs each time (seconds a case).
    """
    out, err = io.StringIO(), io.StringIO()
    argv = ["preview", "--config", str(stack_file)]
    # The mock engine logs the program's warnings to the root logger; a user's process has no
    # handler there, so logging's last resort prints the bare message to stderr; pytest's own
    # handlers would swallow it.
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        root.removeHandler(handler)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "plan", *argv], code, out.getvalue(), err.getvalue()
    )
