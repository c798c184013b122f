"""Lazy provider SDK packages: the same names and objects as the eager packages, loaded on use."""

from __future__ import annotations

import json
import subprocess
import sys

from plan.engine import PROJECT_DIR
from plan.lazy_sdk import exported_names

# Two layouts: gcp's snake_case modules, and kubernetes' modules named like their class.
PACKAGES = ["pulumi_gcp.artifactregistry", "pulumi_kubernetes.core.v1"]

# Describes every public name of each package, imported eagerly or (argument "lazy") through
# the lazy loader; lazily, also which compute modules one resource class pulls in.
SCRIPT = """
import importlib, json, sys
from plan import lazy_sdk

def describe(package):
    module = importlib.import_module(package)
    module._utilities  # the SDK's own lazy import loads the package on first attribute access
    names = sorted(n for n in dir(module) if not n.startswith("_"))
    return {n: [type(v).__name__, getattr(v, "__module__", None) or getattr(v, "__name__", None),
                getattr(v, "__qualname__", None)]
            for n in names for v in [getattr(module, n)]}

mode, packages = sys.argv[1], json.loads(sys.argv[2])
loaded = []
if mode == "lazy":
    lazy_sdk.install()
    from pulumi_gcp.compute import Network
    loaded = sorted(m for m in sys.modules if m.startswith("pulumi_gcp.compute."))
print(json.dumps({"names": {p: describe(p) for p in packages}, "loaded": loaded}))
"""


def _import(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, json.dumps(PACKAGES)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_lazy_packages_offer_what_eager_ones_do_and_load_only_what_is_used():
    eager, lazy = _import("eager"), _import("lazy")
    for package in PACKAGES:
        assert lazy["names"][package] == eager["names"][package], package
        assert len(eager["names"][package]) > 20, package
    # The resource used and its package's shared types, none of the ~290 other resources.
    assert "pulumi_gcp.compute.network" in lazy["loaded"]
    assert "pulumi_gcp.compute.autoscaler" not in lazy["loaded"]
    assert len(lazy["loaded"]) < 10, lazy["loaded"]


def test_exported_names_reads_the_header_only(tmp_path):
    module = tmp_path / "thing.py"
    module.write_text("import pulumi\n__all__ = [\n    'ThingArgs',\n    'Thing',\n]\nclass Thing: ...\n")
    assert exported_names(module) == ["ThingArgs", "Thing"]
    module.write_text("import pulumi\nclass Thing: ...\n__all__ = ['Thing']\n")
    assert exported_names(module) is None  # not a generated header: imported eagerly
    assert exported_names(tmp_path / "missing.py") is None
