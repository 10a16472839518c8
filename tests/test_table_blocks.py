"""A table converted and computed block by block (as a large sheet is read, part by part) is the
table converted and computed whole."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from addin.check.identity import identify
from addin.check.pipeline import check_computed, compute_blocks, compute_table
from addin.check.table import RawTable, distinct_values
from addin.templates.bundled import EXAMPLES, REPOSITORY
from schemas.fields import application_fields
from schemas.policy import load_policy

POLICY = load_policy()
# Every example's rows in one table: blanks, text numbers, broken codes and dates, every rule.
_TABLES = [
    identify(REPOSITORY / relative).read_table({f.id: f.id for f in application_fields()})
    for relative in EXAMPLES.values()
]
TABLE = RawTable(
    sheet=_TABLES[0].sheet,
    rows=list(range(5, 5 + sum(len(t.rows) for t in _TABLES))),
    values={name: [v for t in _TABLES for v in t.values[name]] for name in _TABLES[0].values},
    columns=_TABLES[0].columns,
)


def _blocks(table: RawTable, cuts: list[int]) -> list[RawTable]:
    bounds = [0, *sorted(set(cuts)), len(table.rows)]
    return [
        RawTable(
            sheet=table.sheet,
            rows=table.rows[start:end],
            values={name: column[start:end] for name, column in table.values.items()},
            columns=table.columns,
        )
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]


def _issues(result) -> list[tuple]:
    return [(i.rule, i.row, i.field, i.cell, i.message, i.fix) for i in result.issues]


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(TABLE.rows)), max_size=8))
def test_blocks_of_any_size_give_the_whole_tables_result(cuts: list[int]) -> None:
    whole = compute_table(TABLE, POLICY)
    parts = compute_blocks(_blocks(TABLE, cuts), POLICY)
    assert parts.raw.rows == whole.raw.rows and parts.raw.values == whole.raw.values
    pd.testing.assert_frame_equal(parts.frame, whole.frame)
    pd.testing.assert_frame_equal(parts.failed, whole.failed)
    pd.testing.assert_frame_equal(parts.stored, whole.stored)
    pd.testing.assert_frame_equal(parts.amounts, whole.amounts)
    assert _issues(check_computed(parts, POLICY)) == _issues(check_computed(whole, POLICY))


def test_a_table_of_blank_blocks_is_an_empty_table() -> None:
    blank = RawTable(
        sheet=TABLE.sheet,
        rows=[5, 6, 7],
        values={name: [None, "", None] for name in TABLE.values},
        columns=TABLE.columns,
    )
    result = check_computed(compute_blocks(_blocks(blank, [1, 2]), POLICY), POLICY)
    assert result.raw.rows == [] and result.amounts.empty
    assert [issue.rule for issue in result.issues] == ["TABLE_EMPTY"]


_CELL_VALUES = st.sampled_from([None, float("nan"), pd.NaT, "", "a", 1, 1.0, True, 0, 0.0, False, 2.5])


@settings(max_examples=200, deadline=None)
@given(st.lists(_CELL_VALUES, max_size=30))
def test_distinct_values_keep_every_cell_as_it_is(values: list) -> None:
    """Each cell's code gives back a value of its own type that equals it (or is missing as it is):
    None, NaN and NaT stay apart, as do 1, 1.0 and True; a column of one kind of blank has one code."""
    codes, distinct = distinct_values(values)
    assert len(codes) == len(values)
    for value, code in zip(values, codes, strict=True):
        back = distinct[code]
        assert type(back) is type(value)
        assert back == value or (pd.isna(back) and pd.isna(value))
    assert len(set(codes.tolist())) == len({(type(v), "missing" if pd.isna(v) else v) for v in values})
