"""Application workbooks of any size for the benchmarks: realistic ones (the bundled examples'
enterprises, varied, with about 5% of rows breaking a rule), issue-heavy ones (rows cycling through the
bundled example's hand-written cases, most of which break a rule), and a later revision of either."""

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
from schemas.uscc import problem as code_problem

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


def hand_case_rows(count: int, seed: int = 2025, unit: str = "第八师石河子市") -> list[dict[str, Any]]:
    """Rows cycling through the bundled example's hand-written cases (most break a rule on purpose:
    a fee share over its cap, a claim over the subsidy, a text amount, a wrong check digit, an early
    contract, a first-level enterprise, a missing date), each with a name and credit code of its own;
    a case whose code is wrong keeps a wrong one."""
    if count > ROWS_PER_SEED:
        raise ValueError(f"at most {ROWS_PER_SEED:,} rows per workbook")
    cases = [r for r in shihezi_rows() if r]
    rows = []
    for n in range(count):
        case = cases[n % len(cases)]
        number = (seed % 90) * ROWS_PER_SEED + n
        code = credit_code("659001", f"MA{number:07d}")
        rows.append(
            dict(
                case,
                name=f"兵团示范企业{number:07d}有限公司",
                uscc=wrong_check_digit(code) if code_problem(case["uscc"]) else code,
                division=unit,
            )
        )
    return rows


def revised(rows: list[dict[str, Any]], share: float = 0.05, seed: int = 7) -> list[dict[str, Any]]:
    """A later revision of ROWS: about SHARE of the rows with a changed amount (and the total and
    payment that follow it) or a changed text, 1% removed and as many new rows added at the end."""
    generator = random.Random(seed)
    out = []
    for row in rows:
        draw = generator.random()
        if draw < 0.01:
            continue  # removed
        row = dict(row)
        if draw < 0.01 + share:
            if isinstance(row.get("consulting"), int) and isinstance(row.get("contract_total"), int):
                row.update(
                    consulting=row["consulting"] + 10_000, contract_total=row["contract_total"] + 10_000
                )
            else:
                row.update(remark="已更正")
        out.append(row)
    removed = len(rows) - len(out)
    for n in range(removed):
        extra = dict(rows[n % len(rows)])
        extra.update(name=f"兵团新增企业{n:07d}有限公司", uscc=credit_code("659009", f"MB{n:07d}"))
        out.append(extra)
    return out


def write_rows(
    path: Path, rows: list[dict[str, Any]], unit: str = "第八师石河子市", revision: int = 1
) -> Path:
    policy = load_policy()
    workbook = build_application_template(policy, rows=len(rows), unit=unit, records=rows, revision=revision)
    save_workbook(workbook, path, dynamic_arrays=live_check_anchors())
    return path


def write_workbook(path: Path, count: int, seed: int = 2025, unit: str = "第八师石河子市") -> Path:
    return write_rows(path, realistic_rows(count, seed, unit), unit)
