"""Every rule of the pack. Importing this package declares the rules and starts nothing."""

from __future__ import annotations

import importlib
import pkgutil

from .base import FAMILIES, REGISTRY, Rule

# Rule modules register their rules when imported; helper modules (base, pools) declare none.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# Family order first, then id: a stable order for the pack, reports and docs.
ALL_RULES: tuple[Rule, ...] = tuple(
    sorted(REGISTRY.values(), key=lambda rule: (FAMILIES.index(rule.family), rule.id))
)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_ID", "Rule"]
