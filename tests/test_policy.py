"""Policy as data: every number with its clause; dates in force; a broken file is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from schemas.fields import application_fields
from schemas.policy import KEY_DATE_FIELDS, PolicyError, load_policy
from tests.conftest import POLICY_FILE, RATE_REVISION, dated_policy_file

D = Decimal

REQUIRED = {
    "subsidy_rate": Decimal("0.50"),
    "subsidy_cap": {"二级": Decimal(500000), "三级": Decimal(800000), "四级": Decimal(1500000)},
    "subsidy_split": {"central": Decimal("0.70"), "bingtuan": Decimal("0.15"), "division": Decimal("0.15")},
    "progress_deadline": dt.date(2025, 12, 31),
    "progress_bonus": {"二级": Decimal(100000), "三级": Decimal(150000), "四级": Decimal(200000)},
    "progress_bonus_split": {"bingtuan": Decimal(1)},
    "honor_award": Decimal(500000),
    "honor_split": {"bingtuan": Decimal("0.5"), "division": Decimal("0.5")},
    "contract_window_start": dt.date(2024, 10, 18),
    "contract_window_end": None,
    "service_fee_limit": Decimal("0.20"),
    "integration_fee_limit": Decimal("0.06"),
}


def test_the_draft_measures_numbers(policy) -> None:
    for name, value in REQUIRED.items():
        assert policy.value(name) == value, name
    assert len(policy.value("submitting_units")) == 13 and "兵团国资委" in policy.value("submitting_units")
    assert policy.value("pilot_industries") == ["高端装备", "新材料（含化工）", "纺织服装", "绿色食品加工"]
    assert (policy.id, policy.version) == ("xpcc-dt-pilot-fund", "2025-03-征求意见稿")


def test_every_parameter_has_label_unit_clause_and_dates(policy) -> None:
    for parameter in policy.parameters.values():
        assert parameter.label and parameter.unit and parameter.values
        assert parameter.clause.startswith(("第", "附件")), parameter.name
        assert all(isinstance(v.start, dt.date) for v in parameter.values)


def test_values_follow_their_effective_dates(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "schemas/data/policy-xpcc-2025-03.yaml").read_text("utf-8")
    text = text.replace(
        '- {from: 2024-10-18, value: "0.50"}',
        '- {from: 2024-10-18, value: "0.50"}\n      - {from: 2026-07-01, value: "0.40"}',
    )
    path = tmp_path / "dated.yaml"
    path.write_text(text, "utf-8")
    policy = load_policy(path)
    assert policy.value("subsidy_rate", dt.date(2026, 6, 30)) == Decimal("0.50")
    assert policy.value("subsidy_rate", dt.date(2026, 7, 1)) == Decimal("0.40")
    assert policy.value("subsidy_rate") == Decimal("0.40")
    # before the first value: the first value, the one `positions` prices a row with (issue 25)
    assert policy.value("subsidy_rate", dt.date(2020, 1, 1)) == Decimal("0.50")
    parameter = policy.parameter("subsidy_rate")
    early = pd.Series(pd.to_datetime(["2020-01-01", None, "2026-07-01"]))
    assert [parameter.values[p].value for p in parameter.positions(early)] == [
        parameter.at(dt.date(2020, 1, 1)),
        parameter.values[0].value,  # a blank date: the first value
        parameter.at(dt.date(2026, 7, 1)),
    ]


def test_a_split_that_does_not_add_up_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "schemas/data/policy-xpcc-2025-03.yaml").read_text("utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace('division: "0.15"}', 'division: "0.16"}'), "utf-8")
    with pytest.raises(PolicyError, match="之和"):
        load_policy(path)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="无法读取"):
        load_policy(tmp_path / "none.yaml")


def test_no_rule_number_is_written_in_code() -> None:
    """The policy's numbers do not appear as literals in the rules' code."""
    root = Path(__file__).parent.parent
    sources = [
        root / "schemas/calculation.py",
        root / "schemas/application_rules.py",
        root / "addin/templates/formulas.py",
        root / "addin/templates/application.py",
    ]
    for literal in (
        "0.5",
        "0.7",
        "0.15",
        "0.2",
        "0.06",
        "500000",
        "800000",
        "1500000",
        "100000",
        "150000",
        "200000",
        "2025, 12, 31",
        "2024, 10, 18",
    ):
        for source in sources:
            assert literal not in source.read_text("utf-8"), (literal, source.name)


def _rate_values(tmp_path: Path, *entries: dict) -> Path:
    return dated_policy_file(tmp_path, subsidy_rate=list(entries))


def test_the_value_in_force_on_each_date(tmp_path: Path) -> None:
    """The from-date itself takes the new value, the day before the old; a blank date or one before the
    first value takes the first value; an `until` is the day before the next value."""
    policy = load_policy(_rate_values(tmp_path, {"from": dt.date(2025, 6, 1), "value": "0.40"}))
    rate = policy.parameter("subsidy_rate")
    days = pd.Series(
        pd.to_datetime(["2025-05-31", "2025-06-01", "2024-10-18", "2024-10-17", None, "2031-01-01"])
    )
    assert rate.on_dates(days).tolist() == [D("0.50"), D("0.40"), D("0.50"), D("0.50"), D("0.50"), D("0.40")]
    assert rate.dated(dt.date(2025, 6, 1)).start == dt.date(2025, 6, 1)
    assert rate.dated(None).start == rate.dated(pd.NaT).start == dt.date(2024, 10, 18)
    assert rate.dated(pd.Timestamp("2025-06-01")).value == rate.at(dt.datetime(2025, 6, 1, 12)) == D("0.40")
    text = POLICY_FILE.read_text("utf-8").replace(
        '- {from: 2024-10-18, value: "0.50"}',
        '- {from: 2024-10-18, until: 2025-05-31, value: "0.50"}\n      - {from: 2025-06-01, value: "0.40"}',
    )
    (tmp_path / "until.yaml").write_text(text, "utf-8")
    until = load_policy(tmp_path / "until.yaml").parameter("subsidy_rate")
    assert until.on_dates(days).tolist() == rate.on_dates(days).tolist()
    assert until.at(dt.date(2025, 5, 31)) == D("0.50") and until.at(dt.date(2025, 6, 1)) == D("0.40")


def test_a_single_value_is_every_row_s_value() -> None:
    rate = load_policy().parameter("subsidy_rate")
    days = pd.Series(pd.to_datetime(["2020-01-01", None, "2025-07-01"]), index=[5, 9, 12])
    found = rate.on_dates(days)
    assert found.tolist() == [D("0.50")] * 3 and list(found.index) == [5, 9, 12]
    assert (rate.positions(days) == 0).all()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (({"from": dt.date(2024, 10, 18), "value": "0.40"},), "都从 2024-10-18 起施行"),
        (({"from": dt.date(2025, 6, 1), "until": dt.date(2025, 12, 31), "value": "0.40"},), "最后一个取值"),
    ],
)
def test_dates_that_leave_a_day_with_no_value_or_two_are_refused(tmp_path, entries, message) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(_rate_values(tmp_path, *entries))


def test_an_until_that_is_not_the_day_before_the_next_value_is_refused(tmp_path: Path) -> None:
    for until in ("2025-05-30", "2025-06-01"):  # a gap of a day, an overlap of a day
        text = POLICY_FILE.read_text("utf-8").replace(
            '- {from: 2024-10-18, value: "0.50"}',
            f'- {{from: 2024-10-18, until: {until}, value: "0.50"}}\n      - {{from: 2025-06-01, value: "0.40"}}',
        )
        (tmp_path / "gap.yaml").write_text(text, "utf-8")
        with pytest.raises(PolicyError, match="until 应为下一个取值起施行的前一天"):
            load_policy(tmp_path / "gap.yaml")


def test_key_dates_and_starts_are_checked(tmp_path: Path) -> None:
    raw = yaml.safe_load(POLICY_FILE.read_text("utf-8"))
    raw["parameters"]["honor_award"]["applies_by"] = "honor_date"
    (tmp_path / "key.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="applies_by 为 honor_date"):
        load_policy(tmp_path / "key.yaml")
    raw = yaml.safe_load(POLICY_FILE.read_text("utf-8"))
    raw["parameters"]["honor_award"]["values"][0]["from"] = dt.date(2025, 1, 1)
    (tmp_path / "late.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="晚于合同签订起始日"):
        load_policy(tmp_path / "late.yaml")
    cap = {"from": dt.date(2025, 6, 1), "value": {"二级": "400000.00", "三级": "800000.00"}}
    with pytest.raises(PolicyError, match="相同的项目"):
        load_policy(dated_policy_file(tmp_path, subsidy_cap=[cap]))


def test_key_date_fields_are_the_application_s_date_fields() -> None:
    dates = tuple(f.id for f in application_fields() if f.kind == "date")
    assert dates == KEY_DATE_FIELDS
    policy = load_policy()
    assert {p.applies_by for p in policy.parameters.values()} <= set(KEY_DATE_FIELDS)
    assert policy.parameter("progress_bonus").applies_by == "completion_date"
    assert policy.parameter("subsidy_rate").applies_by == "contract_date"


def test_latest_prices_every_date_at_the_latest_value(tmp_path: Path) -> None:
    policy = load_policy(dated_policy_file(tmp_path, **RATE_REVISION)).latest()
    assert policy.value("subsidy_rate", dt.date(2024, 11, 1)) == D("0.40")
    assert policy.value("subsidy_cap") == load_policy().value("subsidy_cap")
