"""Run the real `__main__.py` under Pulumi's mock runtime and record what it declares.

Nothing here needs a Pulumi CLI, cloud credentials or a cluster. The mocks answer as the
providers would (plan.emulators), deterministically, so two runs of one input give the same
record byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from plan import emulators, lazy_sdk
from plan.emulators import kubernetes as kubernetes_emulator
from plan.record import PlanRecord, ResourceRecord, plain
from plan.tuning import tuned_runtime
from stacks import ConfigError
from stacks.loading import read_stack_config, read_stack_file, validate_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "mlplatform"
STACK_TYPE = "pulumi:pulumi:Stack"


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
        emulated_id = state.pop("id", None)
        # An imported resource keeps the id it was imported by, as the engine's ImportStep does.
        resource_id = args.resource_id or emulated_id or f"{args.name}-{resource.digest(8)}"
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        emulator = emulators.CALLS.get(args.token)
        if emulator is None:
            raise ProgramError(f"invoke {args.token} has no emulator in plan/emulators")
        try:
            return emulator(dict(args.args)), []
        except emulators.InvokeRefusedError as failure:
            return {}, [("", str(failure))]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what `Mocks.new_resource` is not told (parent).

    RegisterResource is the hot path (once per resource): it decodes the request once, for the
    mocks and the record alike, and encodes the state synchronously. The SDK's own monitor
    decodes, then encodes through its async serializer, pumping the event loop per resource.
    """

    def __init__(self, mocks: PlanMocks, progress: Callable[[int], None] | None = None) -> None:
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.progress = progress
        self.records: list[ResourceRecord] = []
        self.urns: set[str] = set()
        self.duplicate_urns: list[str] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self.urns:
            # The Pulumi engine refuses the deployment for this ("Duplicate resource URN ...; try
            # giving it a unique name"); the run goes on so the error can name the first one.
            self.duplicate_urns.append(urn)
        self.urns.add(urn)
        wire_inputs, inputs = decode_request(request.object)
        if request.type == STACK_TYPE:
            response = resource_pb2.RegisterResourceResponse(urn=urn)
        else:
            resource_id, state = self.plan_mocks.new_resource(
                pulumi_mocks.MockResourceArgs(
                    typ=request.type,
                    name=request.name,
                    inputs=wire_inputs,
                    provider=request.provider,
                    resource_id=request.importId,
                    custom=request.custom or False,
                )
            )
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
            response = resource_pb2.RegisterResourceResponse(
                urn=urn, id=resource_id, object=state_struct(state, request.object, wire_inputs)
            )
        if request.type.startswith("pulumi:providers:"):
            self.plan_mocks.provider_inputs[urn] = inputs
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                provider=_provider_urn(request.provider) or None,
                custom=bool(request.custom),
                id=response.id or None,
                inputs=inputs,
                dependencies=request_dependencies(request),
                options=request_options(request),
            )
        )
        if self.progress is not None:
            self.progress(len(self.records))
        return response


def request_dependencies(request) -> list[str]:
    """The URNs a resource waits for: explicit dependsOn and the resources its inputs came from."""
    urns = set(request.dependencies)
    for dependencies in request.propertyDependencies.values():
        urns.update(dependencies.urns)
    return sorted(urns)


def request_options(request) -> dict[str, Any]:
    """The resource options that change what the engine does, only those not at their default."""
    options: dict[str, Any] = {}
    if request.HasField("protect") and request.protect:
        options["protect"] = True
    if request.HasField("retainOnDelete") and request.retainOnDelete:
        options["retainOnDelete"] = True
    if request.deleteBeforeReplaceDefined and request.deleteBeforeReplace:
        options["deleteBeforeReplace"] = True
    for key in ("ignoreChanges", "replaceOnChanges"):
        values = list(getattr(request, key))
        if values:
            options[key] = sorted(values)
    if request.HasField("customTimeouts"):
        timeouts = {
            phase: getattr(request.customTimeouts, phase)
            for phase in ("create", "update", "delete")
            if getattr(request.customTimeouts, phase)
        }
        if timeouts:
            options["customTimeouts"] = timeouts
    # An alias spec that names only a type is one the provider SDKs add themselves (the old API
    # versions of a Kubernetes kind, renamed tokens): left out, so the record shows the program's.
    aliases = [
        json_format.MessageToDict(alias)
        for alias in request.aliases
        if not (alias.HasField("spec") and not alias.spec.name and not alias.spec.parentUrn)
    ] + list(request.aliasURNs)
    if aliases:
        options["aliases"] = aliases
    if request.deletedWith:
        options["deletedWith"] = request.deletedWith
    if request.importId:
        options["import"] = request.importId
    return options


class _NotPlainError(Exception):
    """A value only the SDK's decoder handles (unknown, secret, asset, resource reference)."""


