"""The fund's books, as arithmetic (no I/O): what each enterprise is owed on each plan line from each
funding source, against what earlier batches paid it (第十一条: applications are taken batch after batch,
and each enterprise is paid 一次性).

For one amount committed now (a `Part`: one row of the list, one plan line, one source) and the sum the
ledger has paid for the same enterprise, line and source:
- `paid_before` is the part of that sum that counts against this commitment (never more than it);
- what is left of the commitment is `to_pay` when nothing holds the row, else `held`;
- what was paid beyond the commitment is `to_recover` (应追回): an error, never netted silently.
So per part, and per source over any list: paid_before + to_pay + held == committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from schemas.money import ZERO

PAID_IN_FULL = "已拨付"
TOP_UP = "补拨"
TO_RECOVER = "应追回"
FIGURES = ("paid_before", "to_pay", "held", "to_recover")

Key = tuple[str, str, str]  # (enterprise: credit code, else name), plan line key, funding source key


@dataclass(frozen=True)
class Part:
    """One row's committed amount on one plan line from one funding source."""

    row: int  # the row's position in the list
    enterprise: str
    line: str
    source: str
    committed: Decimal
    payable: bool  # nothing holds the row

    @property
    def key(self) -> Key:
        return (self.enterprise, self.line, self.source)


@dataclass(frozen=True)
class Settled:
    part: Part
    paid_before: Decimal
    to_pay: Decimal
    held: Decimal
    to_recover: Decimal


@dataclass
class PaidBefore:
    """What the ledger holds for the enterprises of a list: Σ paid per key, the batches that paid each
    enterprise (named 批次（文号）), and Σ paid per plan line and source over the whole ledger."""

    by_key: dict[Key, Decimal] = field(default_factory=dict)
    batches: dict[str, list[str]] = field(default_factory=dict)
    by_line: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    head: str | None = None  # the ledger's last entry hash when read


def settle(parts: Iterable[Part], paid: Mapping[Key, Decimal]) -> list[Settled]:
    """Each part against what was paid for its key. When rows list the same enterprise, the payment
    counts against the rows that can be paid first, then in the list's order (so that recording what a
    list pays leaves nothing to pay on it); what no commitment takes is put on the key's last part as
    `to_recover`."""
    parts = list(parts)
    left = {key: max(amount, ZERO) for key, amount in paid.items()}
    before = [ZERO] * len(parts)
    for n in sorted(range(len(parts)), key=lambda n: (not parts[n].payable, n)):
        key = parts[n].key
        before[n] = min(left.get(key, ZERO), max(parts[n].committed, ZERO))
        left[key] = left.get(key, ZERO) - before[n]
    last = {part.key: n for n, part in enumerate(parts)}
    settled = []
    for n, part in enumerate(parts):
        outstanding = part.committed - before[n]
        settled.append(
            Settled(
                part=part,
                paid_before=before[n],
                to_pay=outstanding if part.payable else ZERO,
                held=ZERO if part.payable else outstanding,
                to_recover=left.get(part.key, ZERO) if last[part.key] == n else ZERO,
            )
        )
    return settled


def totals_by_source(settled: Iterable[Settled], sources: Iterable[str]) -> dict[str, dict[str, Decimal]]:
    """Σ of each figure (FIGURES, and `committed`) per funding source."""
    totals = {figure: dict.fromkeys(sources, ZERO) for figure in ("committed", *FIGURES)}
    for item in settled:
        source = item.part.source
        totals["committed"][source] = totals["committed"].get(source, ZERO) + item.part.committed
        for figure in FIGURES:
            totals[figure][source] = totals[figure].get(source, ZERO) + getattr(item, figure)
    return totals


def row_status(items: Iterable[Settled]) -> str:
    """A row's standing in the books: 应追回 when more was paid than it now commits, 补拨 when it was paid
    and is owed more, 已拨付 when it was paid in full; empty when nothing was paid before."""
    items = list(items)
    if any(item.to_recover for item in items):
        return TO_RECOVER
    if not any(item.paid_before for item in items):
        return ""
    if any(item.to_pay for item in items):
        return TOP_UP
    if any(item.held for item in items):
        return ""
    return PAID_IN_FULL
