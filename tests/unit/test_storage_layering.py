"""The storage layers stay low level: blobs/, imaging/ and fsio.py import nothing of the
product layers (store, api, services, hypervisor), and only blobs.registry reads the settings."""

from __future__ import annotations

import ast
from pathlib import Path

import localcvm

SRC = Path(localcvm.__file__).parent
# what each layer may import from the rest of localcvm (besides itself)
ALLOWED = {
    "blobs": {"fsio"},
    "imaging": {"fsio", "blobs"},
    "fsio": set(),
}


def localcvm_imports(path: Path) -> set[str]:
    """The localcvm subpackages/modules ``path`` imports, as top-level names (``store``, ``blobs``...)."""
    depth = len(path.relative_to(SRC).parts)  # 1 for localcvm/fsio.py, 2 for localcvm/blobs/x.py
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            dotted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            dotted = [node.module or ""]
        elif isinstance(node, ast.ImportFrom):
            up = path.relative_to(SRC).parts[: depth - node.level]  # the package the dots name, below localcvm
            if up:
                found.add(up[0])
                continue
            dotted = ["localcvm." + (node.module or a.name) for a in node.names]
        else:
            continue
        found.update(d.split(".")[1] for d in dotted if d.startswith("localcvm."))
    return found


def test_storage_layers_import_only_what_they_may():
    for package, allowed in ALLOWED.items():
        files = [SRC / "fsio.py"] if package == "fsio" else sorted((SRC / package).glob("*.py"))
        assert files
        for path in files:
            extra = localcvm_imports(path) - {package}
            if path == SRC / "blobs" / "registry.py":
                extra.discard("config")
            assert extra <= allowed, f"{path.relative_to(SRC)} imports {sorted(extra - allowed)}"
