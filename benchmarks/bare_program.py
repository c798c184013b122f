"""The yardstick of the scale benchmark: a bare mock-runtime program declaring COUNT resources.

Same Pulumi SDK and the same way of running as `plan preview` (`set_mocks` with preview on,
the program run to completion by the SDK's own `run_pulumi_func`), but a trivial Mocks and
plain `test:index:Thing` resources with a small dict of inputs: what the SDK alone costs per
resource. Run as its own process: `python -m benchmarks.bare_program COUNT [--tuned]`;
`--tuned` runs it under the engine's runtime settings (plan/tuning.py).
"""

from __future__ import annotations

import sys
from contextlib import nullcontext

import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from plan.tuning import tuned_runtime


class EchoMocks(pulumi.runtime.Mocks):
    """Echo the inputs back as the state, with a made-up id: the least a provider does."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
        return {}, None


def declare(count: int) -> None:
    for index in range(count):
        pulumi.CustomResource(
            "test:index:Thing",
            f"thing-{index}",
            {"name": f"thing-{index}", "index": index, "labels": {"app": "bench", "tier": "serving"}},
        )


def main(argv: list[str]) -> int:
    count = int(argv[1])
    pulumi.runtime.set_mocks(EchoMocks(), project="bare", stack="bench", preview=True)
    with tuned_runtime() if "--tuned" in argv[2:] else nullcontext():
        _sync_await(run_pulumi_func(lambda: declare(count)))
    print(f"Resources: {count} to create")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
