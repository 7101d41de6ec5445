"""Playwright for Python driving Debian's /usr/bin/chromium (never a downloaded browser), and axe-core."""

from __future__ import annotations

import json
from pathlib import Path

from tests.compat.node import npm_install

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE_VERSION = "4.14.1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def axe_script() -> Path:
    """axe.min.js of the pinned axe-core, installed with npm into the tests' cache on first use."""
    return npm_install("axe-core", AXE_VERSION) / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core run in the page: its violations of the given impacts (rule id, help, failing nodes)."""
    page.add_script_tag(path=str(axe_script()))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in found if v["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, indent=1, ensure_ascii=False)
