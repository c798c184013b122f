"""Shared pieces of the stack-config models: the strict base class and rule errors."""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

RULE_ERROR = "mlplatform_rule"

# Kubernetes-style DNS label: what most names in this config become somewhere.
DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=40)]


class StrictModel(BaseModel):
    """Config keys are camelCase in YAML, snake_case in Python; unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers_as_text(cls, data: Any) -> Any:
        """`pulumi config set --path mlplatform:models.x.image.tag 2` stores the number 2, and a bare
        YAML `tag: 2` parses as one: a string field takes a whole number as its text. Decimals are
        refused (with "quote it"): `1.10` would arrive as 1.1, and no text can be recovered."""
        if not isinstance(data, dict):
            return data
        converted = dict(data)
        for name, field in cls.model_fields.items():
            for key in {name, field.alias}:
                value = converted.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and _takes_text(field.annotation):
                    converted[key] = str(value)
        return converted


def _takes_text(annotation: Any) -> bool:
    """str, an Annotated str, or either `| None`."""
    if annotation is str:
        return True
    args = get_args(annotation)
    return bool(args) and (args[0] is str or any(_takes_text(a) for a in args if a is not type(None)))


def rule_error(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """An error for a cross-field rule, pointing below the model that raises it.

    Pydantic only knows the location of the model a validator runs on; `path` carries the
    rest (e.g. ("pools", "tpu-v5e", "kind")) so the message can name the exact key.
    """
    return PydanticCustomError(
        RULE_ERROR,
        "{message}",
        {"message": message, "path": ".".join(str(p) for p in path)},
    )


def is_dns_label(value: str, max_length: int = 63) -> bool:
    return len(value) <= max_length and bool(re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", value))
