"""Reading stack config: from a stack file (offline) or from Pulumi's config (real run).

Both paths hand the same raw mapping to the same pydantic models, so a typo or an impossible
value fails the same way offline and in `pulumi up`, before any resource is declared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stacks.base import RULE_ERROR
from stacks.config import StackConfig

NAMESPACE = "mlplatform"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ConfigError(Exception):
    """Bad stack config. The message is one line: file, key path, problem."""


def parse_config(raw: dict[str, Any], source: str) -> StackConfig:
    """Validate the `mlplatform:*` keys (namespace stripped) taken from `source`."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    """First error, as `source: mlplatform:a.b.c: problem` (+ a count of the others)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = [str(p) for p in first["loc"]]
    if first["type"] == RULE_ERROR and first.get("ctx", {}).get("path"):
        path.extend(first["ctx"]["path"].split("."))
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = f"unknown key {path[-1]!r} (check the spelling; see README's config reference)"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    key = f"{NAMESPACE}:{'.'.join(path)}" if path else f"{NAMESPACE}:"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{source}: {key}: {message}{more}"


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
        document = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such stack file") from None
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
    return raw


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
