"""The rules across the workbooks of a consolidation: the same enterprise submitted in two workbooks,
the same winner of an award twice, and the typical cases over the 兵团's limit once the awards
workbooks are added up. They run on the rows gathered from every file, through the rule engine. Each
rule here is registered by its test within one workbook (schemas.application_rules, schemas.award_rules):
a rule is registered once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas.awards import award_kinds
from schemas.engine import Rule, only, run_rules
from schemas.money import ZERO
from schemas.policy import Policy
from schemas.registry import Issue, implements
from schemas.table import Table


@dataclass
class RowsInFiles:
    """Where each gathered row sits: `frame` holds its `file`, `sheet` and Excel `row`, and `cell` names
    the column holding the address of the cell an issue is placed at."""

    frame: pd.DataFrame
    cell: str
    sheet: str = ""

    def locate(self, issues: list[Issue]) -> list[Issue]:
        for issue in issues:
            row = self.frame.loc[issue.row]
            issue.file, issue.sheet, issue.cell, issue.row = (
                row["file"],
                row["sheet"],
                row[self.cell],
                int(row["row"]),
            )
        return issues


def gathered(frame: pd.DataFrame, policy: Policy, cell: str) -> Table:
    """A table of rows gathered from several files (already converted and checked in their own file)."""
    frame = frame.reset_index(drop=True)
    return Table.of_figures(frame, policy, RowsInFiles(frame, cell))


def in_other_files(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Rows whose `keys` are also found in another file."""
    present = frame[keys].notna().all(axis=1)
    files = frame[present].groupby(keys)["file"].transform("nunique")
    return (files > 1).reindex(frame.index, fill_value=False).astype(bool)


def other_places(frame: pd.DataFrame, keys: list[str], cell: str, rows: pd.Index) -> list[str]:
    """For each of `rows`, the places in other files holding the same keys: file sheet!cell；…"""
    place = frame["file"] + " " + frame["sheet"] + "!" + frame[cell].astype(str)
    grouped = frame.groupby(keys, sort=False).indices
    found = []
    for row in rows:
        key = tuple(frame.loc[row, keys]) if len(keys) > 1 else frame.loc[row, keys[0]]
        same = grouped[key]
        found.append(
            "；".join(place.iloc[n] for n in same if frame["file"].iloc[n] != frame.loc[row, "file"])
        )
    return found


def _duplicate_enterprise(table: Table, column: pd.Series) -> pd.Series:
    return in_other_files(table.frame, ["uscc"])


def _duplicate_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": table.frame.loc[rows, "uscc"],
        "expected": other_places(table.frame, ["uscc"], "uscc_cell", rows),
    }


APPLICATION_RULES = (Rule("DUPLICATE_ENTERPRISE", only("uscc"), _duplicate_enterprise, _duplicate_details),)


def application_issues(rows: pd.DataFrame, policy: Policy) -> list[Issue]:
    """The same credit code in two or more application workbooks: an issue at each, naming the others."""
    return run_rules(APPLICATION_RULES, gathered(rows, policy, "uscc_cell"), "汇总")


@implements("LEDGER_TO_RECOVER")
def _paid_beyond(table: Table, column: pd.Series) -> pd.Series:
    return table.frame["to_recover"].map(lambda amount: amount > 0).astype(bool)


def _paid_beyond_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    frame = table.frame.loc[rows]
    return {
        "value": frame["uscc"],
        "paid": frame["paid_total"],
        "expected": frame["paid_total"] - frame["to_recover"],
        "excess": frame["to_recover"],
    }


LEDGER_RULES = (Rule("LEDGER_TO_RECOVER", only("uscc"), _paid_beyond, _paid_beyond_details),)


