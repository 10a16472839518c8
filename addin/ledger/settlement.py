"""A consolidation's rows against the ledger: each row's amount per plan line and funding source (its
`<award>:<source>` columns, gathered by the plan line each award counts against), settled against what
earlier batches paid (schemas.ledger_balance). No database here: the ledger's figures come in as a
PaidBefore."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from schemas.fields import part_field
from schemas.ledger_balance import FIGURES, PART_COLUMNS, UNSETTLED, PaidBefore, standing
from schemas.money import ZERO, two_place_texts
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


def parts_of(rows: pd.DataFrame, policy: Policy, paid: PaidBefore) -> pd.DataFrame:
    """Every row's committed amount per line and source that is not zero or was paid before, as
    schemas.ledger_balance.PART_COLUMNS, in the list's order (settle: a payment goes to payable rows
    first) and, within a row, line by line."""
    keys = enterprise_keys(rows)
    payable = rows["payable"].astype(bool).to_numpy()
    unknown = ~rows["readable"].astype(bool).to_numpy() if "readable" in rows.columns else None
    pieces = []
    for line, _name, source, columns in line_columns(rows, policy):
        committed = rows[columns[0]] if len(columns) == 1 else rows[columns].sum(axis=1)
        kept = (committed != 0).to_numpy(dtype=bool)
        if paid.by_key:
            kept = kept | np.array([(key, line, source) in paid.by_key for key in keys], dtype=bool)
            if unknown is not None and unknown.any():
                # a row whose amounts could not be computed commits what is not known: settled as
                # what was paid (nothing to pay, nothing to recover) until its values are corrected
                committed = committed.copy()
                for n in np.flatnonzero(unknown).tolist():
                    committed.iloc[n] = paid.by_key.get((keys[n], line, source), committed.iloc[n])
        positions = np.flatnonzero(kept)
        pieces.append(
            pd.DataFrame(
                {
                    "row": positions,
                    "enterprise": [keys[n] for n in positions],
                    "line": line,
                    "source": source,
                    "committed": committed.to_numpy(dtype=object)[positions],
                    "payable": payable[positions],
                },
                columns=list(PART_COLUMNS),
            )
        )
    if not pieces:
        return pd.DataFrame({column: [] for column in PART_COLUMNS}).astype({"committed": object})
    parts = pd.concat(pieces, ignore_index=True)
    return parts.sort_values("row", kind="stable").reset_index(drop=True)


def figure_per_row(settled: pd.DataFrame, figure: str, count: int) -> np.ndarray:
    """Σ of one figure (FIGURES) of the settled parts per row of a list of `count` rows."""
    amounts = settled[figure].to_numpy(dtype=object)
    return sums_per_row(settled["row"].to_numpy(dtype=int), amounts, (amounts != 0).astype(bool), count)


def to_pay_by_line(settled: pd.DataFrame) -> dict[tuple[str, str], Decimal]:
    """Σ to pay now per plan line and funding source of the settled parts."""
    sums: dict[tuple[str, str], Decimal] = {}
    for line, source, amount in zip(
        settled["line"].tolist(), settled["source"].tolist(), settled["to_pay"].tolist(), strict=True
    ):
        if amount:
            sums[(line, source)] = sums.get((line, source), ZERO) + amount
    return sums


def ledger_field(figure: str, key: str) -> str:
    """The column of one figure's amount per funding source (as the JSON names it) or in total."""
    return f"{figure}:{key}"


def money_keys(policy: Policy) -> list[str]:
    """The keys of the JSON's money shape: each funding source as the JSON names it, and the total."""
    return [*(source_field(s) for s in policy.funding_sources), TOTAL]


def sums_per_row(rows: np.ndarray, amounts: np.ndarray, chosen: np.ndarray, count: int) -> np.ndarray:
    """Σ of the chosen parts' amounts per row of the list (ZERO where it has none): the parts of one
    source or all, that are not zero (most of a figure's are: nothing paid before, nothing held; and
    numpy adds Decimals one Python call at a time)."""
    sums = np.full(count, ZERO, dtype=object)
    np.add.at(sums, rows[chosen], amounts[chosen])
    return sums


