"""The template's native formulas, recalculated by a real spreadsheet engine (LibreOffice Calc), give
exactly the amounts of the Decimal engine, and the workbook keeps its dropdowns and highlighting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.templates.bundled import filled_application
from schemas.calculation import AMOUNT_FIELDS, RATIO_FIELDS
from tests.conftest import valid_code, valid_row
from tests.support.libreoffice import recalculate

CENT = Decimal("0.01")


def _costs(
    total: str, consulting: str = "0", integration: str = "0", other: str = "0", paid: str | None = None
):
    """Cost items that add up to the contract: the rest of the contract is software."""
    t, c, i, o = (Decimal(v) for v in (total, consulting, integration, other))
    return {
        "contract_total": float(t),
        "consulting": float(c),
        "integration": float(i),
        "other_service": float(o),
        "software": float(t - c - i - o),
        "cloud": 0.0,
        "equipment": 0.0,
        "paid": float(Decimal(paid) if paid else t),
    }


def boundary_rows() -> list[dict | None]:
    late = dt.date(2026, 1, 1)
    rows = [
        # fees exactly at and just over their limits
        _costs("1000000", consulting="140000", integration="60000"),
        _costs("1000000", consulting="140000.01", integration="60000"),
        _costs("1000000", consulting="100000", integration="60000.01"),
        _costs("1000000", consulting="150000", integration="70000"),
        _costs("100000.25", integration="6000.02"),
        _costs("100000.25", integration="6000.03"),
        # caps reached exactly and exceeded, by level
        _costs("1000000") | {"level": "二级"},
        _costs("1600000") | {"level": "三级"},
        _costs("3000000") | {"level": "四级"},
        _costs("3000000.02") | {"level": "四级"},
        _costs("999999.98") | {"level": "二级"},
        # rounding halves: the subsidy and its split
        _costs("123456.79"),
        _costs("0.01"),
        _costs("0.03"),
        _costs("0.20"),
        _costs("10.10"),
        _costs("33.33"),
        _costs("4321.07", consulting="864.21"),
        _costs("77777.77", consulting="10000.01", integration="4666.67"),
        # paid above and below the contract
        _costs("500000", paid="600000"),
        _costs("500000", paid="250000.01"),
        # deadline days and bonus dates
        _costs("200000")
        | {"completion_date": dt.date(2025, 12, 31), "evaluation_date": dt.date(2025, 12, 31)},
        _costs("200000") | {"completion_date": dt.date(2025, 12, 31), "evaluation_date": late},
        _costs("200000") | {"completion_date": late, "evaluation_date": late},
        _costs("200000") | {"completion_date": None, "evaluation_date": None, "level": None, "claimed": None},
        _costs("200000") | {"level": "三级", "honor": "国家级数字化车间"},
        # ineligible rows
        _costs("200000") | {"level": "一级", "claimed": None},
        _costs("200000") | {"contract_date": dt.date(2024, 10, 17)},
        _costs("200000") | {"contract_date": dt.date(2024, 10, 18)},
        _costs("200000") | {"negative_record": "偷税漏税等违法违规", "honor": "5G工厂"},
        _costs("200000") | {"little_giant": "是"},
        _costs("200000") | {"honor": None, "negative_record": None},
        None,  # an empty row between filled rows
        _costs("0") | {"paid": 0.0},
    ]
    filled = []
    for n, changes in enumerate(rows):
        if changes is None:
            filled.append(None)
            continue
        row = valid_row(uscc=valid_code(f"MA7{n:06d}"), claimed=None)
        row.update(changes)
        filled.append(row)
    return filled


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, policy) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("libreoffice")
    source = folder / "filled.xlsx"
    filled_application(policy, "第八师石河子市", boundary_rows(), template_rows=60).save(source)
    target = folder / "recalculated.xlsx"
    recalculate([(source, target)])
    return source, target


def test_engine_values_equal_the_decimal_engine_to_the_cent(recalculated, policy) -> None:
    source, target = recalculated
    expected = check_file(source, policy).table.amounts
    assert len(expected) >= 30
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    letters = spec.column_letters()
    compared = 0
    for row in expected.index:
        for name in AMOUNT_FIELDS:
            value = sheet[f"{letters[name]}{row}"].value
            assert isinstance(value, int | float), (row, name, value)
            engine = Decimal(repr(float(value)))
            assert engine.quantize(CENT) == expected.at[row, name], (row, name, value, expected.at[row, name])
            assert abs(engine - expected.at[row, name]) < Decimal("0.0001"), (row, name, value)
            compared += 1
        for name in RATIO_FIELDS:
            value = sheet[f"{letters[name]}{row}"].value
            want = expected.at[row, name]
            if want is None:
                assert value in (None, ""), (row, name, value)
            else:
                assert abs(Decimal(repr(float(value))) - want) < Decimal("1e-12"), (row, name, value, want)
    assert compared >= 30 * len(AMOUNT_FIELDS)
    blank_row = next(
        r for r in range(spec.FIRST_DATA_ROW, spec.FIRST_DATA_ROW + 40) if r not in expected.index
    )
    assert all(sheet[f"{letters[n]}{blank_row}"].value in (None, "") for n in AMOUNT_FIELDS)


def test_recalculated_workbook_checks_without_formula_mismatch(recalculated, policy) -> None:
    """Cached values written by the engine agree with the check's own recomputation."""
    _, target = recalculated
    result = check_file(target, policy)
    assert result.table is not None
    assert not [i for i in result.issues if i.rule == "FORMULA_VALUE_MISMATCH"]


