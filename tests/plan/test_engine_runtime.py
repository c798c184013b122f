"""A run's runtime settings (event loop, GC, stack capture) are its own: restored afterwards,
whether the program succeeds or fails, and a run works from any thread."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest
from pulumi.runtime import resource as runtime_resource

from plan.engine import PROJECT_DIR, ProgramError, run_program
from plan.tuning import RUN_GC_THRESHOLDS


def _settings():
    return (
        asyncio.get_event_loop_policy().get_event_loop(),
        gc.get_threshold(),
        runtime_resource._get_stack_trace,
    )


def test_a_run_is_tuned_while_it_runs_and_restores_everything_after(run_components):
    before = _settings()
    seen = {}

    def declare():
        seen["gc"] = gc.get_threshold()
        seen["loop"] = asyncio.get_event_loop()

    run_components(declare)
    assert seen["gc"] == RUN_GC_THRESHOLDS
    assert seen["loop"] is not before[0] and seen["loop"].is_closed()
    assert _settings() == before

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(ProgramError, match="boom"):
        run_components(broken)
    assert _settings() == before


def test_a_run_from_a_worker_thread_gives_the_same_record(dev_plan):
    records = []
    worker = threading.Thread(target=lambda: records.append(run_program(PROJECT_DIR / "Pulumi.dev.yaml")))
    worker.start()
    worker.join()
    assert records and records[0].to_json() == dev_plan.to_json()
