"""Shared pieces of the stack-config models: the strict base class and rule errors."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
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
        # `pulumi config set --path mlplatform:models.x.image.tag 1.4` stores a number, and a
        # bare YAML `tag: 1.4` parses as one: string fields take numbers as their text.
        coerce_numbers_to_str=True,
    )


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
