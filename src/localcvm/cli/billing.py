"""`localcvm billing report`: an account's bill for a month, by product, region and resource (for
operators charging back usage; the same figures as the billing API's DescribeBillResourceSummary)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Optional

import typer

from .common import AsJsonOpt, DataDirOpt, DbOpt, fail, services, sub_app

billing_app = sub_app("Bills: what the usage meter charged each account.")


def _rows(report) -> list[dict]:
    return [{"Product": r.business_code, "Region": r.region, "ResourceId": r.resource_id, "ResourceName": r.name,
             "PayMode": r.pay_mode, "FeeBeginTime": f"{r.begin:%Y-%m-%d %H:%M:%S}",
             "FeeEndTime": f"{r.end:%Y-%m-%d %H:%M:%S}", "Items": r.config,
             "Hours": f"{max((c.hours for c in r.components), default=Decimal(0)).normalize():f}",
             "Cost": f"{r.cost.quantize(Decimal('0.00000001')):f}", "Currency": r.currency} for r in report]


@billing_app.command("report")
def report(
    account: str = typer.Option(..., "--account", help="The account's Uin."),
    month: Optional[str] = typer.Option(None, "--month", help="YYYY-MM [default: the current month of the server's clock]."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV instead of a table."),
    as_json: bool = AsJsonOpt,
    data_dir: Optional[Path] = DataDirOpt,
    database_url: Optional[str] = DbOpt,
):
    """Print an account's bill for a month: one line per resource, with subtotals by product and region."""
    from ..services.errors import ApiError

    svc = services(data_dir, database_url, test_clock=True)  # read the clock a --test-clock server moved
    try:
        month = month or svc.clock.now().strftime("%Y-%m")
        if account not in {a.uin for a in svc.accounts.list_accounts()}:
            fail(f"no account with Uin {account}")
        rows = _rows(svc.billing.report(account, month))
    except ApiError as exc:
        fail(exc.message)
    finally:
        svc.close()
    if as_json:
        typer.echo(json.dumps({"Account": account, "Month": month, "Resources": rows}, ensure_ascii=False, indent=1))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["Product", "Region", "ResourceId", "Cost"])
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(out.getvalue(), nl=False)
        return
    _table(account, month, rows)


def _table(account: str, month: str, rows: list[dict]) -> None:
    currency = rows[0]["Currency"] if rows else ""
    typer.echo(f"Account {account}, {month}")
    typer.echo(f"{'PRODUCT':<8}{'REGION':<18}{'RESOURCE':<32}{'HOURS':>12}{'COST':>18}")
    for r in rows:
        typer.echo(f"{r['Product']:<8}{r['Region']:<18}{r['ResourceId']:<32}{r['Hours']:>12}{r['Cost']:>18}")
    for title, key in (("by product", "Product"), ("by region", "Region")):
        sums: dict[str, Decimal] = {}
        for r in rows:
            sums[r[key]] = sums.get(r[key], Decimal(0)) + Decimal(r["Cost"])
        typer.echo(f"-- {title}")
        for name, cost in sorted(sums.items()):
            typer.echo(f"{name:<58}{cost:>30.8f}")
    total = sum((Decimal(r["Cost"]) for r in rows), Decimal(0))
    typer.echo(f"{'TOTAL ' + currency:<58}{total:>30.8f}")
