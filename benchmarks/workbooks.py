"""Realistic application workbooks of any size for the benchmarks: the bundled examples' enterprises,
varied, with about 5% of rows breaking a rule."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from addin.bundled import PROVIDERS, credit_code, shihezi_rows, wrong_check_digit
from addin.output import save_workbook
from addin.template_application import build_application_template
from addin.template_spec import live_check_anchors
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


def realistic_rows(count: int, seed: int = 2025, unit: str = "第八师石河子市") -> list[dict[str, Any]]:
    generator = random.Random(seed)
    clean = [r for r in shihezi_rows() if r and r.get("remark", "").startswith(("二级", "补贴"))] or [
        r for r in shihezi_rows() if r
    ][:3]
    rows = []
    for n in range(count):
        row = dict(clean[n % len(clean)])
        number = seed * count + n  # each division (seed) has its own enterprises
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
