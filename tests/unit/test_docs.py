"""The generated docs stay true to the code."""

from pathlib import Path

from localcvm.api.coverage import render

ROOT = Path(__file__).resolve().parents[2]


def test_api_coverage_doc_is_current():
    committed = (ROOT / "docs" / "api-coverage.md").read_text(encoding="utf-8")
    assert committed == render(), "regenerate with: python -m localcvm.api.coverage > docs/api-coverage.md"


def test_api_coverage_lists_every_product_action():
    text = render()
    for action in ("DescribeRegions", "DescribeZones", "RunInstances", "SyncImages", "CreateDisks", "CreateVpc"):
        assert f"| {action} |" in text
    assert "| DescribeZones | implemented |" in text
    assert "| DescribeVpnGatewayRoutes | not yet |" in text
