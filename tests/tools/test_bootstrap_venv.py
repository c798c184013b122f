"""tools/bootstrap-venv, which `make setup` runs: it refuses an interpreter older than 3.11 in one
line, rebuilds a venv left half-built (no stamp) or made by another Python, and leaves a
current one alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from plan.engine import PROJECT_DIR

SCRIPT = PROJECT_DIR / "tools" / "bootstrap-venv"


def _bootstrap(venv: Path, requirements: Path, python: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), str(venv), str(requirements)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _fake_python(tmp_path: Path, version: str) -> str:
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\n[ "$1" = -V ] && {{ echo "Python {version}"; exit 0; }}\nexit 1\n')
    fake.chmod(0o755)
    return str(fake)


def test_an_interpreter_older_than_3_11_is_refused_in_one_line(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    run = _bootstrap(tmp_path / "venv", requirements, _fake_python(tmp_path, "3.10.12"))
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"error: {tmp_path / 'python'} is Python 3.10.12; this project needs Python 3.11 or later: "
        "install it, or run make with PYTHON=python3.11 (or newer)"
    ]
    assert not (tmp_path / "venv").exists()


def test_a_missing_interpreter_is_named_without_a_shell_error(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    run = _bootstrap(tmp_path / "venv", requirements, str(tmp_path / "python3.12"))
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path / 'python3.12'} is not found or not a Python;")


def test_a_half_built_venv_is_rebuilt_and_a_current_one_left_alone(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "left-over").write_text("from an interrupted set-up")

    first = _bootstrap(venv, requirements, sys.executable)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Setting up {venv} from {requirements} with ")
    assert not (venv / "left-over").exists()
    assert (venv / ".installed").read_text().split()[0] == sys.version.split()[0]

    (venv / "kept").write_text("")
    again = _bootstrap(venv, requirements, sys.executable)
    assert (again.returncode, again.stdout) == (0, "")
    assert (venv / "kept").exists()

    (venv / ".installed").write_text("3.10.12 0000000000000000\n")  # made by another Python
    rebuilt = _bootstrap(venv, requirements, sys.executable)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not (venv / "kept").exists()
