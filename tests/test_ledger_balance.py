"""The books' arithmetic (schemas.ledger_balance) over random sequences of batches: per funding source
paid before + payable + held is what is committed, every payment is accounted for, and recording what a
list makes payable leaves nothing to pay on the same list."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.ledger_balance import (
    PAID_IN_FULL,
    TO_RECOVER,
    TOP_UP,
    Part,
    row_status,
    settle,
    totals_by_source,
)

SOURCES = ("central", "bingtuan", "division")
LINES = ("一", "二")
ENTERPRISES = ("A", "B", "C", "D")

cents = st.integers(min_value=0, max_value=2_000_000).map(lambda n: Decimal(n) / 100)
row = st.tuples(
    st.sampled_from(ENTERPRISES),
    st.booleans(),
    st.dictionaries(st.tuples(st.sampled_from(LINES), st.sampled_from(SOURCES)), cents, max_size=6),
)
batch = st.lists(row, max_size=6)


def _parts(rows) -> list[Part]:
    return [
        Part(n, enterprise, line, source, amount, payable)
        for n, (enterprise, payable, amounts) in enumerate(rows)
        for (line, source), amount in sorted(amounts.items())
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(batch, min_size=1, max_size=6))
def test_paid_plus_payable_plus_held_is_committed_per_source(batches) -> None:
    paid: dict[tuple[str, str, str], Decimal] = {}
    for rows in batches:
        parts = _parts(rows)
        settled = settle(parts, paid)
        totals = totals_by_source(settled, SOURCES)
        for source in SOURCES:
            assert (
                totals["paid_before"][source] + totals["to_pay"][source] + totals["held"][source]
                == totals["committed"][source]
            )
        for item in settled:
            assert min(item.paid_before, item.to_pay, item.held, item.to_recover) >= 0
        keys = {p.key for p in parts}
        for key in keys:  # every payment of the list's enterprises is counted once: against a part, or 应追回
            counted = sum((s.paid_before + s.to_recover for s in settled if s.part.key == key), Decimal(0))
            assert counted == paid.get(key, Decimal(0))
        for item in settled:  # recorded
            paid[item.part.key] = paid.get(item.part.key, Decimal(0)) + item.to_pay
        again = settle(parts, paid)
        assert all(not s.to_pay for s in again), "a list once recorded pays nothing more"


def test_row_status_tells_paid_top_up_and_recovery() -> None:
    part = Part(0, "A", "一", "central", Decimal("100"), True)
    assert row_status(settle([part], {part.key: Decimal("100")})) == PAID_IN_FULL
    assert row_status(settle([part], {part.key: Decimal("60")})) == TOP_UP
    assert row_status(settle([part], {part.key: Decimal("130")})) == TO_RECOVER
    assert row_status(settle([part], {})) == ""
    held = Part(0, "A", "一", "central", Decimal("100"), False)
    assert row_status(settle([held], {held.key: Decimal("60")})) == "暂缓补拨", "paid before, now held"
    [over] = settle([part], {part.key: Decimal("130")})
    assert (over.paid_before, over.to_pay, over.to_recover) == (Decimal("100"), 0, Decimal("30"))


def test_a_duplicate_takes_a_payment_once_payable_rows_first() -> None:
    first = Part(0, "A", "一", "central", Decimal("100"), False)
    second = Part(1, "A", "一", "central", Decimal("100"), False)
    settled = settle([first, second], {first.key: Decimal("100")})
    assert [s.paid_before for s in settled] == [Decimal("100"), 0]
    assert [s.held for s in settled] == [0, Decimal("100")]
    payable = Part(1, "A", "一", "central", Decimal("100"), True)
    settled = settle([first, payable], {first.key: Decimal("100")})
    assert [s.paid_before for s in settled] == [0, Decimal("100")] and not any(s.to_pay for s in settled)
