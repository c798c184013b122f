"""Rendered manifests of every shipped stack and example: schema-valid on several Kubernetes
versions (kubernetes-validate, strict) and checkov-clean (skips justified in .checkov.yaml)."""

from __future__ import annotations

import functools
import subprocess

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from plan.engine import PROJECT_DIR
from tests.manifests.crd_schemas import is_custom_resource

KUBERNETES_VERSIONS = ["1.30.0", "1.34.0"]
CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"


def test_every_stack_renders_workloads(rendered):
    for name, directory in rendered.items():
        kinds = {yaml.safe_load(p.read_text())["kind"] for p in directory.rglob("*.yaml")}
        assert {
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        } <= kinds, name


@pytest.fixture(scope="module")
def schemas_read_once():
    """kubernetes-validate reads its schema and the 1.3 MB definitions file again for each manifest
    (three quarters of the validation time): read each file once; validation only reads them."""
    with pytest.MonkeyPatch.context() as patch:
        read = kubernetes_validate.utils.schema_contents
        patch.setattr(kubernetes_validate.utils, "schema_contents", functools.cache(read))
        yield


@pytest.mark.usefixtures("schemas_read_once")
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_are_schema_valid(rendered, version):
    checked = 0
    for directory in rendered.values():
        for path in sorted(directory.rglob("*.yaml")):
            manifest = yaml.safe_load(path.read_text())
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                # Custom resources: test_custom_resources.py checks them against their CRDs.
                assert is_custom_resource(manifest["apiVersion"]), path
                continue
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{path}: {error.message} at {'.'.join(map(str, error.path))}")
            checked += 1
    assert checked > 20


def test_checkov_finds_no_failed_check(rendered):
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make test` (it bootstraps .venv-checkov)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--config-file",
            str(PROJECT_DIR / ".checkov.yaml"),
            *(argument for d in rendered.values() for argument in ("-d", str(d))),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_skipped_checks_have_reasons():
    text = (PROJECT_DIR / ".checkov.yaml").read_text()
    skipped = yaml.safe_load(text)["skip-check"]
    lines = text.splitlines()
    for check in skipped:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        assert lines[index - 1].strip().startswith("#"), f"{check} is skipped without a reason"
