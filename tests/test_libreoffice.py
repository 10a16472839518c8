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
from schemas.fields import RATIO_FIELDS, amount_fields
from schemas.policy import Policy, load_policy
from tests.conftest import RATE_REVISION, dated_policy_file, valid_code, valid_row
from tests.support.libreoffice import recalculate

AMOUNT_FIELDS = amount_fields(load_policy())

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


def assert_engine_equals_check(target: Path, expected) -> int:
    """Every amount and ratio the engine computed in `target` equals the check's (`expected`, the
    amounts of the rows with data) to the cent; blank rows stay blank. Returns the amounts compared."""
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
    blank_row = next(
        r for r in range(spec.FIRST_DATA_ROW, spec.FIRST_DATA_ROW + 40) if r not in expected.index
    )
    assert all(sheet[f"{letters[n]}{blank_row}"].value in (None, "") for n in AMOUNT_FIELDS)
    return compared


def test_engine_values_equal_the_decimal_engine_to_the_cent(recalculated, policy) -> None:
    source, target = recalculated
    expected = check_file(source, policy).table.amounts
    assert len(expected) >= 30
    assert assert_engine_equals_check(target, expected) >= 30 * len(AMOUNT_FIELDS)


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


# --- a revised policy: every parameter a formula reads, looked up by the row's date ---------------------

WIDE_REVISION = {
    "subsidy_rate": [{"from": dt.date(2025, 6, 1), "value": "0.40"}],
    "subsidy_cap": [
        {
            "from": dt.date(2025, 6, 1),
            "value": {"二级": "400000.00", "三级": "700000.00", "四级": "1200000.00"},
        }
    ],
    "subsidy_split": [
        {"from": dt.date(2025, 3, 1), "value": {"central": "0.60", "bingtuan": "0.25", "division": "0.15"}}
    ],
    "service_fee_limit": [{"from": dt.date(2025, 6, 1), "value": "0.25"}],
    "integration_fee_limit": [{"from": dt.date(2025, 6, 1), "value": "0.08"}],
    "contract_window_end": [{"from": dt.date(2025, 9, 1), "value": dt.date(2025, 12, 31)}],
    "progress_deadline": [{"from": dt.date(2025, 10, 1), "value": dt.date(2026, 6, 30)}],
    "progress_bonus": [
        {
            "from": dt.date(2025, 10, 1),
            "value": {"二级": "120000.00", "三级": "180000.00", "四级": "240000.00"},
        }
    ],
    "honor_award": [{"from": dt.date(2025, 6, 1), "value": "300000.00"}],
}


def dated_rows() -> list[dict | None]:
    """Rows on either side of each revision, on its day, and with blank or early dates."""
    fees = _costs("1000000", consulting="150000", integration="70000")  # over 20%/6%, within 25%/8%
    d = dt.date
    late = {"completion_date": d(2026, 2, 1), "evaluation_date": d(2026, 3, 1)}
    rows = [
        fees | {"contract_date": d(2024, 11, 20)},
        fees | {"contract_date": d(2025, 5, 31)},
        fees | {"contract_date": d(2025, 6, 1)},
        fees | {"contract_date": None, "honor": "5G工厂"},
        fees | {"contract_date": d(2024, 10, 17)},
        _costs("3000000") | {"contract_date": d(2025, 7, 10), "level": "四级"},
        _costs("2500000") | {"contract_date": d(2025, 7, 10), "level": "三级"},
        _costs("123456.79") | {"contract_date": d(2025, 2, 28)},
        _costs("123456.79") | {"contract_date": d(2025, 3, 1)},
        _costs("200000") | {"contract_date": d(2025, 8, 31), **late},
        _costs("200000") | {"contract_date": d(2025, 9, 1), **late},
        _costs("200000")
        | {
            "contract_date": d(2026, 1, 5),
            "completion_date": d(2026, 2, 1),
            "evaluation_date": d(2026, 3, 1),
        },
        _costs("200000") | {"completion_date": d(2025, 9, 30), "evaluation_date": d(2025, 12, 31)},
        _costs("200000")
        | {"completion_date": d(2025, 10, 1), "evaluation_date": d(2026, 3, 1), "level": "三级"},
        _costs("200000") | {"completion_date": d(2025, 9, 30), "evaluation_date": d(2026, 1, 10)},
        _costs("200000") | {"completion_date": None, "evaluation_date": None, "level": None},
        _costs("200000") | {"contract_date": d(2025, 7, 10), "honor": "5G工厂"},
        _costs("200000") | {"honor": "国家级智能工厂"},
        None,
        # a date with a time on either side of a from-date: the day decides, in the sheet as in the check
        fees | {"contract_date": dt.datetime(2025, 5, 31, 23, 59)},
        fees | {"contract_date": dt.datetime(2025, 6, 1, 0, 1)},
    ]
    return [
        None if changes is None else valid_row(uscc=valid_code(f"MA8{n:06d}"), claimed=None) | changes
        for n, changes in enumerate(rows)
    ]


