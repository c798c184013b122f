"""The CrossGuard entry point, run by `pulumi preview --policy-pack policies`.

It only assembles the PolicyPack: the constructor starts the analyzer's gRPC server and
blocks, which is why nothing else may build one. The rules live in `policies.rules`, where
the offline runner (`python -m plan policy`) calls the very same functions.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack


def _load_rules():
    # The CLI runs this file as a script with only the pack directory on sys.path. Import that
    # directory as the `policies` package, as the project sees it, so the rule modules'
    # package-relative imports work wherever the pack is checked out or installed.
    if "policies" not in sys.modules:
        pack_dir = Path(__file__).resolve().parent
        spec = importlib.util.spec_from_file_location(
            "policies", pack_dir / "__init__.py", submodule_search_locations=[str(pack_dir)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["policies"] = package
        spec.loader.exec_module(package)
    return importlib.import_module("policies.rules")


rules = _load_rules()

PolicyPack(
    name="mlplatform",
    description="ML platform guardrails: Kubernetes workload hygiene, cloud posture, cost and ownership "
    "labels.",
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=[rule.policy() for rule in rules.ALL_RULES],
)