def recovery_issues(
    rows: pd.DataFrame, paid: pd.Series, to_recover: pd.Series, policy: Policy
) -> list[Issue]:
    """Rows whose enterprise the ledger paid beyond what they now commit (`paid`: Σ the ledger paid the
    row's enterprise on the row's lines; `to_recover`: the part of it beyond the commitment)."""
    frame = rows.assign(paid_total=paid.to_numpy(dtype=object), to_recover=to_recover.to_numpy(dtype=object))
    return run_rules(LEDGER_RULES, gathered(frame, policy, "uscc_cell"), "汇总")


@implements("LEDGER_PAID_UNDER_OTHER_CODE")
def _paid_under_other_code(table: Table, column: pd.Series) -> pd.Series:
    return table.frame["other_codes"].map(bool).astype(bool)


def _other_code_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    frame = table.frame.loc[rows]
    return {
        "value": frame["uscc"],
        "unit": frame["unit"],
        "name": frame["name"],
        "expected": frame["other_codes"].map(lambda paid: "、".join(paid)),
        "paid": frame["other_codes"].map(lambda paid: sum(paid.values(), ZERO)),
    }


OTHER_CODE_RULES = (
    Rule("LEDGER_PAID_UNDER_OTHER_CODE", only("uscc"), _paid_under_other_code, _other_code_details),
)


def paid_under_other_codes(rows: pd.DataFrame, others: list[dict[str, Any]], policy: Policy) -> list[Issue]:
    """Rows the ledger paid nothing under their credit code, whose unit and name it paid under another
    (`others`: per row, Σ paid per other code; empty where none)."""
    return run_rules(OTHER_CODE_RULES, gathered(rows.assign(other_codes=others), policy, "uscc_cell"), "汇总")


def _award_duplicate(table: Table, column: pd.Series) -> pd.Series:
    return in_other_files(table.frame, ["kind", "key"])


def _award_duplicate_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    frame = table.frame.loc[rows]
    return {
        "field": None,
        "value": frame["key"],
        "expected": other_places(table.frame, ["kind", "key"], "cell", rows),
        "sheet_name": frame["sheet"],
        "field_clause": frame["kind"].map(lambda kind: table.policy.awards[kind]["clause"]),
    }


def _count_past_limit(table: Table) -> pd.Series:
    """Per row, its number among the awards of its kind in all files, where that passes the limit while
    its own file stays within it (past the limit in its own file, that file's check says so)."""

    def ordinals() -> pd.Series:
        frame = table.frame
        beyond = pd.Series(pd.NA, index=frame.index, dtype=object)
        for kind in award_kinds(table.policy):
            if not kind.count_limit:
                continue
            limit = int(table.policy.value(kind.count_limit))
            rows = frame[frame["kind"] == kind.id]
            ordinal = pd.Series(range(1, len(rows) + 1), index=rows.index)
            within_file = rows.groupby("file").cumcount() + 1
            past = (ordinal > limit) & (within_file <= limit)
            beyond[past[past].index] = ordinal[past]
        return beyond

    return table.once("count_past_limit", ordinals)


def _award_count_exceeded(table: Table, column: pd.Series) -> pd.Series:
    return _count_past_limit(table).notna()


def _award_count_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    kinds = {kind.id: kind for kind in award_kinds(table.policy)}
    limits = table.frame.loc[rows, "kind"].map(lambda kind: int(table.policy.value(kinds[kind].count_limit)))
    return {"field": None, "value": _count_past_limit(table).loc[rows].astype(int), "expected": limits}


AWARD_RULES = (
    Rule("AWARD_DUPLICATE", only("key"), _award_duplicate, _award_duplicate_details),
    Rule("AWARD_COUNT_EXCEEDED", only("key"), _award_count_exceeded, _award_count_details),
)


def award_issues(awards: pd.DataFrame, policy: Policy) -> list[Issue]:
    """The same winner of the same award in two awards workbooks; typical cases over the 兵团's limit
    when the workbooks are added up."""
    return run_rules(AWARD_RULES, gathered(awards, policy, "cell"), "汇总")
