"""The figures of a consolidation as tables: one source for the summary workbook, the JSON and the
terminal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from addin.check.consolidate import Consolidation
from schemas.calculation import funding_by_source, source_parts
from schemas.money import ZERO, column_total

AWARDS = ("transformation_subsidy", "progress_bonus", "honor_award")
NOT_QUALIFIED = "未达二级或未评测"


Figure = TypeVar("Figure")


def once_per_consolidation(compute: Callable[[Consolidation], Figure]) -> Callable[[Consolidation], Figure]:
    """A figure is computed once per consolidation, then shown by the summary workbook, the JSON, the
    HTML report and the terminal alike (callers do not modify it)."""

    @wraps(compute)
    def cached(c: Consolidation) -> Figure:
        if compute.__name__ not in c.figures:
            c.figures[compute.__name__] = compute(c)
        return c.figures[compute.__name__]

    return cached


@once_per_consolidation
def division_summary(c: Consolidation) -> list[dict[str, Any]]:
    """Per division: counts by level and industry, every award, and every funding source."""
    policy, rows = c.policy, c.rows
    units = [u for u in policy.value("submitting_units") if u in set(rows["division"].dropna())]
    units += sorted(set(rows["division"].dropna()) - set(units))
    result = []
    for unit in units:
        part = rows[rows["division"] == unit]
        entry: dict[str, Any] = {
            "division": unit,
            "enterprises": len(part),
            "eligible": int(part["eligible"].sum()),
        }
        entry["levels"] = {level: int((part["level"] == level).sum()) for level in policy.eligible_levels}
        entry["levels"][NOT_QUALIFIED] = int((~part["level_ok"].astype(bool)).sum())
        entry["industries"] = {
            i: int((part["industry"] == i).sum()) for i in policy.value("pilot_industries")
        }
        entry["awards"] = {award: column_total(part[award]) for award in (*AWARDS, "total_award")}
        entry["sources"] = funding_by_source(part, policy)
        result.append(entry)
    return result


@once_per_consolidation
def disbursement(c: Consolidation) -> list[dict[str, Any]]:
    """第十一条（一）6: per enterprise, the central + 兵团 parts that 兵团财政局 transfers to the division's
    finance bureau, and the 师市 part the division pays itself."""
    rows = c.rows[c.rows["total_award"].map(lambda v: v > 0)] if len(c.rows) else c.rows
    central, bingtuan, division_part = (source_parts(rows, s) for s in ("central", "bingtuan", "division"))
    records = [
        {
            "division": division,
            "name": name,
            "uscc": code,
            "file": file,
            "central": c,
            "bingtuan": b,
            "transferred": c + b,
            "division_fund": d,
            "total": total,
        }
        for division, name, code, file, c, b, d, total in zip(
            rows["division"],
            rows["name"],
            rows["uscc"],
            rows["file"],
            central,
            bingtuan,
            division_part,
            rows["total_award"],
            strict=True,
        )
    ]
    order = {u: n for n, u in enumerate(c.policy.value("submitting_units"))}
    return sorted(records, key=lambda r: (order.get(r["division"], len(order)), r["name"] or ""))


@once_per_consolidation
def provider_ranking(c: Consolidation) -> list[dict[str, Any]]:
    """第十条（三）1: providers by the number of their enterprises reaching 二级 or above (each
    enterprise once, however many workbooks list it)."""
    rows = c.rows[c.rows["provider"].notna()]
    unique = rows.drop_duplicates(subset=["provider", "uscc"])
    ranking = []
    for provider, part in unique.groupby("provider"):
        qualified = part[part["level_ok"].astype(bool)]
        ranking.append(
            {
                "provider": provider,
                "qualified": len(qualified),
                "levels": {
                    level: int((qualified["level"] == level).sum()) for level in c.policy.eligible_levels
                },
                "enterprises": len(part),
            }
        )
    ranking.sort(key=lambda r: (-r["qualified"], -r["enterprises"], r["provider"]))
    rank = 0
    for n, entry in enumerate(ranking):
        if n == 0 or entry["qualified"] != ranking[n - 1]["qualified"]:
            rank = n + 1
        entry["rank"] = rank
    return ranking


@once_per_consolidation
def execution_records(c: Consolidation) -> list[dict[str, Any]]:
    return [
        {
            "line": item.line.name,
            "key": item.line.key,
            "source": item.source,
            "budget": item.budget,
            "committed": item.committed,
            "remaining": item.remaining,
            "rate": item.rate,
        }
        for item in c.execution
    ]


@once_per_consolidation
def source_execution(c: Consolidation) -> dict[str, dict[str, Decimal]]:
    """Per source, over the lines that applications count against: budget and committed."""
    totals: dict[str, dict[str, Decimal]] = {
        s: {"budget": ZERO, "committed": ZERO} for s in c.policy.funding_sources
    }
    for item in c.execution:
        if item.committed is not None:
            totals[item.source]["budget"] += item.budget
            totals[item.source]["committed"] += item.committed
    return totals


@once_per_consolidation
def award_records(c: Consolidation) -> list[dict[str, Any]]:
    """Every awarded row of the awards workbooks: file, sheet, winner, plan line, source, amount."""
    plan = c.policy.plan
    return [
        {
            "file": row.file,
            "sheet": row.sheet,
            "cell": row.cell,
            "name": row.name,
            "key": row.key,
            "line": plan.line(row.line).name if plan else row.line,
            "source": row.source,
            "amount": row.award,
        }
        for row in c.awards.itertuples(index=False)
    ]
