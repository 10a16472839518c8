"""The figures of a consolidation as tables: one source for the summary workbook, the JSON and the
terminal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

import pandas as pd

from addin.check.consolidate import Consolidation, settlement
from addin.ledger.settlement import lines_by_row, row_columns, settled_totals
from addin.reports.labels import enterprises
from schemas.calculation import award_labels, funding_by_source, source_parts
from schemas.disbursement import HOLD_COLUMNS, on_disbursement_list
from schemas.fields import part_fields
from schemas.ledger_balance import PaidBefore
from schemas.money import ZERO, column_total
from schemas.policy import Policy

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
    divisions = set(rows["division"].dropna())
    units = [u for u in policy.value("submitting_units") if u in divisions]
    units += sorted(divisions - set(units))
    positions = rows.groupby("division", sort=False).indices  # each division's rows, found in one pass
    result = []
    for unit in units:
        part = rows.iloc[positions[unit]]
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
        entry["awards"] = {award: column_total(part[award]) for award in award_labels(policy)}
        entry["sources"] = funding_by_source(part, policy)
        result.append(entry)
    return result


LISTED_COLUMNS = ("unit", "division", "name", "uscc", "file", "sheet", "row")
DISBURSEMENT_MONEY = ("central", "bingtuan", "transferred", "division_fund", "total")


def _by_source(rows: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per row, every award's part from each funding source (named as the JSON names them) and the total."""
    parts = {field: source_parts(rows, source) for source, field in part_fields(policy).items()}
    return pd.DataFrame({**parts, "total": rows["total_award"]}, index=rows.index)


@once_per_consolidation
def listed_rows(c: Consolidation) -> pd.Index:
    """The application rows the disbursement list shows (those with something to pay or something
    holding them), in its order: by unit, file and row."""
    rows = c.rows
    listed = rows[on_disbursement_list(rows["payable"], rows["total_award"])]
    order = {unit: n for n, unit in enumerate(c.policy.value("submitting_units"))}
    units = [order.get(unit, len(order)) for unit in listed["unit"].tolist()]
    keys = pd.DataFrame({"unit": units, "file": listed["file"], "row": listed["row"]}, index=listed.index)
    return keys.sort_values(["unit", "file", "row"], kind="stable").index


@once_per_consolidation
def disbursement_frame(c: Consolidation) -> pd.DataFrame:
    """第十一条（一）6: per enterprise and file, who and where, the central + 兵团 parts that 兵团财政局
    transfers to the division's finance bureau (`transferred`) and the 师市 part the division pays itself;
    whether it can be paid (`payable`) and the rules holding it (lists); what the ledger paid before
    (settlement.row_columns). In the list's order (listed_rows)."""
    listed = listed_rows(c)
    rows = c.rows.loc[listed]
    frame = pd.concat([rows[list(LISTED_COLUMNS)], _by_source(rows, c.policy)], axis=1)
    frame.insert(frame.columns.get_loc("division_fund"), "transferred", frame["central"] + frame["bingtuan"])
    frame["payable"] = rows["payable"].astype(bool)
    for column in HOLD_COLUMNS[1:]:
        frame[column] = [list(rules) for rules in rows[column].tolist()]
    frame = frame.join(ledger_columns(c).loc[listed])
    return frame.reset_index(drop=True)


@once_per_consolidation
def disbursement(c: Consolidation) -> list[dict[str, Any]]:
    """The disbursement list as records (see disbursement_frame)."""
    return records_of(disbursement_frame(c))


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts of plain Python values (DataFrame.to_dict boxes each value: slower)."""
    columns = list(frame.columns)
    rows = zip(*(frame[column].tolist() for column in columns), strict=True)
    return [dict(zip(columns, values, strict=True)) for values in rows]


def ledger_settlement(c: Consolidation) -> pd.DataFrame:
    """Every row's amount per plan line and source against what the ledger paid before (nothing without
    a ledger): consolidate.settlement, worked out once."""
    return settlement(c)


@once_per_consolidation
def ledger_columns(c: Consolidation) -> pd.DataFrame:
    """Per application row: paid_before, to_pay, held, to_recover (each per source and total), its
    standing in the books and the batches that paid it."""
    return row_columns(ledger_settlement(c), c.rows, c.policy, c.paid or PaidBefore())


@once_per_consolidation
def ledger_lines(c: Consolidation) -> pd.Series:
    """Per application row, its parts by plan line and source against the ledger (the JSON's `lines`)."""
    return lines_by_row(ledger_settlement(c), c.rows, c.policy)


@once_per_consolidation
def disbursement_totals(c: Consolidation) -> dict[str, dict[str, Decimal]]:
    """Σ per funding source, and in all: what can be paid now (`payable`: committed − paid before, of the
    rows nothing holds), what is held (`held`), what earlier batches paid (`paid_before`) and what they
    paid beyond the commitment (`to_recover`). payable + held + paid_before is what the rows commit."""
    totals = settled_totals(ledger_settlement(c), c.policy)
    return {
        "payable": totals["to_pay"],
        "held": totals["held"],
        "paid_before": totals["paid_before"],
        "to_recover": totals["to_recover"],
    }


@once_per_consolidation
def disbursement_overview(c: Consolidation) -> list[dict[str, Any]]:
    """可拨付, 暂缓拨付 and the two together: the enterprises and Σ per source and in all."""
    frame, totals = disbursement_frame(c), disbursement_totals(c)
    codes, payable = frame["uscc"], frame["payable"].to_numpy(dtype=bool)
    both = {key: totals["payable"][key] + totals["held"][key] for key in totals["payable"]}
    return [
        {"label": "可拨付", "enterprises": enterprises(codes[payable]), **totals["payable"]},
        {"label": "暂缓拨付", "enterprises": enterprises(codes[~payable]), **totals["held"]},
        {"label": "合计", "enterprises": enterprises(codes), **both},
    ]


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
            "payable": item.payable,
            "remaining": item.remaining,
            "rate": item.rate,
        }
        for item in c.execution
    ]


