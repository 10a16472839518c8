"""Realistic application workbooks of any size for the benchmarks: the bundled examples' enterprises,
varied, with about 5% of rows breaking a rule."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from addin.io.output import save_workbook
from addin.template_spec import live_check_anchors
from addin.templates.application import build_application_template
from addin.templates.bundled import PROVIDERS, credit_code, shihezi_rows, wrong_check_digit
from schemas.money import round_cents
from schemas.policy import load_policy

VIOLATIONS = (
    lambda r: r.update(claimed=r["claimed"] + 1000 if r.get("claimed") else 1000),
    lambda r: r.update(uscc=wrong_check_digit(r["uscc"])),
    lambda r: r.update(contract_date=dt.date(2024, 9, 1)),
    lambda r: r.update(paid="80万"),
    lambda r: r.update(
        consulting=r["consulting"] + 200000,
        contract_total=r["contract_total"] + 200000,
        paid=r["paid"] + 200000,
    ),
)

ROWS_PER_SEED = 100_000


MONEY = ("contract_total", "software", "cloud", "equipment", "consulting", "integration", "other_service")


def _varied_amounts_and_dates(row: dict[str, Any], generator: random.Random, policy: Any) -> dict[str, Any]:
    """Amounts scaled by a random factor (whole 元, fee shares unchanged: the examples' amounts are
    multiples of 10,000) and dates spread over the contract window, so a column has thousands of
    distinct values as real submissions do. The claim is what the rules give."""
    factor = generator.randrange(5_000, 30_000)
    varied = {name: row[name] // 10_000 * factor for name in MONEY}
    varied["paid"] = varied["contract_total"]
    rated = round_cents(Decimal(varied["paid"]) * policy.rate("subsidy_rate"))
    varied["claimed"] = float(min(rated, policy.value("subsidy_cap")[row["level"]]))
    contract = policy.value("contract_window_start") + dt.timedelta(days=generator.randrange(0, 240))
    varied["contract_date"] = contract
    varied["completion_date"] = contract + dt.timedelta(days=generator.randrange(60, 240))
    varied["evaluation_date"] = varied["completion_date"] + dt.timedelta(days=generator.randrange(10, 60))
    return varied


def realistic_rows(count: int, seed: int = 2025, unit: str = "第八师石河子市") -> list[dict[str, Any]]:
    if count > ROWS_PER_SEED:
        raise ValueError(f"at most {ROWS_PER_SEED:,} rows per workbook")
    generator = random.Random(seed)
    policy = load_policy()
    clean = [r for r in shihezi_rows() if r and r.get("remark", "").startswith(("二级", "补贴"))] or [
        r for r in shihezi_rows() if r
    ][:3]
    rows = []
    for n in range(count):
        row = dict(clean[n % len(clean)])
        # each division (seed) has its own enterprises; the number must fit the code's 7 digits
        number = (seed % 90) * ROWS_PER_SEED + n
        row.update(_varied_amounts_and_dates(row, generator, policy))
        row.update(
            name=f"兵团示范企业{number:07d}有限公司",
            uscc=credit_code("659001", f"MA{number:07d}"),
            division=unit,
            provider=PROVIDERS[generator.randrange(len(PROVIDERS))],
            remark=None,
        )
        if generator.random() < 0.05:
            generator.choice(VIOLATIONS)(row)
        rows.append(row)
    return rows


def write_workbook(path: Path, count: int, seed: int = 2025, unit: str = "第八师石河子市") -> Path:
    policy = load_policy()
    workbook = build_application_template(
        policy, rows=count, unit=unit, records=realistic_rows(count, seed, unit)
    )
    save_workbook(workbook, path, dynamic_arrays=live_check_anchors())
    return path
