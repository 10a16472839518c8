"""The calculation: rounding, boundaries, the split, and properties that must hold for any input."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.calculation import compute_one
from schemas.money import round_cents, split_column, two_place_texts
from schemas.policy import load_policy
from tests.conftest import RATE_REVISION, dated_policy_file

POLICY = load_policy()
D = Decimal


GOODS = ("software", "cloud", "equipment")
ELIGIBLE = {"size_class": "小型", "little_giant": "否", "negative_record": "无"}


def amounts(**inputs):
    """An eligible SME's amounts; the contract is all supported goods unless cost items are given."""
    base = {
        "level": "二级",
        "contract_date": dt.date(2025, 1, 15),
        "size_class": "小型",
        "little_giant": "否",
        "negative_record": "无",
    }
    base.update(inputs)
    if not any(name in inputs for name in GOODS):
        services = sum((inputs.get(n) or 0 for n in ("consulting", "integration", "other_service")), D(0))
        base["software"] = max((inputs.get("contract_total") or D(0)) - services, D(0))
    return compute_one(POLICY, **base)


def test_rounding_half_up_not_float() -> None:
    """paid 123456.79 on 二级: 61728.395 rounds up to 61728.40 (float rounding gives .39)."""
    result = amounts(paid=D("123456.79"), contract_total=D("123456.79"))
    assert result["transformation_subsidy"] == D("61728.40")
    assert (result["central"], result["bingtuan"], result["division_fund"]) == (
        D("43209.88"),
        D("9259.26"),
        D("9259.26"),
    )
    assert round(123456.79 * 0.5, 2) == 61728.39  # why money is never float


def test_fee_exactly_at_its_limit_is_allowed() -> None:
    result = amounts(
        contract_total=D("1000000"), paid=D("1000000"), consulting=D("140000"), integration=D("60000")
    )
    assert result["service_excess"] == 0 and result["integration_excess"] == 0
    assert result["eligible_base"] == D("1000000.00")


def test_excess_is_disallowed_once() -> None:
    """Integration is part of the service total: its excess is not counted twice."""
    result = amounts(
        contract_total=D("1000000"), paid=D("1000000"), consulting=D("150000"), integration=D("70000")
    )
    assert result["service_excess"] == D("20000.00")
    assert result["integration_excess"] == D("10000.00")
    assert result["eligible_base"] == D("980000.00")


def test_fee_limit_rounds_half_up_to_the_cent() -> None:
    """6% of 100000.25 is 6000.015, so the limit is 6000.02 and 6000.02 passes."""
    result = amounts(contract_total=D("100000.25"), paid=D("100000.25"), integration=D("6000.02"))
    assert result["integration_limit"] == D("6000.02")
    assert result["integration_excess"] == 0


def test_cap_reached_exactly_and_exceeded() -> None:
    for level, cap in (("二级", "500000"), ("三级", "800000"), ("四级", "1500000")):
        at_cap = amounts(level=level, paid=D(cap) * 2, contract_total=D(cap) * 2)
        over = amounts(level=level, paid=D(cap) * 2 + D("0.02"), contract_total=D(cap) * 2 + D("0.02"))
        assert at_cap["transformation_subsidy"] == D(cap)
        assert over["transformation_subsidy"] == D(cap)


def test_paid_above_contract_counts_only_the_contract() -> None:
    assert amounts(contract_total=D("100000"), paid=D("150000"))["eligible_base"] == D("100000.00")


def test_ineligible_rows_get_nothing_but_keep_their_base() -> None:
    for change in (
        {"level": "一级"},
        {"level": None},
        {"contract_date": dt.date(2024, 10, 17)},
        {"contract_date": None},
        {"negative_record": "经营异常名录"},
        {"little_giant": "是"},
    ):
        result = amounts(
            contract_total=D("100000"),
            paid=D("100000"),
            honor="5G工厂",
            completion_date=dt.date(2025, 6, 1),
            evaluation_date=dt.date(2025, 7, 1),
            **change,
        )
        assert result["eligible"] is False or not result["eligible"], change
        assert result["total_award"] == 0, change
        assert result["eligible_base"] == D("100000.00")


