"""The rendered manifests of every shipped stack and example, rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from plan.render import write_manifests
from tests.helpers import SHIPPED_STACK_FILES, shipped_plan


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """Stack file name -> the directory `plan render` wrote its manifests to."""
    out = tmp_path_factory.mktemp("manifests")
    directories = {}
    for stack_file in SHIPPED_STACK_FILES:
        directory = out / stack_file.stem
        write_manifests(shipped_plan(stack_file), directory)
        directories[stack_file.name] = directory
    return directories
