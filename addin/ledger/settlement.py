"""A consolidation's rows against the ledger: each row's amount per plan line and funding source (its
`<award>:<source>` columns, gathered by the plan line each award counts against), settled against what
earlier batches paid (schemas.ledger_balance). No database here: the ledger's figures come in as a
PaidBefore."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas.fields import part_field
from schemas.ledger_balance import FIGURES, PaidBefore, Part, Settled, row_status
from schemas.money import ZERO
from schemas.policy import Policy

TOTAL = "total"


def source_field(source: str) -> str:
    """How the JSON names a funding source's amount (division -> division_fund)."""
    return part_field(source)


def money_shape(sources: Iterable[str]) -> dict[str, Decimal]:
    """Zero per funding source (as the JSON names them) and in total: the shape of `payable`."""
    return {**{source_field(s): ZERO for s in sources}, TOTAL: ZERO}


def line_columns(rows: pd.DataFrame, policy: Policy) -> list[tuple[str, str, str, list[str]]]:
    """(line key, line name, source, the `<award>:<source>` columns counting against it) for every plan
    line and source that application rows commit money to; an award no plan line takes is a line of
    its own."""
    parts = [c for c in rows.columns if ":" in c]
    taken: set[str] = set()
    found = []
    lines = policy.plan.lines if policy.plan else ()
    for line in lines:
        for source in policy.funding_sources:
            columns = [f"{award}:{source}" for award in line.awards if f"{award}:{source}" in parts]
            if columns:
                found.append((line.key, line.name, source, columns))
                taken.update(columns)
    for column in parts:
        if column not in taken:
            award, _, source = column.partition(":")
            found.append((award, award, source, [column]))
    return found


def enterprise_keys(rows: pd.DataFrame) -> list[str]:
    """Who each row is in the books: its credit code, else its name."""
    codes, names = rows["uscc"].tolist(), rows["name"].tolist()
    return [str(code) if code else str(name or "") for code, name in zip(codes, names, strict=True)]


def parts_of(rows: pd.DataFrame, policy: Policy, paid: PaidBefore) -> list[Part]:
    """Every row's committed amount per line and source that is not zero or was paid before."""
    keys = enterprise_keys(rows)
    payable = rows["payable"].astype(bool).tolist()
    parts = []
    for line, _name, source, columns in line_columns(rows, policy):
        committed = rows[columns].sum(axis=1).tolist() if len(rows) else []
        for n, amount in enumerate(committed):
            if amount or (keys[n], line, source) in paid.by_key:
                parts.append(Part(n, keys[n], line, source, Decimal(amount), payable[n]))
    parts.sort(key=lambda p: p.row)  # in the list's order (settle: a payment goes to payable rows first)
    return parts


def row_columns(settled: list[Settled], rows: pd.DataFrame, policy: Policy, paid: PaidBefore) -> pd.DataFrame:
    """Per row: each figure as the JSON's money shape, the row's standing (已拨付, 补拨, 应追回), the
    batches that paid it, and its parts line by line."""
    names = {key: name for key, name, _s, _c in line_columns(rows, policy)}
    by_row: dict[int, list[Settled]] = {}
    for item in settled:
        by_row.setdefault(item.part.row, []).append(item)
    keys = enterprise_keys(rows)
    records: list[dict[str, Any]] = []
    for n in range(len(rows)):
        items = by_row.get(n, [])
        record: dict[str, Any] = {figure: money_shape(policy.funding_sources) for figure in FIGURES}
        for item in items:
            for figure in FIGURES:
                amount = getattr(item, figure)
                record[figure][source_field(item.part.source)] += amount
                record[figure][TOTAL] += amount
        record["ledger_status"] = row_status(items)
        record["paid_in"] = (
            paid.batches.get(keys[n], []) if any(i.paid_before or i.to_recover for i in items) else []
        )
        record["lines"] = [
            {
                "line": item.part.line,
                "line_name": names.get(item.part.line, item.part.line),
                "source": item.part.source,
                "committed": item.part.committed,
                **{figure: getattr(item, figure) for figure in FIGURES},
            }
            for item in items
        ]
        records.append(record)
    return pd.DataFrame(records, index=rows.index, columns=[*FIGURES, "ledger_status", "paid_in", "lines"])


def settled_totals(settled: list[Settled], policy: Policy) -> dict[str, dict[str, Decimal]]:
    """Σ of each figure per funding source (as the JSON names them) and in total."""
    totals = {figure: money_shape(policy.funding_sources) for figure in FIGURES}
    for item in settled:
        for figure in FIGURES:
            amount = getattr(item, figure)
            totals[figure][source_field(item.part.source)] += amount
            totals[figure][TOTAL] += amount
    return totals
