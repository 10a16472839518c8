"""A clerk's 合计/小计 row under the data: not an application. It is reported once, where its label is, and
set aside so that it counts nothing (no amount, no row, no enterprise; the tool and the summary add up
the rows themselves)."""

from __future__ import annotations

import re

import pandas as pd

from schemas import uscc
from schemas.registry import Issue, implements, make_issue
from schemas.table import Table

TOTAL_ROW_RULE = "TOTAL_ROW_PRESENT"
TOTAL_WORDS = ("合计", "小计", "总计")
LABEL_COLUMNS = 2  # a total row's label is written in one of the table's first input columns
# What may stand between a total word's characters (合 计, 合\u3000计, 合\n计): the template's highlight
# removes exactly these before it searches, so the two find the same labels.
TOTAL_GAPS = (" ", "\u3000", "\n")
_SAYS_TOTAL = re.compile("|".join(f"[{''.join(TOTAL_GAPS)}]*".join(word) for word in TOTAL_WORDS))


def is_total_label(value: object) -> bool:
    """Text that says 合计, 小计 or 总计 once its TOTAL_GAPS are removed (合 计, 本页小计, 合计：)."""
    return isinstance(value, str) and _SAYS_TOTAL.search(value) is not None


def _labelled(values: pd.Series) -> pd.Series:
    """Which values are total labels. The column's texts are searched at once first (joined by a
    character no label holds): in the usual table none is, and no value is looked at on its own."""
    texts = [value for value in values.tolist() if isinstance(value, str)]
    if not texts or _SAYS_TOTAL.search("\x00".join(texts)) is None:
        return pd.Series(False, index=values.index, dtype=bool)
    return pd.Series([is_total_label(value) for value in values], index=values.index, dtype=bool)


def total_rows(table: Table) -> pd.Series:
    """Per row, the label column of a total row (the first input column saying 合计/小计/总计), or None:
    a row is a total row when it has such a label and no 18-character credit code, as the template's
    highlight decides (an enterprise whose name holds 合计 and whose code is mistyped stays an
    application, reported as such)."""
    frame = table.frame
    labels = pd.Series(None, index=frame.index, dtype=object)
    inputs = [f.id for f in table.fields if not f.computed and f.id in frame.columns][:LABEL_COLUMNS]
    for name in reversed(inputs):  # the first column wins
        labels = labels.mask(_labelled(frame[name]), name)
    if labels.isna().all():  # the usual table: no row says 合计
        return labels
    codes = [f.id for f in table.fields if f.kind == "uscc" and f.id in frame.columns]
    for name in codes:
        has_code = frame[name].map(lambda code: isinstance(code, str) and len(code) == uscc.LENGTH)
        labels = labels.mask(has_code.astype(bool), None)
    return labels


@implements(TOTAL_ROW_RULE)
def total_row_issues(table: Table) -> list[Issue]:
    """One issue per total row, at its label's cell (the issues of its other cells are not reported:
    the row is deleted, not corrected)."""
    labels = total_rows(table).dropna()
    fields = {f.id: f for f in table.fields}
    return [
        make_issue(
            TOTAL_ROW_RULE,
            sheet=table.sheet or None,
            cell=table.raw.cell(name, row) if table.raw is not None else None,
            row=int(row),
            field=name,
            field_label=fields[name].label,
            value=table.frame.at[row, name],
        )
        for row, name in labels.items()
    ]