def test_window_start_is_inclusive_and_end_open_by_default() -> None:
    assert amounts(contract_date=dt.date(2024, 10, 18), paid=D(10), contract_total=D(10))["eligible"]
    assert amounts(contract_date=dt.date(2031, 1, 1), paid=D(10), contract_total=D(10))["eligible"]


def test_progress_bonus_needs_both_dates_on_or_before_the_deadline() -> None:
    on_time = {"completion_date": dt.date(2025, 12, 31), "evaluation_date": dt.date(2025, 12, 31)}
    assert amounts(**on_time)["progress_bonus"] == D("100000.00")
    assert amounts(level="三级", **on_time)["progress_bonus"] == D("150000.00")
    assert amounts(level="四级", **on_time)["progress_bonus"] == D("200000.00")
    assert amounts(**{**on_time, "evaluation_date": dt.date(2026, 1, 1)})["progress_bonus"] == 0
    assert amounts(**{**on_time, "completion_date": None})["progress_bonus"] == 0
    assert amounts(**on_time)["progress_bonus:bingtuan"] == D("100000.00")


def test_honor_award_is_once_and_split_half_half() -> None:
    result = amounts(honor="国家级智能工厂")
    assert result["honor_award"] == D("500000.00")
    assert result["honor_award:bingtuan"] == D("250000.00") == result["honor_award:division"]
    assert amounts(honor="无")["honor_award"] == 0
    assert amounts(honor=None)["honor_award"] == 0


def test_total_award_adds_the_three() -> None:
    result = amounts(
        paid=D("200000"),
        contract_total=D("200000"),
        honor="5G工厂",
        completion_date=dt.date(2025, 6, 1),
        evaluation_date=dt.date(2025, 7, 1),
    )
    assert result["total_award"] == D("100000.00") + D("100000.00") + D("500000.00")


money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(amount=money)
def test_split_always_adds_up(amount: Decimal) -> None:
    import pandas as pd

    parts = split_column(pd.Series([amount], dtype=object), POLICY.shares("subsidy_split"))
    assert sum(p.iloc[0] for p in parts.values()) == amount
    assert all(p.iloc[0] == round_cents(p.iloc[0]) for p in parts.values())


@settings(max_examples=300, deadline=None)
@given(
    paid=money,
    contract=money,
    consulting=money,
    integration=money,
    other=money,
    level=st.sampled_from(["一级", "二级", "三级", "四级", None]),
)
def test_subsidy_never_exceeds_the_cap_or_half_the_base(
    paid, contract, consulting, integration, other, level
) -> None:
    result = amounts(
        paid=paid,
        contract_total=contract,
        consulting=consulting,
        integration=integration,
        other_service=other,
        level=level,
    )
    subsidy = result["transformation_subsidy"]
    cap = POLICY.value("subsidy_cap").get(level, D(0))
    assert D(0) <= subsidy <= cap
    half = (result["eligible_base"] * POLICY.rate("subsidy_rate")).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert subsidy <= half
    assert result["central"] + result["bingtuan"] + result["division_fund"] == subsidy
    assert result["eligible_base"] <= min(paid, contract)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.decimals(
                allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12
            ),
            st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**6), max_value=10**6),
            st.sampled_from(
                [
                    Decimal(t)
                    for t in (
                        "0",
                        "-0.00",
                        "500000",
                        "500000.00",
                        "1E+5",
                        "1.2E+2",
                        "1.5E-7",
                        "0.001",
                        "-0.10",
                    )
                ]
            ),
        ),
        max_size=40,
    )
)
def test_two_place_texts_format_each_amount(amounts: list[Decimal]) -> None:
    """Each distinct amount is formatted once: the texts are each amount's own, and no zero is signed."""
    texts = two_place_texts(pd.Series(amounts, dtype=object))
    assert texts == [f"{a:.2f}".replace("-0.00", "0.00") for a in amounts]


