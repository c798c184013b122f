"""Shared fixtures: the mock runtime (set per test, reset after) and stack builders."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.engine import PROJECT_DIR, run_program
from plan.record import PlanRecord
from stacks import versions
from tests.eks_plan import EXAMPLE as EKS_EXAMPLE
from tests.eks_plan import EksPlan, eks_variant_document, plan_eks
from tests.helpers import shipped_plan

DEV_STACK = PROJECT_DIR / "Pulumi.dev.yaml"
PROD_STACK = PROJECT_DIR / "Pulumi.prod.yaml"

# Support windows are checked as of a fixed day, so results do not drift with the calendar
# (the CLI uses today): the day the version catalog was last checked.
os.environ.setdefault(versions.TODAY_VARIABLE, str(versions.catalog_checked()))


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """The dev stack file as a mutable document (`config:` mapping inside)."""
    return yaml.safe_load(DEV_STACK.read_text())


@pytest.fixture
def prod_config() -> dict[str, Any]:
    """The prod stack file as a mutable document."""
    return yaml.safe_load(PROD_STACK.read_text())


@pytest.fixture
def write_stack(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a stack document to a temporary Pulumi.<name>.yaml and return its path."""

    def write(document: dict[str, Any], name: str = "test") -> Path:
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump(copy.deepcopy(document), sort_keys=False))
        return path

    return write


@pytest.fixture
def plan_of(write_stack) -> Callable[..., PlanRecord]:
    """Run the real program under mocks on a stack document; the runtime is reset afterwards.

    `run_program` sets the mocks and config and restores the runtime settings itself, so every
    test starts from a clean global Pulumi runtime.
    """

    def plan(document: dict[str, Any], name: str = "test") -> PlanRecord:
        return run_program(write_stack(document, name))

    return plan


@pytest.fixture
def run_components() -> Callable[[Callable[[], Any]], PlanRecord]:
    """Declare components directly (not through __main__) under the same recording mocks."""

    def run(declare: Callable[[], Any], stack_file: Path = DEV_STACK) -> PlanRecord:
        return run_program(stack_file, program=declare)

    return run


@pytest.fixture(scope="session")
def dev_plan() -> PlanRecord:
    """The dev stack's plan, computed once per test session (read-only for tests)."""
    return shipped_plan(DEV_STACK)


@pytest.fixture(scope="session")
def prod_plan() -> PlanRecord:
    return shipped_plan(PROD_STACK)


@pytest.fixture(autouse=True)
def _fresh_pulumi_runtime():
    """Pulumi's runtime state is global: whatever a test did, the next one starts clean."""
    from pulumi.runtime import settings
    from pulumi.runtime.config import set_all_config

    yield
    settings.reset_options()
    set_all_config({}, [])


@pytest.fixture(scope="session")
def eks() -> EksPlan:
    """The EKS example's plan (tests/eks_plan.py), computed once per session."""
    return EksPlan(shipped_plan(EKS_EXAMPLE))


@pytest.fixture(scope="session")
def eks_variant(tmp_path_factory) -> EksPlan:
    path = tmp_path_factory.mktemp("eks") / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump(eks_variant_document(), sort_keys=False))
    return plan_eks(path)
