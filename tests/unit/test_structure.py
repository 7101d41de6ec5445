"""The code's shape, checked: sizes, private names, and the api/services boundary.

These hold the layout docs/architecture.md describes: files of at most 500 lines and functions of
at most 80, no module reaching into another's private names, and api/ never importing the store
nor receiving its rows from the services.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import typing
from pathlib import Path

import pytest

import localcvm

SRC = Path(localcvm.__file__).parent
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _rel(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def test_no_file_over_500_lines():
    long = [(_rel(p), n) for p in _sources() if (n := p.read_text().count("\n")) > MAX_FILE_LINES]
    assert not long, f"files over {MAX_FILE_LINES} lines: {long}"


def test_no_function_over_80_lines():
    long = []
    for path in _sources():
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append((_rel(path), node.name, n))
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in _sources():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                found += [(_rel(path), node.lineno, a.name) for a in node.names if _private(a.name)]
    assert not found, f"imports of private names: {found}"


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the localcvm modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out |= {f"{name}.{a.name}" for a in node.names}
    return out


def test_api_never_imports_the_store():
    bad = []
    for path in sorted((SRC / "api").rglob("*.py")):
        bad += [(_rel(path), m) for m in _imported_modules(path) if m.startswith("localcvm.store")]
    assert not bad, f"api/ imports the store: {bad}"


@pytest.mark.parametrize("low", ["blobs", "imaging", "hypervisor", "jobs", "store"])
def test_low_layers_never_import_services_or_api(low):
    bad = []
    for path in sorted((SRC / low).rglob("*.py")):
        bad += [(_rel(path), m) for m in _imported_modules(path)
                if m.startswith(("localcvm.services", "localcvm.api"))]
    assert not bad, f"{low}/ imports a higher layer: {bad}"


def _service_modules():
    import localcvm.services as services

    for info in pkgutil.walk_packages(services.__path__, "localcvm.services."):
        yield importlib.import_module(info.name)


def _orm_types_in(tp, orm_base) -> list:
    """ORM model classes named anywhere in the type ``tp`` (lists, unions, dicts, ...)."""
    found = []
    if isinstance(tp, type) and issubclass(tp, orm_base):
        found.append(tp)
    for arg in typing.get_args(tp):
        found += _orm_types_in(arg, orm_base)
    return found


def test_service_views_carry_no_orm_rows():
    """Every dataclass the services define (their views and typed requests) is built of plain
    values: no field may be typed as a store row, so nothing api/ receives can be one."""
    from localcvm.store.models import Base

    bad = []
    for module in _service_modules():
        for obj in vars(module).values():
            if dataclasses.is_dataclass(obj) and isinstance(obj, type) and obj.__module__ == module.__name__:
                hints = typing.get_type_hints(obj, vars(module))
                bad += [(obj.__qualname__, name) for name, tp in hints.items() if _orm_types_in(tp, Base)]
    assert not bad, f"service dataclasses with ORM-typed fields: {bad}"


def test_service_methods_return_no_orm_rows():
    """No public function or method of services/ that api/ can call is annotated to return a store
    row (or a list, tuple or dict of them): what api/ gets back are views. Functions that take an
    open ``repo`` are for other services inside a transaction (api/ has none), so they may."""
    import re

    from localcvm.store import models

    orm_names = {name for name, obj in vars(models).items()
                 if isinstance(obj, type) and issubclass(obj, models.Base) and obj is not models.Base}
    bad = []
    for module in _service_modules():
        for owner in vars(module).values():
            if getattr(owner, "__module__", None) != module.__name__:
                continue
            functions = [owner] if callable(owner) and not isinstance(owner, type) else [
                f for n, f in vars(owner).items() if callable(f) and not n.startswith("_")
            ] if isinstance(owner, type) else []
            for fn in functions:
                ret = getattr(fn, "__annotations__", {}).get("return")
                words = set(re.findall(r"[A-Za-z_]\w*", ret if isinstance(ret, str) else getattr(ret, "__name__", "")))
                code = getattr(fn, "__code__", None)
                params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount] if code else ()
                takes_repo = "repo" in params
                if words & orm_names and not takes_repo:
                    bad.append((module.__name__, fn.__qualname__, ret))
    assert not bad, f"service functions returning store rows: {bad}"


def test_console_never_imports_the_store():
    """The web console is a client of the API's dispatcher: it reads nothing from the store itself."""
    bad = []
    for path in sorted((SRC / "console").rglob("*.py")):
        bad += [(_rel(path), m) for m in _imported_modules(path) if m.startswith("localcvm.store")]
    assert not bad, f"console/ imports the store: {bad}"
