"""What providers would return for a resource or an invoke, emulated deterministically.

Each cloud module registers, per type token, a function that takes the resource's inputs and
returns the outputs the real provider computes (ids, autonamed names, endpoints, emails...).
Everything not emulated echoes the inputs back, which is what a provider does for most fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Emulated:
    typ: str
    name: str
    urn: str
    inputs: dict[str, Any]
    # Inputs of the explicit provider the resource was declared with (project, region...).
    provider: dict[str, Any]

    def digest(self, length: int = 7) -> str:
        return stable_hex(self.urn, length)

    @property
    def autoname(self) -> str:
        """Pulumi's autonaming: logical name plus a random (here: stable) suffix."""
        return f"{self.name}-{self.digest()}"

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


ResourceEmulator = Callable[[Emulated], dict[str, Any]]
CallEmulator = Callable[[dict[str, Any]], dict[str, Any]]

RESOURCES: dict[str, ResourceEmulator] = {}
CALLS: dict[str, CallEmulator] = {}


def resource(*type_tokens: str) -> Callable[[ResourceEmulator], ResourceEmulator]:
    def register(function: ResourceEmulator) -> ResourceEmulator:
        for token in type_tokens:
            RESOURCES[token] = function
        return function

    return register


class InvokeRefusedError(Exception):
    """What an emulated invoke raises for the provider's refusal (a lookup of what does not
    exist): the program sees the engine's own `invoke of <token> failed: <reason>` error."""


def call(*tokens: str) -> Callable[[CallEmulator], CallEmulator]:
    def register(function: CallEmulator) -> CallEmulator:
        for token in tokens:
            CALLS[token] = function
        return function

    return register


def stable_hex(seed: str, length: int = 7) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def stable_ip(seed: str, prefix: str = "34") -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return f"{prefix}.{digest[0]}.{digest[1]}.{digest[2] or 1}"


def fake_certificate(seed: str) -> str:
    """Base64 text shaped like PEM CA data (not a real certificate)."""
    import base64

    body = hashlib.sha256(seed.encode()).hexdigest() * 4
    return base64.b64encode(
        f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()
    ).decode()


def load_all() -> None:
    """Import every emulator module so their registrations take effect."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
