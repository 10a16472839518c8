"""The other support lines (第十条（一）4, （三）, （四）2, （六）1): what each award sheet holds, and the
amount each row commits, by funding source.

The kinds come from the policy's `awards` section, their columns from award_fields.yaml. Amounts are
Decimal 元; the 赋能载体 subsidy is computed (min(投入 × 10%, 100万元), only when 兵团认定 = 是).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from schemas import yaml_data
from schemas.cell_rules import is_yes
from schemas.fields import YES, Field, field_from_spec
from schemas.money import ZERO, as_money, column_min, column_total, round_cents_column
from schemas.policy import Policy, PolicyError

SOURCE_FIELD = "source"


@dataclass(frozen=True)
class AwardKind:
    id: str
    sheet: str
    clause: str
    line: str  # the plan line the awards count against
    applicant: str  # "enterprise" (第十条（七） applies) or "division"
    fields: tuple[Field, ...]
    cap: str | None = None  # parameter names
    rate: str | None = None
    pool: str | None = None
    count_limit: str | None = None

    def field(self, field_id: str) -> Field:
        return next(f for f in self.fields if f.id == field_id)

    def input_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.computed)

    @property
    def key_field(self) -> str:
        """What identifies a winner: the enterprise's credit code, or the division for 师市 awards."""
        return "uscc" if self.has("uscc") else "division"

    @property
    def name_field(self) -> str:
        return "name" if self.has("name") else "division"

    def has(self, field_id: str) -> bool:
        return any(f.id == field_id for f in self.fields)


@cache
def _award_columns() -> dict[str, Any]:
    text = resources.files("schemas").joinpath("data", "award_fields.yaml").read_text("utf-8")
    return yaml_data.safe_load(text)


def source_field(policy: Policy, line: str, clause: str) -> Field:
    """The 资金来源 column of a sheet: the sources its plan line may use. With one source, a blank cell
    reads as it."""
    if policy.plan is None:
        raise PolicyError("政策文件缺少资金使用计划表（plan），无法确定奖励的资金来源")
    names = tuple(policy.funding_sources[s] for s in policy.plan.line(line).sources)
    single = len(names) == 1
    return Field(
        id=SOURCE_FIELD,
        label="资金来源",
        kind="choice",
        clause=clause,
        width=14,
        required="never" if single else "always",
        choices=() if single else names,
        none_value=names[0] if single else None,
        help="本项奖励只能从" + "或".join(names) + "列支。",
    )


def award_kinds(policy: Policy) -> tuple[AwardKind, ...]:
    """Every award sheet of the policy, in workbook order."""
    layout = _award_columns()
    kinds = []
    for kind_id, raw in policy.awards.items():
        fields = []
        for spec in layout["sheets"][raw["fields"]]:
            if spec.get("use") == SOURCE_FIELD:
                fields.append(source_field(policy, str(raw["line"]), raw["clause"]))
                continue
            base = dict(layout["columns"][spec["use"]]) if "use" in spec else {}
            base.update({k: v for k, v in spec.items() if k != "use"})
            fields.append(field_from_spec(base))
        kinds.append(
            AwardKind(
                id=kind_id,
                sheet=raw["sheet"],
                clause=raw["clause"],
                line=str(raw["line"]),
                applicant=raw["applicant"],
                fields=tuple(fields),
                cap=raw.get("cap"),
                rate=raw.get("rate"),
                pool=raw.get("pool"),
                count_limit=raw.get("count_limit"),
            )
        )
    return tuple(kinds)


def award_list_lines(policy: Policy) -> set[str]:
    """The keys of the plan lines the award lists commit money to (an awards workbook's sheets)."""
    return {kind.line for kind in award_kinds(policy)}


def award_units(policy: Policy) -> list[str]:
    """Who may submit an awards workbook (its 填报单位): 兵团专班, or one of the submitting units."""
    return [*policy.value("award_preparers"), *policy.value("submitting_units")]


def source_ids(policy: Policy) -> dict[str, str]:
    """Funding-source id by its name (资金来源 cells hold names)."""
    return {name: source for source, name in policy.funding_sources.items()}


def compute_awards(kind: AwardKind, frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Per row: the amount committed (`award`) and the funding source id it is charged to (`source`).
    For 赋能载体 also the uncapped and capped subsidy (the template's formula computes the same)."""
    out = pd.DataFrame(index=frame.index)
    if kind.rate:
        investment = as_money(frame["investment"])
        rated = round_cents_column(investment * policy.rate(kind.rate))
        capped = column_min(rated, policy.value(kind.cap)) if kind.cap else rated
        recognized = is_yes(frame["recognized"], YES)
        out["rated"] = rated
        out["subsidy"] = capped.where(recognized, ZERO).astype(object)
        out["award"] = out["subsidy"]
    else:
        out["award"] = as_money(frame["amount"])
    ids = source_ids(policy)
    out["source"] = pd.Series(
        [ids.get(name) for name in frame[SOURCE_FIELD]], index=frame.index, dtype=object
    )
    return out


def committed_by_source(amounts: pd.DataFrame) -> dict[str, Decimal]:
    """Σ of the awards (`award`) per funding source id (`source`); rows with no known source are left
    out (their 资金来源 cell is reported)."""
    known = amounts[amounts["source"].notna()]
    return {source: column_total(group["award"]) for source, group in known.groupby("source", sort=False)}
