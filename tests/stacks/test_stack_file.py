"""The stack file itself: what YAML and the namespaces would let through silently is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from plan.engine import PROJECT_DIR
from tests.helpers import preview_cli

DEV = (PROJECT_DIR / "Pulumi.dev.yaml").read_text()


def _preview(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(text)
    return preview_cli(path)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        pytest.param(
            "    model2:\n",
            "    model1:\n      pool: system\n    model2:\n",
            "Pulumi.test.yaml: key 'model1' is given twice (line {first} and line {second}); YAML would keep "
            "only the last: remove one",
            id="duplicate-key",
        ),
        pytest.param(
            "mlplatform:models:",
            "mlplatfrom:models:",
            "Pulumi.test.yaml: mlplatfrom:models: unknown namespace 'mlplatfrom': did you mean 'mlplatform'?",
            id="misspelt-namespace",
        ),
        pytest.param(
            "mlplatform:jobs:",
            "myproj:jobs:",
            "Pulumi.test.yaml: myproj:jobs: unknown namespace 'myproj': every key of this project is "
            "mlplatform:<key> (or pulumi:<key> for the engine)",
            id="foreign-namespace",
        ),
        pytest.param(
            "config:\n",
            "config:\n  gcp:project: acme\n",
            "Pulumi.test.yaml: gcp:project: gcp: settings configure a default provider, which this project "
            "disables: give cloud settings in the cluster entry (mlplatform:clusters.<name>.gcp)",
            id="default-provider-setting",
        ),
        pytest.param(
            "releaseChannel:",
            "release_channel:",
            "Pulumi.test.yaml: mlplatform:clusters.main.gcp.release_channel: unknown key 'release_channel': "
            "keys are camelCase, write 'releaseChannel'",
            id="snake-case-key",
        ),
        pytest.param(
            "autoscale: {min: 1, max: 1,",
            "autoscal: {min: 1, max: 1,",
            "Pulumi.test.yaml: mlplatform:models.model1.autoscal: unknown key 'autoscal' (did you mean "
            "'autoscale'?) (and 1 more problem(s))",
            id="misspelt-key-before-the-missing-one",
        ),
        pytest.param(
            'tag: "0.9.1"',
            "tag: 0.9",
            "Pulumi.test.yaml: mlplatform:models.model2.image.tag: 0.9 reads as a number in YAML; this key "
            'takes a string: quote it (tag: "0.9")',
            id="unquoted-number",
        ),
    ],
)
def test_a_stack_file_mistake_exits_2_with_one_line(tmp_path, old, new, error):
    assert old in DEV
    text = DEV.replace(old, new, 1)
    # The duplicate key's two lines, wherever the dev stack has them.
    twice = [number for number, line in enumerate(text.splitlines(), 1) if line == "    model1:"]
    if len(twice) == 2:
        error = error.format(first=twice[0], second=twice[1])
    result = _preview(tmp_path, text)
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines() == [f"error: {error}"]
