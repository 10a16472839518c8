"""Policy as data: every number with its clause; dates in force; a broken file is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.policy import PolicyError, load_policy

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
    with pytest.raises(PolicyError):
        policy.value("subsidy_rate", dt.date(2020, 1, 1))


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