@pytest.fixture(scope="module")
def dated_recalculated(tmp_path_factory) -> dict[str, tuple[Path, Path, Policy]]:
    """Templates generated with a revised policy and filled: the 50% → 40% revision with the contracts
    of tests/test_dated_parameters.py, and every parameter revised with rows around each date."""
    from tests.test_dated_parameters import revision_rows

    folder = tmp_path_factory.mktemp("dated-libreoffice")
    cases = {"rate": (RATE_REVISION, revision_rows()), "wide": (WIDE_REVISION, dated_rows())}
    made = {}
    for name, (revision, rows) in cases.items():
        (folder / name).mkdir()
        policy = load_policy(dated_policy_file(folder / name, **revision))
        source, target = folder / f"{name}.xlsx", folder / f"{name}-recalculated.xlsx"
        filled_application(policy, "第八师石河子市", rows, template_rows=30).save(source)
        made[name] = (source, target, policy)
    recalculate([(source, target) for source, target, _ in made.values()])
    return made


def test_a_revised_rate_gives_the_engine_the_check_s_amounts(dated_recalculated) -> None:
    """The 2024-11 contract at 50% and the 2025-07 contract at 40%, in LibreOffice as in the check."""
    source, target, policy = dated_recalculated["rate"]
    expected = check_file(source, policy).table.amounts
    assert expected.loc[[5, 6], "transformation_subsidy"].tolist() == [
        Decimal("100000.00"),
        Decimal("80000.00"),
    ]
    assert assert_engine_equals_check(target, expected) == 3 * len(AMOUNT_FIELDS)
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    subsidy = spec.column_letters()["transformation_subsidy"]
    assert (sheet[f"{subsidy}5"].value, sheet[f"{subsidy}6"].value) == (100000, 80000)


def test_every_revised_parameter_gives_the_engine_the_check_s_amounts(dated_recalculated) -> None:
    source, target, policy = dated_recalculated["wide"]
    expected = check_file(source, policy).table.amounts
    subsidy = expected["transformation_subsidy"]
    assert subsidy[5] == Decimal("490000.00") and subsidy[7] == Decimal(
        "400000.00"
    )  # 20%/6% then 25%/8%, caps
    assert subsidy[10] == Decimal("1200000.00") and subsidy[11] == Decimal("700000.00")
    assert expected.loc[13, "central"] == Decimal("37037.04") and expected.loc[12, "central"] == Decimal(
        "43209.88"
    )
    assert subsidy[16] == 0 and subsidy[15] > 0  # the window ends 2025-12-31 for contracts from 2025-09-01
    bonus = expected["progress_bonus"]
    assert (bonus[17], bonus[18], bonus[19]) == (Decimal("100000.00"), Decimal("180000.00"), Decimal("0.00"))
    assert (expected.loc[21, "honor_award"], expected.loc[22, "honor_award"]) == (
        Decimal("300000.00"),
        Decimal("500000.00"),
    )
    assert (
        expected.loc[[8, 9], "eligible_base"].tolist() == [Decimal("980000.00")] * 2
    )  # blank, early: first value
    timed = expected.index[-2:]  # 2025-05-31 23:59 at the first values, 2025-06-01 00:01 at the revised
    assert subsidy[timed].tolist() == [subsidy[6], subsidy[7]] and subsidy[6] != subsidy[7]
    assert assert_engine_equals_check(target, expected) == len(expected) * len(AMOUNT_FIELDS)
    assert not [i for i in check_file(target, policy).issues if i.rule == "FORMULA_VALUE_MISMATCH"]