@once_per_consolidation
def source_execution(c: Consolidation) -> dict[str, dict[str, Decimal]]:
    """Per source, over the lines that applications count against: budget, committed and payable."""
    totals: dict[str, dict[str, Decimal]] = {
        s: {"budget": ZERO, "committed": ZERO, "payable": ZERO} for s in c.policy.funding_sources
    }
    for item in c.execution:
        if item.committed is not None:
            totals[item.source]["budget"] += item.budget
            totals[item.source]["committed"] += item.committed
            totals[item.source]["payable"] += item.payable or ZERO
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


@dataclass(frozen=True)
class FileCounts:
    """The files of a consolidation: every one found (the plan and Excel's lock files aside), those
    summed, and those left out (replaced, a tie, skipped, unreadable). Every report shows these three."""

    found: int
    summed: int
    left_out: int

    def sentence(self) -> str:
        return f"找到 {self.found} 个文件，汇总 {self.summed} 个，未纳入 {self.left_out} 个"

    def record(self) -> dict[str, int]:
        return {"found": self.found, "summed": self.summed, "left_out": self.left_out}


@once_per_consolidation
def file_counts(c: Consolidation) -> FileCounts:
    """The one count of files that the terminal, the JSON, the HTML report and the workbook show."""
    found = [*c.files, *c.replaced]
    summed = sum(1 for r in found if c.status(r) == "consolidated")
    return FileCounts(found=len(found), summed=summed, left_out=len(found) - summed)


LEFT_OUT_RULES = {"replaced": "FILE_REPLACED", "submitted_twice": "UNIT_SUBMITTED_TWICE"}


@once_per_consolidation
def left_out_files(c: Consolidation) -> list[dict[str, Any]]:
    """Every file found and not summed: its unit, 版本号, SHA-256, status, and why (the message of the
    rule that left it out, and the rule's id); in the order of the policy's units."""
    records = []
    for result in (*c.files, *c.replaced):
        status = c.status(result)
        if status == "consolidated":
            continue
        label = c.label(result)
        rule_id = LEFT_OUT_RULES.get(status)
        own = [i for i in c.issues if i.rule == rule_id and i.file == label] if rule_id else []
        cause = own[0] if own else (result.issues[0] if result.issues else None)
        records.append(
            {
                "file": label,
                "unit": result.unit,
                "revision": result.revision,
                "sha256": result.sha256,
                "status": status,
                "replaced_by": c.replaced_by.get(label),
                "reason": cause.message if cause else "",
                "rule": cause.rule if cause else "",
                "unit_left_out": bool(result.unit) and not _unit_summed(c, result),
            }
        )
    order = {unit: n for n, unit in enumerate(c.policy.value("submitting_units"))}
    records.sort(key=lambda r: (order.get(r["unit"], len(order)), r["file"]))
    return records


def _unit_summed(c: Consolidation, result: Any) -> bool:
    """Whether another file of the same unit and kind is summed."""
    return any(
        r.unit == result.unit and r.kind == result.template_kind and c.status(r) == "consolidated"
        for r in c.files
    )


@once_per_consolidation
def summed_files(c: Consolidation) -> dict[str, dict[str, Any]]:
    """Per summed file's label: its unit, 版本号, 报送日期 and SHA-256 (where each division's rows come from)."""
    return {
        c.label(r): {
            "unit": r.unit,
            "revision": r.revision,
            "submitted_on": r.submitted_on,
            "sha256": r.sha256,
        }
        for r in c.files
        if c.status(r) == "consolidated"
    }
