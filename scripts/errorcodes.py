#!/usr/bin/env python3
"""Write src/localcvm/data/error_codes.json: the error codes the real API documents.

Two public sources, read as data (only the code strings are kept):

- the Go SDK (github.com/TencentCloud/tencentcloud-sdk-go): in
  ``tencentcloud/<product>/<version>/client.go`` the comment block above each action's
  function lists the codes that action may return, one ``//  NAME = "Code"`` line each;
- the Python SDK (tencentcloud-sdk-python, installed): ``tencentcloud/<product>/<version>/
  errorcodes.py`` names every code the product knows.

Usage::

    scripts/errorcodes.py GO_SDK [--python-sdk DIR] [--out FILE]

``GO_SDK`` is a checkout of the Go SDK or its bare git directory (read at HEAD). Re-run it
when either SDK is bumped; the JSON records both versions.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

PRODUCTS = {
    "cvm": "v20170312",
    "cbs": "v20170312",
    "vpc": "v20170312",
    "cam": "v20190116",
    "tag": "v20180813",
    "billing": "v20180709",
}
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "localcvm" / "data" / "error_codes.json"

# An action's own function (not the ...WithContext twin): its comment block precedes it.
FUNC = re.compile(r"^func \(c \*Client\) (\w+)\(request \*(\w+)Request\)")
CODE_LINE = re.compile(r'^//\s+[A-Z0-9_]+ = "([^"]+)"\s*$')


class GoSdk:
    """Files of the Go SDK from a work tree or a (bare) git directory."""

    def __init__(self, path: Path):
        self.path = path
        self.git_dir = path if (path / "HEAD").is_file() and (path / "objects").is_dir() else None
        if self.git_dir is None and (path / ".git").exists():
            self.git_dir = path / ".git"

    def read(self, rel: str) -> str:
        if (self.path / rel).is_file():
            return (self.path / rel).read_text(encoding="utf-8")
        return self._git("show", f"HEAD:{rel}")

    def _git(self, *args: str) -> str:
        if self.git_dir is None:
            raise SystemExit(f"{self.path}: neither a checkout with the file nor a git directory")
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args], check=True, capture_output=True, text=True
        ).stdout

    def version(self) -> dict:
        request = self.read("tencentcloud/common/http/request.go")
        found = re.search(r'"SDK_GO_([0-9.]+)"', request)
        out = {"version": found.group(1) if found else None}
        if self.git_dir is not None:
            out["commit"] = self._git("rev-parse", "HEAD").strip()
        return out


def action_codes(client_go: str) -> dict[str, list[str]]:
    """Action name → the codes listed in the comment block above its function."""
    lines = client_go.splitlines()
    actions: dict[str, list[str]] = {}
    for i, line in enumerate(lines):
        m = FUNC.match(line)
        if not m or m.group(1) != m.group(2):
            continue
        codes = []
        j = i - 1
        while j >= 0 and lines[j].startswith("//"):
            c = CODE_LINE.match(lines[j])
            if c:
                codes.append(c.group(1))
            j -= 1
        actions[m.group(1)] = sorted(set(codes))
    return dict(sorted(actions.items()))


def product_codes(python_sdk: Path, product: str, version: str) -> list[str]:
    """Every code in the Python SDK's errorcodes.py of the product (the string values)."""
    text = (python_sdk / product / version / "errorcodes.py").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^[A-Z0-9_]+ = '([^']+)'", text, flags=re.M)))


def python_sdk_version(python_sdk: Path) -> str | None:
    init = (python_sdk / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)", init)
    return found.group(1) if found else None


def build(go: GoSdk, python_sdk: Path) -> dict:
    products = {}
    for product, version in PRODUCTS.items():
        client = go.read(f"tencentcloud/{product}/{version}/client.go")
        products[product] = {
            "version": version,
            "actions": action_codes(client),
            "codes": product_codes(python_sdk, product, version),
        }
    return {
        "sources": {
            "tencentcloud-sdk-go": go.version(),
            "tencentcloud-sdk-python": {"version": python_sdk_version(python_sdk)},
        },
        "products": products,
    }


def default_python_sdk() -> Path:
    import tencentcloud  # the installed tencentcloud-sdk-python

    return Path(tencentcloud.__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("go_sdk", type=Path, help="Go SDK checkout or git directory")
    parser.add_argument("--python-sdk", type=Path, default=None, help="the installed tencentcloud package")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = build(GoSdk(args.go_sdk), args.python_sdk or default_python_sdk())
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    counts = {p: len(v["actions"]) for p, v in data["products"].items()}
    print(f"wrote {args.out}: actions per product {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
