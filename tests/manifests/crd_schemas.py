"""Runs tests/manifests/validate_crds.mjs: custom resources against their CRDs' OpenAPI schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from plan.engine import PROJECT_DIR

VALIDATOR = Path(__file__).with_name("validate_crds.mjs")
NODE_MODULES = PROJECT_DIR / "node_modules" / "@kubernetes-models"


def is_custom_resource(api_version: str) -> bool:
    """Built-in APIs are `v1` or `<group>/<version>` with a dotless group (apps, batch, policy)
    or a `*.k8s.io` group; Gateway API is the one `k8s.io` group served by CRDs, and `x-k8s.io`
    groups are the Kubernetes SIG projects' CRDs (API conventions; e.g. the Secrets Store CSI
    driver's secrets-store.csi.x-k8s.io)."""
    group = api_version.rpartition("/")[0]
    if "." not in group:
        return False
    return (
        group.startswith("gateway.networking.") or group.endswith(".x-k8s.io") or not group.endswith("k8s.io")
    )


def validate_custom_resources(manifests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """id -> {"status": "valid" | "invalid" | "no-schema", "errors": [...]}."""
    node = shutil.which("node")
    assert node, "node (20 or later) is needed to validate custom resources"
    assert NODE_MODULES.is_dir(), "the CRD validators are not installed: run `npm ci` (make test does)"
    result = subprocess.run(
        [node, str(VALIDATOR)],
        input=json.dumps([{"id": key, "manifest": m} for key, m in manifests.items()]),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return {item["id"]: item for item in json.loads(result.stdout)}