def test_dropdowns_and_highlighting_survive_the_round_trip(recalculated) -> None:
    _, target = recalculated
    sheet = openpyxl.load_workbook(target)[spec.DATA_SHEET]
    letters = spec.column_letters()
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert any(
        f"{letters['division']}5" in str(v.sqref) and "LIST_DIVISION" in (v.formula1 or "") for v in lists
    )
    highlighted = " ".join(str(cf.sqref) for cf in sheet.conditional_formatting)
    for name in ("claimed", "service_total", "integration", "contract_date"):
        assert f"{letters[name]}5" in highlighted, name
    assert sheet.protection.sheet


def test_plan_formulas_in_a_real_engine(tmp_path: Path, policy) -> None:
    """资金预算 of each line is its three sources, "-" where the annex has none; 合计 adds the lines."""
    from addin.templates.bundled import PLAN_TEMPLATE, REPOSITORY
    from addin.templates.plan import plan_rows

    edited = tmp_path / "plan.xlsx"
    workbook = openpyxl.load_workbook(REPOSITORY / PLAN_TEMPLATE)
    workbook[spec.PLAN_SHEET]["D8"] = 299.5  # （五）: a fraction of a 万元, moved from （七）
    workbook[spec.PLAN_SHEET]["D10"] = 200.5
    workbook.save(edited)
    target = tmp_path / "recalculated.xlsx"
    recalculate([(edited, target)])
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.PLAN_SHEET]
    rows, total_row = plan_rows(policy.plan)
    for line in policy.plan.lines:
        row = rows[line.key]
        sources = [sheet[f"{c}{row}"].value for c in "DEF"]
        numbers = [Decimal(repr(float(v))) for v in sources if isinstance(v, int | float)]
        budget = sheet[f"C{row}"].value
        if numbers:
            assert Decimal(repr(float(budget))) == sum(numbers), line.key
        else:
            assert budget == "-", line.key
    totals = [Decimal(repr(float(sheet[f"{c}{total_row}"].value))) for c in "CDEF"]
    assert totals == [Decimal(30000), Decimal(15000), Decimal(7500), Decimal(7500)]
    assert check_file(target, policy).errors == 0
