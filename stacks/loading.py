"""Reading stack config: from a stack file (offline) or from Pulumi's config (real run).

Both paths hand the same raw mapping to the same pydantic models, so a typo or an impossible
value fails the same way offline and in `pulumi up`, before any resource is declared.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from stacks.base import RULE_ERROR
from stacks.config import StackConfig

NAMESPACE = "mlplatform"
# Namespaces a stack file of this project may use: its own, and the engine's (pulumi:...).
# Provider namespaces (gcp:, aws:, azure-native:, kubernetes:) would configure default providers,
# which the stack files disable: cloud settings belong to each cluster entry.
KNOWN_NAMESPACES = (NAMESPACE, "pulumi")


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as the stack files need it: a key given twice is an error, not "last one wins"."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice (line {seen[key].start_mark.line + 1} and line "
                    f"{key_node.start_mark.line + 1}); YAML would keep only the last: remove one",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class ConfigError(Exception):
    """Bad stack config. The message is one line: file, key path, problem."""


def parse_config(raw: dict[str, Any], source: str) -> StackConfig:
    """Validate the `mlplatform:*` keys (namespace stripped) taken from `source`."""
    try:
        # By alias only: YAML keys are camelCase (`releaseChannel`); a snake_case key is an error
        # that says so, not a silent synonym. Python code may still build models by field name.
        return StackConfig.model_validate(raw, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """First error, as `source: mlplatform:a.b.c: problem` (+ a count of the others)."""
    # An unknown key often explains a "missing" one beside it (`autoscal:` for `autoscale:`).
    errors = sorted(exc.errors(include_url=False), key=lambda error: error["type"] != "extra_forbidden")
    first = errors[0]
    path = [str(p) for p in first["loc"]]
    if first["type"] == RULE_ERROR and first.get("ctx", {}).get("path"):
        path.extend(first["ctx"]["path"].split("."))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = _unknown_key(first["loc"])
    elif first["type"] == "string_type" and isinstance(first.get("input"), (int, float)):
        message = (
            f"{first['input']!r} reads as a number in YAML; this key takes a string: quote it "
            f'({path[-1]}: "{first["input"]}")'
        )
    elif first["type"] == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    key = f"{NAMESPACE}:{'.'.join(path)}" if path else f"{NAMESPACE}:"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{source}: {key}: {message}{more}"


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    """'unknown key', with the key the user most likely meant."""
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    message = f"unknown key {key!r}"
    if model is None:
        return message + " (check the spelling; see the config reference)"
    fields = [info.alias or to_camel(name) for name, info in model.model_fields.items()]
    if to_camel(key) in fields and "_" in key:
        return message + f": keys are camelCase, write {to_camel(key)!r}"
    nearest = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    hint = f"did you mean {nearest[0]!r}?" if nearest else f"keys here: {', '.join(fields)}"
    return message + f" ({hint})"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `loc` (dict keys skipped)."""
    model: Any = StackConfig
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next(
            (info for name, info in model.model_fields.items() if part in (name, info.alias, to_camel(name))),
            None,
        )
        if field is not None:
            model = _value_model(field.annotation)
        # else: `part` is a user-chosen key of a dict[str, Model]: stay on the value model
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _value_model(annotation: Any) -> Any:
    """The model inside `X | None`, `dict[str, X]` or `list[X]`, else the annotation itself."""
    for arg in reversed(getattr(annotation, "__args__", ()) or ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _value_model(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def load_stack_file(path: str | Path) -> StackConfig:
    """Load and validate a stack file such as Pulumi.dev.yaml."""
    return parse_config(read_stack_file(path), Path(path).name)


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The `mlplatform:*` keys of a stack file, namespace stripped, values as parsed YAML."""
    return _project_keys(read_stack_config(path), Path(path).name)


def read_stack_config(path: str | Path) -> dict[str, Any]:
    """The whole `config:` mapping of a stack file (every namespace), values as parsed YAML."""
    path = Path(path)
    try:
        # libyaml's parser when PyYAML has it: the same documents, several times faster on
        # stacks with hundreds of models.
        document = yaml.load(path.read_text(), Loader=_StrictLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such stack file") from None
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(f"{path.name}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {_one_line(exc)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise ConfigError(f"{path.name}: a stack file needs a top-level 'config:' mapping")
    return document["config"]


def validate_stack_config(config: dict[str, Any], source: str) -> StackConfig:
    """Validate the `mlplatform:*` keys of a stack file's `config:` mapping read from `source`."""
    return parse_config(_project_keys(config, source), source)


def load_from_pulumi(stack: str, config: dict[str, Any]) -> StackConfig:
    """Validate the config of a real `pulumi up`; `config` is the runtime's full config map."""
    return parse_config(_project_keys(config, f"Pulumi.{stack}.yaml"), f"Pulumi.{stack}.yaml")


def _project_keys(config: dict[str, Any], source: str) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if not name:
            raise ConfigError(f"{source}: config key {key!r} needs a namespace (e.g. mlplatform:{key})")
        if namespace == NAMESPACE:
            # The engine passes structured values as JSON strings; a value set without `--path`
            # (`pulumi config set mlplatform:budget '{"monthlyMaxUsd": 500}'`, a `pulumi new`
            # answer) is one in the stack file too: both paths decode it alike.
            raw[name] = _decode(value)
        elif namespace not in KNOWN_NAMESPACES:
            raise ConfigError(f"{source}: {key}: {_unknown_namespace(namespace)}")
    return raw


def _unknown_namespace(namespace: str) -> str:
    if difflib.get_close_matches(namespace, [NAMESPACE], n=1, cutoff=0.6):
        return f"unknown namespace {namespace!r}: did you mean {NAMESPACE!r}?"
    if re.fullmatch(r"gcp|aws|azure-native|azure|kubernetes", namespace):
        return (
            f"{namespace}: settings configure a default provider, which this project disables: "
            f"give cloud settings in the cluster entry (mlplatform:clusters.<name>.{namespace.split('-')[0]})"
        )
    return (
        f"unknown namespace {namespace!r}: every key of this project is {NAMESPACE}:<key> "
        "(or pulumi:<key> for the engine)"
    )


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
