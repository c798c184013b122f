"""The stacks CI runs: every `Pulumi.<stack>.yaml` at the project root, as GitHub matrices.

Prints `key=<json>` lines for $GITHUB_OUTPUT:
- `stacks`: `{stack, runner}` of every stack (the pull request's previews);
- `staged`: `{stack, environment, runner}` of each stack whose `mlplatform:environment` is not
  prod, deployed first, each behind the GitHub environment of the same name;
- `production`: those of environment prod, deployed after them behind the `production`
  GitHub environment (its required reviewers approve).

`runner` is the JSON of the Pulumi job's `runs-on` (pulumi.yml: `fromJSON(inputs.runner)`): the
`runnerLabels` of a cluster whose `ciAccess.mode` is selfHostedRunner (a runner inside its
network), else a GitHub-hosted runner. The stack config itself refuses two different label sets
in one stack (stacks/config.py).

A new `Pulumi.staging.yaml` is previewed and deployed without editing a workflow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

PRODUCTION = "prod"
GITHUB_HOSTED = "ubuntu-24.04"


def runner(path: Path, config: dict) -> str:
    """The JSON `runs-on` of the stack's Pulumi job."""
    labels = {
        tuple(access.get("runnerLabels") or ())
        for cluster in (config.get("mlplatform:clusters") or {}).values()
        if isinstance(access := (cluster or {}).get("ciAccess"), dict)
        and access.get("mode") == "selfHostedRunner"
    }
    if len(labels) > 1:
        sys.exit(f"{path.name}: clusters name different runnerLabels; one job deploys the stack")
    return json.dumps(list(labels.pop()) if labels else GITHUB_HOSTED, separators=(",", ":"))


def stacks(root: Path) -> list[tuple[str, str, str]]:
    """(stack, environment, runner) of each stack file, sorted by stack name."""
    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if "." in name:
            continue
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        environment = config.get("mlplatform:environment")
        if not isinstance(environment, str):
            sys.exit(f"{path.name}: mlplatform:environment is missing; CI cannot tell where it deploys")
        found.append((name, environment, runner(path, config)))
    return found


def matrices(root: Path) -> dict[str, list]:
    listed = stacks(root)
    return {
        "stacks": [{"stack": n, "runner": r} for n, _, r in listed],
        "staged": [{"stack": n, "environment": e, "runner": r} for n, e, r in listed if e != PRODUCTION],
        "production": [
            {"stack": n, "environment": "production", "runner": r} for n, e, r in listed if e == PRODUCTION
        ],
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for key, value in matrices(root).items():
        print(f"{key}={json.dumps(value, separators=(',', ':'))}")
