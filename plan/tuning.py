"""Runtime settings that make a mock-runtime run cheaper without changing what it declares.

Both undo costs the Pulumi SDK pays per resource for the benefit of a real engine or of a
long-lived process, which an offline run of one program does not need. The engine runs every
program under them; the scale benchmark also measures its bare yardstick program under them,
to show how much of the engine's speed comes from here.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.proto import source_pb2

# Cyclic-GC thresholds during a run (CPython's defaults: 700, 10, 10); see `_fewer_collections`.
RUN_GC_THRESHOLDS = (2_000, 1_000_000, 1_000_000)


@contextmanager
def tuned_runtime() -> Iterator[None]:
    """No per-resource stack capture and no rescans of old objects, until the block ends."""
    with _without_stack_traces(), _fewer_collections():
        yield


@contextmanager
def _without_stack_traces() -> Iterator[None]:
    """Skip the SDK's stack capture: for every resource it extracts and formats the whole Python
    stack (source lines, file URIs) so that the engine can point diagnostics at the program's
    code. The mock monitor discards it; offline it cost a tenth of the run."""
    capture = getattr(runtime_resource, "_get_stack_trace", None)
    if capture is None:  # a newer SDK without it: nothing to skip
        yield
        return
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = capture


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """During a run, collect only the youngest generation.

    The SDK allocates hundreds of futures, tasks, closures and dicts per resource, in reference
    cycles, and keeps most of them alive to the end of the run. With the default thresholds the
    collector promotes them and then rescans the ever larger older generations, again and again:
    a third of a 1000-model run. Young collections still run (every 2,000 allocations, while
    they fit in the CPU caches), so short-lived cycles are freed and peak memory stays the same.
    """
    previous = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
