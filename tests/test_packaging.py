"""`pip install .`: the components and stack models install as a package another Pulumi program
can import, with the data files they read (the version catalog, IAM policy documents)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from plan.engine import PROJECT_DIR


@pytest.mark.slow
def test_the_wheel_installs_components_and_stacks_usable_outside_the_repo(tmp_path):
    # Built from a copy, so setuptools' build/ and egg-info stay out of the work tree.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("components", "stacks"):
        shutil.copytree(PROJECT_DIR / package, source / package, ignore=ignore)
    shutil.copy(PROJECT_DIR / "pyproject.toml", source)
    # One pip run builds the wheel and installs it. The build uses this venv's setuptools when it
    # has one (uv seeds it into Python 3.11 venvs, not 3.12+: astral-sh/uv#17669): an isolated
    # build would first install setuptools into a fresh environment, half the test's time.
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    target = tmp_path / "site"
    pip_install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation]
    subprocess.run(
        [*pip_install, "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    # The wheel's files, as the installed distribution records them.
    [record] = target.glob("mlplatform-*.dist-info/RECORD")
    names = {line.split(",", 1)[0] for line in record.read_text().splitlines()}
    shipped = {
        str(path.relative_to(PROJECT_DIR))
        for package in ("components", "stacks")
        for path in (PROJECT_DIR / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped <= names, shipped - names
    assert not {name for name in names if name.split("/")[0] in ("plan", "policies", "tests")}

    # Imported from the installed copy (cwd and path outside the repository), data files included.
    probe = (
        "import json, components.aws.load_balancer as lb, stacks, stacks.versions as v; "
        f"assert stacks.__file__.startswith({str(target)!r}), stacks.__file__; "
        "json.loads(lb.POLICY_TEMPLATE.read_text()); "
        "print(v.default_kubernetes_version('gcp'))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("1.")