def row_columns(settled: pd.DataFrame, rows: pd.DataFrame, policy: Policy, paid: PaidBefore) -> pd.DataFrame:
    """Per row: each figure per funding source and in total (`ledger_field` columns, in FIGURES order),
    the row's standing (已拨付, 补拨, 应追回) and the batches that paid it."""
    count = len(rows)
    at = settled["row"].to_numpy(dtype=int)
    of_source = source_masks(settled, policy)
    columns: dict[str, Any] = {}
    flags: dict[str, np.ndarray] = {}
    for figure in FIGURES:
        amounts = settled[figure].to_numpy(dtype=object)
        nonzero = (amounts != 0).astype(bool)
        for source, key in zip([*policy.funding_sources, None], money_keys(policy), strict=True):
            chosen = nonzero if source is None else nonzero & of_source[source]
            columns[ledger_field(figure, key)] = sums_per_row(at, amounts, chosen, count)
        flags[figure] = np.bincount(at[nonzero], minlength=count) > 0
    statuses = list(map(standing, *(flags[figure].tolist() for figure in FIGURES)))
    if "readable" in rows.columns:  # a row whose amounts could not be computed: nothing settled on it
        unknown = (~rows["readable"].astype(bool).to_numpy()) & (flags["paid_before"] | flags["to_recover"])
        for n in np.flatnonzero(unknown).tolist():
            statuses[n] = UNSETTLED
    columns["ledger_status"] = statuses
    paid_in: list[list[str]] = [[] for _ in range(count)]
    touched = np.flatnonzero(flags["paid_before"] | flags["to_recover"]).tolist()  # rows paid before
    keys = enterprise_keys(rows) if touched else []
    for n in touched:
        paid_in[n] = paid.batches.get(keys[n], [])
    columns["paid_in"] = paid_in
    return pd.DataFrame(columns, index=rows.index)


def lines_by_row(settled: pd.DataFrame, rows: pd.DataFrame, policy: Policy) -> pd.Series:
    """Per row, its parts (what the JSON lists as `lines`): line, its name, source, and every amount as
    a two-place text."""
    names = {key: name for key, name, _s, _c in line_columns(rows, policy)}
    by_row: list[list[dict[str, Any]]] = [[] for _ in range(len(rows))]
    texts = [two_place_texts(settled[money]) for money in ("committed", *FIGURES)] if len(settled) else []
    for row, line, source, *amounts in zip(
        settled["row"].tolist(), settled["line"].tolist(), settled["source"].tolist(), *texts, strict=True
    ):
        by_row[row].append(
            {
                "line": line,
                "line_name": names.get(line, line),
                "source": source,
                **dict(zip(("committed", *FIGURES), amounts, strict=True)),
            }
        )
    return pd.Series(by_row, index=rows.index, dtype=object)


def source_masks(settled: pd.DataFrame, policy: Policy) -> dict[str, np.ndarray]:
    """Per funding source, which parts are of it (the sources told apart once, not once a source)."""
    codes, found = pd.factorize(settled["source"])
    position = {source: n for n, source in enumerate(found)}
    return {
        source: codes == position[source] if source in position else np.zeros(len(codes), dtype=bool)
        for source in policy.funding_sources
    }


def settled_totals(settled: pd.DataFrame, policy: Policy) -> dict[str, dict[str, Decimal]]:
    """Σ of each figure per funding source (as the JSON names them) and in total."""
    totals = {figure: money_shape(policy.funding_sources) for figure in FIGURES}
    masks = source_masks(settled, policy)
    for figure in FIGURES:
        amounts = settled[figure].to_numpy(dtype=object)
        for source, of_source in masks.items():
            amount = sum(amounts[of_source].tolist(), ZERO)
            totals[figure][source_field(source)] += amount
            totals[figure][TOTAL] += amount
    return totals
