"""The stacks CI runs: every `Pulumi.<stack>.yaml` at the project root, as GitHub matrices.

Prints `key=<json>` lines for $GITHUB_OUTPUT:
- `stacks`: every stack name (the pull request's previews);
- `staged`: `{stack, environment}` of each stack whose `mlplatform:environment` is not prod,
  deployed first, each behind the GitHub environment of the same name;
- `production`: those of environment prod, deployed after them behind the `production`
  GitHub environment (its required reviewers approve).

A new `Pulumi.staging.yaml` is previewed and deployed without editing a workflow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

PRODUCTION = "prod"


def stacks(root: Path) -> list[tuple[str, str]]:
    """(stack, environment) of each stack file, sorted by stack name."""
    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if "." in name:
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        environment = config.get("mlplatform:environment")
        if not isinstance(environment, str):
            sys.exit(f"{path.name}: mlplatform:environment is missing; CI cannot tell where it deploys")
        found.append((name, environment))
    return found


def matrices(root: Path) -> dict[str, list]:
    listed = stacks(root)
    return {
        "stacks": [name for name, _ in listed],
        "staged": [{"stack": n, "environment": e} for n, e in listed if e != PRODUCTION],
        "production": [{"stack": n, "environment": "production"} for n, e in listed if e == PRODUCTION],
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for key, value in matrices(root).items():
        print(f"{key}={json.dumps(value, separators=(',', ':'))}")
