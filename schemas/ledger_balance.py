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
from functools import cached_property

import numpy as np
import pandas as pd

from schemas.money import ZERO
from schemas.text import normalize_text

PAID_IN_FULL = "已拨付"
TOP_UP = "补拨"
HELD_TOP_UP = "暂缓补拨"  # paid before, owed more, and held now
TO_RECOVER = "应追回"
# paid before, on a row whose amounts could not be computed: whether more is owed or to recover is
# known once its values are corrected
UNSETTLED = "金额待定"
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
    # per (unit, name as name_key gives it): Σ paid per enterprise key, of the keys paid anything
    by_name: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)

    @cached_property
    def enterprises(self) -> frozenset[str]:
        """The keys of `by_key` (read once it is filled: a list's every row asks)."""
        return frozenset(key for key, _line, _source in self.by_key)


def paid_under_other_codes(paid: PaidBefore, key: str, unit: str, name: str) -> dict[str, Decimal]:
    """What the ledger paid the unit's enterprise of this name under other keys (credit codes), when it
    paid nothing under `key`: a code corrected in a revision, which would be paid a second time."""
    if key in paid.enterprises:
        return {}
    return {
        code: amount for code, amount in paid.by_name.get((unit, name_key(name)), {}).items() if code != key
    }


def name_key(name: str) -> str:
    """An enterprise's name as compared across batches: as a clerk's text is read (full-width forms
    folded), without any spaces."""
    return "".join(normalize_text(name).split())


# A list's parts as a table (one row per Part, in the list's order): what `settle_frame` takes.
PART_COLUMNS = ("row", "enterprise", "line", "source", "committed", "payable")


def settle_frame(parts: pd.DataFrame, paid: Mapping[Key, Decimal]) -> pd.DataFrame:
    """Each part (PART_COLUMNS) against what was paid for its key, with the four FIGURES added. When rows
    list the same enterprise, the payment counts against the rows that can be paid first, then in the
    list's order (so that recording what a list pays leaves nothing to pay on it); what no commitment
    takes is put on the key's last part as `to_recover`. Only the parts of keys the ledger paid are
    walked one by one; every other part's figures follow from nothing paid, a column at a time."""
    count = len(parts)
    committed = parts["committed"].to_numpy(dtype=object)
    payable = parts["payable"].to_numpy(dtype=bool)
    before = np.full(count, ZERO, dtype=object)
    to_recover = np.full(count, ZERO, dtype=object)
    if paid and count:
        keys = list(
            zip(parts["enterprise"].tolist(), parts["line"].tolist(), parts["source"].tolist(), strict=True)
        )
        touched = [n for n, key in enumerate(keys) if key in paid]
        left = {keys[n]: max(paid[keys[n]], ZERO) for n in touched}
        for n in sorted(touched, key=lambda n: (not payable[n], n)):
            before[n] = min(left[keys[n]], max(committed[n], ZERO))
            left[keys[n]] -= before[n]
        for key, n in {keys[n]: n for n in touched}.items():  # each key's last part
            to_recover[n] = left[key]
    outstanding = committed - before
    return parts.assign(
        paid_before=before,
        to_pay=np.where(payable, outstanding, ZERO),
        held=np.where(payable, ZERO, outstanding),
        to_recover=to_recover,
    )


def settle(parts: Iterable[Part], paid: Mapping[Key, Decimal]) -> list[Settled]:
    """settle_frame over a list of parts."""
    parts = list(parts)
    frame = pd.DataFrame(
        [(p.row, p.enterprise, p.line, p.source, p.committed, p.payable) for p in parts],
        columns=list(PART_COLUMNS),
    ).astype({"committed": object})
    settled = settle_frame(frame, paid)
    figures = zip(*(settled[figure].tolist() for figure in FIGURES), strict=True) if parts else iter(())
    return [Settled(part, *values) for part, values in zip(parts, figures, strict=True)]


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
    """A row's standing in the books, from its parts (see standing)."""
    items = list(items)
    return standing(*(any(getattr(item, figure) for item in items) for figure in FIGURES))


def standing(paid_before: bool, to_pay: bool, held: bool, to_recover: bool) -> str:
    """A row's standing from which of its figures are not zero: 应追回 when more was paid than it now
    commits, 补拨 when it was paid and is owed more, 暂缓补拨 when it is owed more but held, 已拨付 when
    it was paid in full; empty when nothing was paid before."""
    if to_recover:
        return TO_RECOVER
    if not paid_before:
        return ""
    if to_pay:
        return TOP_UP
    if held:
        return HELD_TOP_UP
    return PAID_IN_FULL
