"""One table of a submitted workbook as the rules see it: the one container every sheet's rows travel in,
from conversion through the rules to the reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pandas as pd

from schemas.fields import Field
from schemas.money import as_money, money_total, money_total_key
from schemas.policy import Policy
from schemas.registry import Issue


class Cells(Protocol):
    """Where a table's rows sit: the sheet, the Excel row of each entry, and each field's cell."""

    sheet: str
    rows: list[int]

    def cell(self, name: str, row: int) -> str | None: ...


@dataclass
class Table:
    """Typed inputs by field id (indexed by Excel row), which cells failed to convert or were read from
    text, the numbers the workbook stores in its computed columns, the amounts the rules give, and the
    issues found so far. `raw` says where each row and field sits in the workbook."""

    fields: tuple[Field, ...]
    frame: pd.DataFrame
    failed: pd.DataFrame
    from_text: pd.DataFrame
    stored: pd.DataFrame
    policy: Policy
    raw: Any = None  # the raw cells (Cells); None for a table that did not come from a sheet
    amounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    issues: list[Issue] = field(default_factory=list)
    unit: str | None = None  # the workbook's 填报单位
    _shared: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of_figures(
        cls, frame: pd.DataFrame, policy: Policy, raw: Any, amounts: pd.DataFrame | None = None
    ) -> Table:
        """A table of figures that were not converted from a sheet's cells here (a plan's lines, rows
        gathered from several files): no fields to declare, nothing failed or read from text."""
        empty = pd.DataFrame(index=frame.index)
        return cls(
            fields=(),
            frame=frame,
            failed=empty,
            from_text=empty,
            stored=empty,
            policy=policy,
            raw=raw,
            amounts=amounts if amounts is not None else empty,
        )

    @property
    def sheet(self) -> str:
        return self.raw.sheet if self.raw is not None else ""

    @property
    def rows(self) -> pd.Index:
        return self.frame.index

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """What several rules use (a money column with blanks as zero, a sum), computed once per table."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def keep_money(self, money: dict[str, pd.Series]) -> None:
        """Money columns as the calculation counted them (blanks as zero), for the rules (see money)."""
        self._shared.update({f"money:{name}": column for name, column in money.items()})

    def kept_money(self) -> dict[str, pd.Series]:
        """The money columns kept so far, by field id, and their sums kept (by money_total_key)."""
        return {
            key.removeprefix("money:"): column
            for key, column in self._shared.items()
            if key.startswith("money:")
        }

    def money(self, name: str) -> pd.Series:
        """A money column with blanks as zero, each amount at the cent (schemas.money.as_money), counted
        once per table."""
        return self.once(f"money:{name}", lambda: as_money(self.frame[name]))

    def money_total(self, names: Sequence[str]) -> pd.Series:
        """Σ of money columns as `money` counts them, row by row, once per table (or as the
        calculation kept it)."""
        return self.once(
            f"money:{money_total_key(names)}",
            lambda: money_total([self.money(name) for name in names], self.frame.index),
        )

    def skipped(self, needs: Sequence[str]) -> pd.Series:
        """Rows where a cell a rule needs failed to convert (its conversion issue is the one to fix)."""
        present = [n for n in needs if n in self.failed.columns]
        if not present:
            return pd.Series(False, index=self.frame.index)
        return self.failed[present].any(axis=1)

    def as_sheet(self) -> pd.DataFrame:
        """The table as its sheet holds it: each input column typed, each computed column as stored."""
        computed = [f.id for f in self.fields if f.computed and f.id in self.stored.columns]
        if not computed:
            return self.frame
        return pd.concat([self.frame, self.stored[computed]], axis=1)

    def with_issues(self, issues: list[Issue]) -> Table:
        """The same table with these issues (its shared figures kept)."""
        table = replace(self, issues=issues)
        table._shared = self._shared
        return table

    @classmethod
    def joined(cls, tables: Sequence[Table]) -> Table:
        """Blocks of consecutive rows of one table (at least one), as one table."""
        if len(tables) == 1:
            return tables[0]
        first = tables[0]

        def stacked(name: str) -> pd.DataFrame:
            return pd.concat([getattr(t, name) for t in tables])

        joined = replace(
            first,
            frame=stacked("frame"),
            failed=stacked("failed"),
            from_text=stacked("from_text"),
            stored=stacked("stored"),
            amounts=stacked("amounts"),
            issues=[issue for t in tables for issue in t.issues],
        )
        for key in [key for key in first._shared if key.startswith("money:")]:
            if all(key in t._shared for t in tables):
                joined._shared[key] = pd.concat([t._shared[key] for t in tables])
        return joined