def _table(policy, *rows: dict) -> pd.DataFrame:
    """compute_amounts over several rows at once (each row's dates choose its parameters)."""
    from schemas.calculation import ALL_COST_ITEMS, calculation_inputs, compute_amounts

    base = {
        "level": "二级",
        **ELIGIBLE,
        "paid": D("200000"),
        "contract_total": D("200000"),
        "software": D("200000"),
    }
    frame = pd.DataFrame(
        [
            {n: {**base, **row}.get(n) for n in dict.fromkeys([*calculation_inputs(policy), *ALL_COST_ITEMS])}
            for row in rows
        ],
        dtype=object,
    )
    for name in ("contract_date", "completion_date", "evaluation_date"):
        frame[name] = pd.to_datetime(frame[name])
    frame.index = frame.index + 5
    return compute_amounts(frame, policy)


def test_each_row_is_priced_with_the_rate_in_force_on_its_contract_date(tmp_path) -> None:
    """50% before 2025-06-01, 40% from that day: two contracts in one table, each at its own rate."""
    policy = load_policy(dated_policy_file(tmp_path, **RATE_REVISION))
    result = _table(
        policy,
        {"contract_date": dt.date(2024, 11, 20)},
        {"contract_date": dt.date(2025, 5, 31)},
        {"contract_date": dt.date(2025, 6, 1)},
        {"contract_date": dt.date(2025, 7, 10)},
    )
    assert result["transformation_subsidy"].tolist() == [D("100000.00")] * 2 + [D("80000.00")] * 2
    parts = result["central"] + result["bingtuan"] + result["division_fund"]
    assert parts.tolist() == result["transformation_subsidy"].tolist()
    assert compute_one(policy, **_one(dt.date(2025, 7, 10)))["transformation_subsidy"] == D("80000.00")


def _one(contract_date: dt.date) -> dict:
    return {
        "level": "二级",
        **ELIGIBLE,
        "paid": D("200000"),
        "contract_total": D("200000"),
        "software": D("200000"),
        "contract_date": contract_date,
    }


def test_the_progress_bonus_applies_by_the_completion_date(tmp_path) -> None:
    """A later bonus and deadline reach the enterprises that complete after they take effect."""
    revision = {
        "progress_bonus": [
            {
                "from": dt.date(2025, 9, 1),
                "value": {"二级": "120000.00", "三级": "150000.00", "四级": "200000.00"},
            }
        ],
        "progress_deadline": [{"from": dt.date(2025, 9, 1), "value": dt.date(2026, 6, 30)}],
    }
    policy = load_policy(dated_policy_file(tmp_path, **revision))
    contract = dt.date(2025, 1, 15)
    result = _table(
        policy,
        {
            "contract_date": contract,
            "completion_date": dt.date(2025, 8, 31),
            "evaluation_date": dt.date(2025, 10, 1),
        },
        {
            "contract_date": contract,
            "completion_date": dt.date(2025, 9, 1),
            "evaluation_date": dt.date(2025, 10, 1),
        },
        {
            "contract_date": contract,
            "completion_date": dt.date(2025, 8, 31),
            "evaluation_date": dt.date(2026, 3, 1),
        },
        {
            "contract_date": contract,
            "completion_date": dt.date(2026, 2, 1),
            "evaluation_date": dt.date(2026, 3, 1),
        },
    )
    assert result["progress_bonus"].tolist() == [D("100000.00"), D("120000.00"), D("0.00"), D("120000.00")]
    assert result["progress_bonus:bingtuan"].tolist() == result["progress_bonus"].tolist()


def test_a_revised_split_still_adds_up_to_the_subsidy(tmp_path) -> None:
    revision = {
        "subsidy_split": [
            {
                "from": dt.date(2025, 6, 1),
                "value": {"central": "0.60", "bingtuan": "0.25", "division": "0.15"},
            }
        ]
    }
    policy = load_policy(dated_policy_file(tmp_path, **revision))
    result = _table(
        policy,
        {"contract_date": dt.date(2025, 1, 15), "paid": D("123456.79"), "contract_total": D("123456.79")},
        {"contract_date": dt.date(2025, 6, 1), "paid": D("123456.79"), "contract_total": D("123456.79")},
    )
    assert result["central"].tolist() == [D("43209.88"), D("37037.04")]
    assert result["bingtuan"].tolist() == [D("9259.26"), D("15432.10")]
    parts = result["central"] + result["bingtuan"] + result["division_fund"]
    assert parts.tolist() == result["transformation_subsidy"].tolist() == [D("61728.40")] * 2