def decode_request(struct: struct_pb2.Struct) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request's inputs twice: in wire form for the mocks, as plain values for the record.

    The wire form is what `rpc.deserialize_properties(struct)` gives, decoded several times
    faster for plain values (nulls in mappings dropped, as the SDK drops them). A struct holding
    anything the SDK decodes specially (the unknown sentinel or a signature key: secret, asset,
    resource, output value) is decoded by the SDK. The plain form shares every subtree without
    a whole number in it with the wire form: nothing mutates either during a run.
    """
    try:
        wire = _plain_struct(struct)
    except _NotPlainError:
        wire = rpc.deserialize_properties(struct)
        return wire, plain(wire)
    return wire, _with_ints(wire)


def _with_ints(value: Any) -> Any:
    """`value` with integral floats as ints (plain JSON); unchanged subtrees are not copied."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        changed = None
        for key, item in value.items():
            converted = _with_ints(item)
            if converted is not item:
                changed = changed or dict(value)
                changed[key] = converted
        return value if changed is None else changed
    if isinstance(value, list):
        items = [_with_ints(item) for item in value]
        return value if all(new is old for new, old in zip(items, value, strict=True)) else items
    return value


def _plain_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    decoded = {}
    for key, value in struct.fields.items():
        if key == rpc._special_sig_key:
            raise _NotPlainError
        item = _plain_value(value)
        if item is not None:
            decoded[key] = item
    return decoded


def _plain_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        if value.string_value == rpc.UNKNOWN:
            raise _NotPlainError
        return value.string_value
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _plain_struct(value.struct_value)
    if kind == "list_value":
        return [_plain_value(item) for item in value.list_value.values]
    return None


def state_struct(
    state: dict[str, Any], request_object: struct_pb2.Struct, inputs: dict[str, Any]
) -> struct_pb2.Struct:
    """The state as the SDK's `rpc.serialize_properties(state)` would encode it, decoding alike.

    Most of the state is the inputs echoed back: those keep the request's own encoding (copied
    at protobuf speed, unknowns and secrets included); only the emulated outputs are encoded,
    which are plain values. Anything else goes through the SDK's own serializer.
    """
    struct = struct_pb2.Struct()
    struct.CopyFrom(request_object)
    try:
        for key in [key for key in struct.fields if state.get(key) is None]:
            del struct.fields[key]  # taken out of the state, e.g. an `id` input used as the id
        for key, value in state.items():
            if value is not None and (key not in inputs or inputs[key] is not value):
                struct[key] = value
    except ValueError:
        return _sync_await(rpc.serialize_properties(state, {}))
    return struct


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


def engine_config(config: dict[str, Any]) -> dict[str, str]:
    """The config map `pulumi` would hand the program: structured values as JSON strings."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


class InlineExecutor(ThreadPoolExecutor):
    """Runs each submitted call at once, on the calling thread.

    The SDK hands every monitor RPC to the event loop's default executor. The offline monitor
    answers synchronously in microseconds, so a thread hop per resource would only add
    handoffs, wake-ups and GIL contention.
    """

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 (handed to the awaiting task, as a worker would)
            future.set_exception(exc)
        return future


@contextmanager
def _event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh event loop for one run, whose executor is inline; the previous one is restored."""
    try:
        previous: asyncio.AbstractEventLoop | None = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:  # a thread without an event loop
        previous = None
    loop = asyncio.new_event_loop()
    loop.set_default_executor(InlineExecutor())
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.close()
        asyncio.set_event_loop(previous)


@contextmanager
def mock_runtime(
    stack: str, config: dict[str, str], mocks: PlanMocks, progress: Callable[[int], None] | None = None
):
    """Configure the global Pulumi runtime for one offline run, and reset it afterwards."""
    monitor = RecordingMonitor(mocks, progress)
    with _event_loop(), tuned_runtime():
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

    `progress` is called with the number of resources declared so far, after each one.
    Raises ConfigError for bad input (before anything is declared) and ProgramError when
    the program itself fails.
    """
    stack_file = Path(stack_file)
    config = read_stack_config(stack_file)
    validate_stack_config(config, stack_file.name)  # fail at the door with the file's own name
    stack = stack_name_for(stack_file)
    lazy_sdk.install()
    emulators.load_all()
    mocks = PlanMocks()
    with mock_runtime(stack, engine_config(config), mocks, progress) as monitor:
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
    if monitor.duplicate_urns:
        urn = monitor.duplicate_urns[0]
        raise ConfigError(
            f"{stack_file.name}: two resources would have one URN, which the Pulumi engine refuses: "
            f"{urn.rsplit('::', 1)[-1]!r} ({urn.split('::')[2].rsplit('$', 1)[-1]}); rename one of the "
            "config entries whose names join to it"
        )
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


def shipped_stack_files() -> list[Path]:
    """The project's stacks and the examples beside them."""
    return sorted(PROJECT_DIR.glob("Pulumi.*.yaml")) + sorted((PROJECT_DIR / "examples").glob("*.yaml"))


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
    "shipped_stack_files",
]
