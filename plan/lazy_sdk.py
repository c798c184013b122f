"""Provider SDK packages loaded lazily: a resource module on first use, not all of them at once.

A generated Pulumi provider SDK imports its sub-packages lazily, but each sub-package's
`__init__` then star-imports every one of its modules: `pulumi_gcp.compute` loads ~290 resource
modules (half a second) for the four resources a GKE network needs. For the offline engine,
`install()` puts a finder in front of the import system that loads such an `__init__`
differently: its statements run as written, except the star imports (`from .network import *`)
and sub-module imports (`from . import outputs`), which become an index of the names each
module declares in `__all__`. The first access to a name imports its module (PEP 562
`__getattr__`). Attribute access, `from pkg import Name`, `from pkg import *` and `dir()` see
the same objects as with the eager `__init__`; a module without a readable `__all__` is
imported eagerly.

Only the offline engine installs this; `pulumi up` imports the SDKs as they are.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

PROVIDER_SDKS = ("pulumi_gcp.", "pulumi_kubernetes.", "pulumi_aws.", "pulumi_azure_native.")


def install() -> None:
    """Make provider SDK sub-packages imported from now on lazy (idempotent)."""
    if not any(isinstance(finder, LazySdkFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, LazySdkFinder())


class LazySdkFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None):
        if not fullname.startswith(PROVIDER_SDKS):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.submodule_search_locations:
            return None
        init = Path(spec.origin)
        if init.name != "__init__.py":
            return None
        statements = ast.parse(init.read_text(), str(init)).body
        if not any(_lazy_target(statement) for statement in statements):
            return None
        spec.loader = LazyPackageLoader(init, statements)
        return spec


def _lazy_target(statement: ast.stmt) -> list[str] | None:
    """`from .x import *` -> ["x", "*"]; `from . import a, b` -> ["a", "b"]; else None."""
    if not isinstance(statement, ast.ImportFrom) or statement.level != 1:
        return None
    names = [alias.name for alias in statement.names]
    if statement.module is not None and names == ["*"]:
        return [statement.module, "*"]
    if statement.module is None and all(alias.asname is None for alias in statement.names):
        return names
    return None


class LazyPackageLoader(importlib.abc.Loader):
    def __init__(self, init: Path, statements: list[ast.stmt]) -> None:
        self.init = init
        self.statements = statements

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        eager: list[ast.stmt] = []
        # name -> (sub-module it comes from, whether it is that sub-module's attribute or the
        # sub-module itself); a later import of a name wins, as it would eagerly.
        index: dict[str, tuple[str, bool]] = {}
        for statement in self.statements:
            target = _lazy_target(statement)
            if target is None:
                eager.append(statement)
            elif target[-1] == "*":
                names = exported_names(self.init.parent / f"{target[0]}.py")
                if names is None:
                    eager.append(statement)
                else:
                    # Eagerly, `from .network import *` also binds the package's `network` to
                    # the module (then a same-named class, as in `Namespace.py`, rebinds it).
                    index[target[0]] = (target[0], False)
                    index.update(dict.fromkeys(names, (target[0], True)))
            else:
                index.update({name: (name, False) for name in target})
        code = compile(ast.Module(body=eager, type_ignores=[]), str(self.init), "exec")
        exec(code, module.__dict__)
        _make_lazy(module, index)


class LazyPackage(ModuleType):
    """A generated SDK package whose modules are imported on first access to what they export."""

    _lazy_index: dict[str, tuple[str, bool]]

    def __getattr__(self, name: str) -> Any:
        index = self.__dict__.get("_lazy_index", {})
        if name not in index:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        source, is_attribute = index[name]
        submodule = importlib.import_module(f"{self.__name__}.{source}")
        value = getattr(submodule, name) if is_attribute else submodule
        super().__setattr__(name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing `Namespace.py` binds the package's `Namespace` to that module; eagerly, its
        # star import then rebinds the name to the class the module exports: do the same.
        source = self.__dict__.get("_lazy_index", {}).get(name)
        if (
            isinstance(value, ModuleType)
            and source is not None
            and source[1]
            and value.__name__ == f"{self.__name__}.{source[0]}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(self.__dict__) | set(self._lazy_index))


def _make_lazy(module: ModuleType, index: dict[str, tuple[str, bool]]) -> None:
    module.__class__ = LazyPackage
    module._lazy_index = index
    # `from package import *` takes every public name, as it would from the eager package.
    module.__all__ = [name for name in dir(module) if not name.startswith("_")]


def exported_names(path: Path) -> list[str] | None:
    """The `__all__` list a generated module declares in its header, read without importing it."""
    if not path.exists():
        return None
    lines: list[str] = []
    with path.open(encoding="utf-8") as source:
        for line in source:
            if lines or line.startswith("__all__ = ["):
                lines.append(line)
                if line.rstrip().endswith("]"):
                    break
            elif line.startswith(("class ", "def ", "@")):
                return None  # past the header: this module declares no __all__
    if not lines:
        return None
    try:
        names = ast.literal_eval("".join(lines).split("=", 1)[1].strip())
    except (SyntaxError, ValueError):
        return None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else None
