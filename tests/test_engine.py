"""The rule engine: one pandera schema per table declares its columns and carries every rule; it
validates the table itself; the rules that decide something about the fund live in schemas/."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

import addin.check.consolidate  # noqa: F401  (imports every implementation)
import addin.check.pipeline  # noqa: F401
from addin.check.pipeline import compute_table
from addin.check.table import raw_table_from_records
from schemas.application_schema import application_schema, validate
from schemas.award_rules import award_rules
from schemas.awards import award_kinds
from schemas.engine import FOUND_DIRECTLY, _declared_checks, build_schema, pandera_breaks
from schemas.fields import application_fields
from schemas.policy import load_policy
from schemas.registry import IMPLEMENTED
from tests.conftest import valid_row

# Rules about reading a file or converting a cell, which may stay with the reader (addin/).
READER_RULES = {
    "FILE_UNREADABLE",
    "FILE_SKIPPED",  # a file in a folder that is not a workbook to check (addin.check.consolidate)
    "FILE_OPEN_IN_EXCEL",  # Excel's lock file beside a workbook (addin.check.consolidate)
    "OWN_OUTPUT_LEFT_OUT",  # dtfund's own summary found in a folder consolidated again
    "SHEET_RENAMED",  # a table's sheet found through its defined names (addin.check.structure)
    "FORMULA_NOT_CALCULATED",  # a formula cell the file stores no value for (addin.check.pipeline)
    "TEMPLATE_NAME_MISSING",
    "TEMPLATE_COLUMN_CHANGED",
    "TEMPLATE_NAME_MISPLACED",
    "TEMPLATE_VERSION_UNSUPPORTED",
    "TEMPLATE_POLICY_MISMATCH",  # a template made for another policy (addin.check.structure)
    "TABLE_EMPTY",
    "ROWS_BELOW_TABLE",  # values typed below the table's last row (addin.check.identity)
    "VALUE_NOT_A_NUMBER",
    "NUMBER_STORED_AS_TEXT",
    "AMOUNT_PRECISION",
    "AMOUNT_TOO_LARGE",  # a number of more digits than Excel keeps (addin.check.cells)
    "USCC_STORED_AS_NUMBER",  # a credit code typed as a number: its last digits lost (addin.check.cells)
    "USCC_NOT_UPPERCASE",  # a credit code typed in lower case, read in upper case (addin.check.cells)
    "VALUE_NOT_A_DATE",
    "DATE_STORED_AS_TEXT",
    "CHOICE_NOT_EXACT",
    "CELL_ERROR_VALUE",
    "ADDIN_LINK_ELSEWHERE",  # the file links to another PC's add-in (addin.check.addin_links)
}


def test_every_rule_that_decides_about_the_fund_lives_in_schemas() -> None:
    in_addin = {rule for rule, where in IMPLEMENTED.items() if where.startswith("addin.")}
    assert in_addin <= READER_RULES, in_addin - READER_RULES


def test_the_application_schema_declares_each_column(policy) -> None:
    schema = application_schema(policy)
    assert schema.columns["name"].nullable is False  # 企业名称: required
    assert schema.columns["level"].nullable is True  # not evaluated yet: may be blank
    assert isinstance(schema.columns["contract_date"].dtype, pa.dtypes.DataType)
    assert "datetime" in str(schema.columns["contract_date"].dtype).lower()
    level_checks = {check.name: check for check in schema.columns["level"].checks}
    assert level_checks["VALUE_NOT_ALLOWED"].statistics["allowed_values"] == ["一级", "二级", "三级", "四级"]
    assert "LEVEL_BELOW_2" in level_checks
    paid_checks = {check.name: check for check in schema.columns["paid"].checks}
    assert paid_checks["AMOUNT_NEGATIVE"].statistics == {"min_value": 0}
    # a computed column carries the comparison of what the sheet stores with the rules' amount
    assert "FORMULA_VALUE_MISMATCH" in {c.name for c in schema.columns["transformation_subsidy"].checks}


def test_pandera_validates_the_table_itself(policy) -> None:
    table = compute_table(
        raw_table_from_records([valid_row(), valid_row(level="五级", uscc=None, name="乙")]), policy
    )
    schema = application_schema(policy, table)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema.validate(table.as_sheet(), lazy=True)
    cases = caught.value.failure_cases
    level = cases[cases["column"] == "level"]
    assert set(level["index"]) == {6} and "五级" in set(level["failure_case"])  # the cell's own value
    assert set(cases[cases["check"] == "not_nullable"]["column"]) == {"uscc"}
    found = {(issue.rule, issue.field, issue.row) for issue in validate(table)}
    assert ("VALUE_NOT_ALLOWED", "level", 6) in found
    assert ("REQUIRED_MISSING", "uscc", 6) in found
    assert not [issue for issue in validate(table) if issue.row == 5]


def test_the_award_sheets_use_the_same_engine(policy) -> None:
    for kind in award_kinds(policy):
        schema = build_schema(kind.sheet, kind.fields, award_rules(kind), policy)
        assert set(schema.columns) == {f.id for f in kind.fields}
        required = {f.id for f in kind.fields if f.required == "always"}
        assert {name for name, column in schema.columns.items() if not column.nullable} == required
        assert "AWARD_DUPLICATE" in {c.name for c in schema.columns[kind.key_field].checks}


BUNDLED_POLICY = load_policy()


@settings(max_examples=200, deadline=None)
@example([Decimal("-0.004"), Decimal("-0"), Decimal("0.00"), None, Decimal("-1E+3")])
@given(
    st.lists(st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=3)), max_size=30)
)
def test_declared_checks_found_directly_agree_with_pandera(amounts) -> None:
    """A declared check whose cells the engine finds directly (engine.FOUND_DIRECTLY) finds exactly the
    cells pandera's own check finds."""
    values = pd.Series(amounts, dtype=object, index=range(5, 5 + len(amounts)))
    for spec in (f for f in application_fields(None) if f.kind == "money" and not f.computed):
        for check in _declared_checks(spec, BUNDLED_POLICY):
            if check.name in FOUND_DIRECTLY:
                direct = FOUND_DIRECTLY[check.name](values)
                assert direct.tolist() == pandera_breaks(check, values).tolist()
                assert direct.index.equals(values.index)
