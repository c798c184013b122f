"""End to end: every shipped stack and example plans exactly as its reviewed snapshot.

A change to what a stack declares shows up here as a snapshot diff; after reviewing it,
refresh with `make snapshots` (UPDATE_SNAPSHOTS=1 python -m pytest tests/test_stacks.py).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.helpers import SHIPPED_STACK_FILES, shipped_plan

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("stack_file", SHIPPED_STACK_FILES, ids=lambda p: p.name)
def test_stack_plan_matches_snapshot(stack_file):
    actual = shipped_plan(stack_file).to_json()
    snapshot = SNAPSHOTS / f"{stack_file.stem}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(actual)
    if not snapshot.exists():
        pytest.fail(f"no snapshot for {stack_file.name}: review the plan, then run `make snapshots`")
    expected = snapshot.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "snapshot", "plan", n=2)
        )
        pytest.fail(f"{stack_file.name} plans differently from its snapshot:\n{diff[:6000]}")
