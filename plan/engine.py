"""Run the real `__main__.py` under Pulumi's mock runtime and record what it declares.

Nothing here needs a Pulumi CLI, cloud credentials or a cluster. The mocks answer as the
providers would (plan.emulators), deterministically, so two runs of one input give the same
record byte for byte.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from plan import emulators
from plan.emulators import kubernetes as kubernetes_emulator
from plan.record import PlanRecord, ResourceRecord, plain
from stacks import ConfigError, load_stack_file
from stacks.loading import read_stack_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "mlplatform"


class ProgramError(Exception):
    """The program failed for a reason other than bad config."""


class PlanMocks(pulumi_mocks.Mocks):
    def __init__(self) -> None:
        self.provider_inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, {}
        urn = _urn(args.typ, args.name)
        provider = self.provider_inputs.get(_provider_urn(args.provider), {})
        resource = emulators.Emulated(args.typ, args.name, urn, inputs, provider)
        outputs = kubernetes_emulator.emulate(resource)
        if outputs is None:
            emulator = emulators.RESOURCES.get(args.typ)
            outputs = emulator(resource) if emulator else {}
            if (
                "name" not in inputs
                and "name" not in outputs
                and not args.typ.startswith("pulumi:providers:")
            ):
                outputs["name"] = resource.autoname
        state = {**inputs, **outputs}
        resource_id = state.pop("id", None) or f"{args.name}-{resource.digest(8)}"
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        emulator = emulators.CALLS.get(args.token)
        if emulator is None:
            raise ProgramError(f"invoke {args.token} has no emulator in plan/emulators")
        return emulator(dict(args.args)), []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what `Mocks.new_resource` is not told (parent)."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.records: list[ResourceRecord] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        inputs = plain(rpc.deserialize_properties(request.object)) if request.object else {}
        if request.type.startswith("pulumi:providers:"):
            self.plan_mocks.provider_inputs[response.urn] = inputs
        self.records.append(
            ResourceRecord(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                provider=_provider_urn(request.provider) or None,
                custom=bool(request.custom),
                id=response.id or None,
                inputs=inputs,
            )
        )
        return response


def _urn(typ: str, name: str) -> str:
    # Same shape as the monitor's URNs, without the parent chain (unknown to Mocks): unique
    # enough for a stable seed because logical names are unique per type in a stack.
    return f"urn:pulumi:{settings.get_stack()}::{settings.get_project()}::{typ}::{name}"


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference else ""


def stack_name_for(path: Path) -> str:
    """Pulumi.<stack>.yaml names its stack; any other file is named by its stem."""
    parts = path.name.split(".")
    if len(parts) == 3 and parts[0] == "Pulumi" and parts[2] in ("yaml", "yml"):
        return parts[1]
    return path.stem


def engine_config(stack_file: Path) -> dict[str, str]:
    """The config map `pulumi` would hand the program: structured values as JSON strings."""
    document = yaml.safe_load(stack_file.read_text()) or {}
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return config


@contextmanager
def mock_runtime(stack: str, config: dict[str, str], mocks: PlanMocks):
    """Configure the global Pulumi runtime for one offline run, and reset it afterwards."""
    monitor = RecordingMonitor(mocks)
    settings.reset_options()
    set_all_config(config, [])
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)
    try:
        yield monitor
    finally:
        settings.reset_options()
        set_all_config({}, [])


def run_program(
    stack_file: str | Path,
    program: Callable[[], Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> PlanRecord:
    """Validate `stack_file`, run the program on it under mocks, return the record.

    Raises ConfigError for bad input (before anything is declared) and ProgramError when
    the program itself fails.
    """
    stack_file = Path(stack_file)
    load_stack_file(stack_file)  # fail at the door with the file's own name
    stack = stack_name_for(stack_file)
    emulators.load_all()
    mocks = PlanMocks()
    with mock_runtime(stack, engine_config(stack_file), mocks) as monitor:
        run = program or (lambda: _run_main(PROJECT_DIR / "__main__.py"))
        try:
            _sync_await(run_pulumi_func(run))
            outputs = _resolve_outputs()
        except pulumi.RunError as exc:
            raise ConfigError(str(exc)) from None
        except ConfigError:
            raise
        except Exception as exc:
            raise ProgramError(f"{type(exc).__name__}: {exc}") from exc
    record = PlanRecord(project=PROJECT, stack=stack, source=_display_path(stack_file), outputs=outputs)
    record.resources = sorted(monitor.records, key=lambda r: r.urn)
    return record


def _run_main(path: Path) -> None:
    sys.path.insert(0, str(path.parent))
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(cwd)
        sys.path.remove(str(path.parent))


def _resolve_outputs() -> dict[str, Any]:
    root = settings.get_root_resource()
    exported = getattr(root, "outputs", {}) or {}

    async def resolve() -> dict[str, Any]:
        values = {}
        for key in sorted(exported):
            output = pulumi.Output.from_input(exported[key])
            values[key] = plain(await output.future(with_unknowns=True))
        return values

    return _sync_await(resolve())


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def resolve_stack_file(stack: str | None, config: str | None) -> Path:
    """--stack NAME means Pulumi.NAME.yaml in the project; --config PATH any stack file."""
    if config:
        return Path(config)
    if not stack:
        raise ConfigError("name a stack (--stack dev) or a stack file (--config PATH)")
    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name.split(".")[1] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
        raise ConfigError(f"no stack {stack!r}: Pulumi.{stack}.yaml not found (stacks: {', '.join(stacks)})")
    return path


__all__ = [
    "ConfigError",
    "PlanRecord",
    "ProgramError",
    "read_stack_file",
    "resolve_stack_file",
    "run_program",
]
