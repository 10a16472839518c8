"""The rules of a transformation-subsidy application table, vectorised over columns.

Each rule is registered in rules.yaml; here is what decides it. A rule returns, per row, whether it
is violated; `details` gives the figures its message needs, for the violating rows only. Rows where a
cell the rule needs failed to convert are skipped (the conversion issue is the one to fix).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas import cell_rules
from schemas.calculation import AMOUNT_FIELDS, RATIO_FIELDS, on_rows
from schemas.fields import YES, application_fields, field_by_id, material_fields
from schemas.money import ZERO, as_money, format_ratio
from schemas.policy import Policy
from schemas.registry import implements

MONEY_TOLERANCE = Decimal("0.005")  # a stored amount within half a cent of the rule's is the same amount
RATIO_TOLERANCE = Decimal("1e-9")
COMPONENT_FIELDS = ("software", "cloud", "equipment", "consulting", "integration", "other_service")


@dataclass(frozen=True)
class RuleContext:
    """What the rules see: the typed inputs, which cells failed to convert or were text, the computed
    amounts, the values the workbook stores in its computed columns, and the policy."""

    frame: pd.DataFrame
    failed: pd.DataFrame
    from_text: pd.DataFrame
    amounts: pd.DataFrame
    stored: pd.DataFrame
    policy: Policy
    _shared: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """What several rules (or a rule's test and its details) use, computed once per table: a
        money column with blanks as zero, the first missing document of each row."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def skipped(self, needs: tuple[str, ...]) -> pd.Series:
        """Rows where a needed cell failed to convert."""
        present = [n for n in needs if n in self.failed.columns]
        if not present:
            return pd.Series(False, index=self.frame.index)
        return self.failed[present].any(axis=1)


Violated = Callable[[RuleContext, str], pd.Series]
Details = Callable[[RuleContext, str, pd.Index], dict[str, Any]]


@dataclass(frozen=True)
class FieldRule:
    """A rule checked on each of its fields; an issue is blamed on the field where it is found."""

    id: str
    fields: Callable[[Policy], list[str]]
    violated: Violated
    details: Details
    needs: tuple[str, ...] = field(default=())


RULES: list[FieldRule] = []


def field_rule(rule_id: str, fields: Callable[[Policy], list[str]], needs: tuple[str, ...] = ()):
    """Register the decorated function as the `violated` test of a rule; its details follow."""

    def register(violated: Violated) -> Violated:
        implements(rule_id)(violated)
        RULES.append(FieldRule(rule_id, fields, violated, _details_of(rule_id), needs))
        return violated

    return register


_DETAILS: dict[str, Details] = {}


def details_of(rule_id: str) -> Callable[[Details], Details]:
    def register(function: Details) -> Details:
        _DETAILS[rule_id] = function
        return function

    return register


def _details_of(rule_id: str) -> Details:
    return lambda ctx, name, rows: _DETAILS.get(rule_id, _value_only)(ctx, name, rows)


def _value_only(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": ctx.frame.loc[rows, name]}


def _inputs(kind: str) -> Callable[[Policy], list[str]]:
    return lambda policy: [f.id for f in application_fields() if not f.computed and f.kind == kind]


def _only(*names: str) -> Callable[[Policy], list[str]]:
    return lambda policy: list(names)


def _money(ctx: RuleContext, name: str) -> pd.Series:
    return ctx.once(f"money:{name}", lambda: as_money(ctx.frame[name]))


def _dates(values: pd.Series) -> list[dt.date | None]:
    return [None if pd.isna(v) else v.date() for v in values]


# --- one cell ---------------------------------------------------------------------------------------


def _required_fields(policy: Policy) -> list[str]:
    return [f.id for f in application_fields() if not f.computed and f.required != "never"]


@field_rule("REQUIRED_MISSING", _required_fields)
def required_missing(ctx: RuleContext, name: str) -> pd.Series:
    spec = field_by_id()[name]
    empty = cell_rules.blank(ctx.frame[name], ctx.failed[name])
    if spec.required == "when_evaluated":
        return empty & ctx.frame["level"].notna()
    return empty


@details_of("REQUIRED_MISSING")
def _required_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    spec = field_by_id()[name]
    condition = "（已填写评测等级的企业必填）" if spec.required == "when_evaluated" else ""
    return {"value": None, "condition": condition}


def _choice_fields(policy: Policy) -> list[str]:
    return [f.id for f in application_fields() if not f.computed and f.kind == "choice"]


@field_rule("VALUE_NOT_ALLOWED", _choice_fields)
def value_not_allowed(ctx: RuleContext, name: str) -> pd.Series:
    return cell_rules.not_allowed(ctx.frame[name], field_by_id()[name].allowed(ctx.policy))


@details_of("VALUE_NOT_ALLOWED")
def _not_allowed_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": ctx.frame.loc[rows, name],
        "expected": "、".join(field_by_id()[name].allowed(ctx.policy)),
    }


@field_rule("AMOUNT_NEGATIVE", _inputs("money"))
def amount_negative(ctx: RuleContext, name: str) -> pd.Series:
    return cell_rules.negative(_money(ctx, name))


@details_of("AMOUNT_NEGATIVE")
def _negative_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": ctx.frame.loc[rows, name], "expected": "≥ 0"}


@field_rule("USCC_INVALID", _only("uscc"))
def uscc_invalid(ctx: RuleContext, name: str) -> pd.Series:
    return cell_rules.invalid_codes(ctx.frame[name])


@details_of("USCC_INVALID")
def _uscc_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    codes = ctx.frame.loc[rows, name]
    return {
        "value": codes,
        "reason": cell_rules.code_problems(codes),
        "expected": "18位有效代码",
    }


# --- one row ----------------------------------------------------------------------------------------


@field_rule("LEVEL_BELOW_2", _only("level"), needs=("level", "claimed"))
def level_below_2(ctx: RuleContext, name: str) -> pd.Series:
    """An evaluated level below 二级, or money claimed without an evaluation."""
    level = ctx.frame["level"]
    claimed = _money(ctx, "claimed") > ZERO
    evaluated_below = level.notna() & ~ctx.amounts["level_ok"]
    return evaluated_below | (level.isna() & claimed)


@details_of("LEVEL_BELOW_2")
def _level_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": ctx.frame.loc[rows, "level"].map(lambda v: "未评测" if v is None else v),
        "expected": "、".join(ctx.policy.eligible_levels),
    }


def _material_columns(policy: Policy) -> list[str]:
    return [f.id for f in material_fields(policy)]


@field_rule("MATERIALS_MISSING", _material_columns)
def materials_missing(ctx: RuleContext, name: str) -> pd.Series:
    """An enterprise applying for the subsidy (evaluated 二级 or above) whose documents are not all
    marked 是: one issue per row, at the first missing document's cell, naming every missing one."""
    return ctx.amounts["level_ok"] & (_first_missing_material(ctx) == name)


def _first_missing_material(ctx: RuleContext) -> pd.Series:
    """Per row, the first document not marked 是 (None when all are)."""

    def first_missing() -> pd.Series:
        columns = _material_columns(ctx.policy)
        missing = pd.DataFrame({c: ctx.frame[c] != YES for c in columns}, index=ctx.frame.index)
        return missing.idxmax(axis=1).where(missing.any(axis=1), None)

    return ctx.once("first_missing_material", first_missing)


@details_of("MATERIALS_MISSING")
def _materials_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    fields = material_fields(ctx.policy)
    marks = ctx.frame.loc[rows, [f.id for f in fields]]
    return {
        "value": ctx.frame.loc[rows, name],
        "missing": ["、".join(f.label for f in fields if mark[f.id] != YES) for _, mark in marks.iterrows()],
        "expected": "、".join(f.label for f in fields),
    }


@field_rule("CONTRACT_DATE_OUT_OF_WINDOW", _only("contract_date"), needs=("contract_date",))
def contract_out_of_window(ctx: RuleContext, name: str) -> pd.Series:
    return ctx.frame["contract_date"].notna() & ~ctx.amounts["in_window"]


@details_of("CONTRACT_DATE_OUT_OF_WINDOW")
def _window_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    start = on_rows(ctx.frame.loc[rows], ctx.policy, "contract_window_start")
    end = on_rows(ctx.frame.loc[rows], ctx.policy, "contract_window_end")
    window = [
        f"{s.isoformat()} 至 {e.isoformat() if e else '试点工作完成前'}"
        for s, e in zip(start, end, strict=True)
    ]
    return {"value": _dates(ctx.frame.loc[rows, "contract_date"]), "expected": window}


@field_rule("EXCLUDED_NEGATIVE_RECORD", _only("negative_record"))
def excluded_negative_record(ctx: RuleContext, name: str) -> pd.Series:
    return ~ctx.amounts["no_negative_record"]


@field_rule("EXCLUDED_LITTLE_GIANT", _only("little_giant"))
def excluded_little_giant(ctx: RuleContext, name: str) -> pd.Series:
    return ~ctx.amounts["not_little_giant"]


@field_rule("COST_COMPONENTS_MISMATCH", _only("contract_total"), needs=("contract_total", *COMPONENT_FIELDS))
def cost_components_mismatch(ctx: RuleContext, name: str) -> pd.Series:
    return ctx.frame["contract_total"].notna() & (_money(ctx, "contract_total") != _component_sum(ctx))


def _component_sum(ctx: RuleContext) -> pd.Series:
    def component_sum() -> pd.Series:
        total = pd.Series(ZERO, index=ctx.frame.index, dtype=object)
        for name in COMPONENT_FIELDS:
            total = total + _money(ctx, name)
        return total

    return ctx.once("component_sum", component_sum)


@details_of("COST_COMPONENTS_MISMATCH")
def _components_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    contract = _money(ctx, "contract_total").loc[rows]
    parts = _component_sum(ctx).loc[rows]
    return {"value": contract, "expected": parts, "difference": contract - parts}


@field_rule("PAID_EXCEEDS_CONTRACT", _only("paid"), needs=("paid", "contract_total"))
def paid_exceeds_contract(ctx: RuleContext, name: str) -> pd.Series:
    return ctx.frame["contract_total"].notna() & (_money(ctx, "paid") > _money(ctx, "contract_total"))


@details_of("PAID_EXCEEDS_CONTRACT")
def _paid_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": _money(ctx, "paid").loc[rows],
        "expected": _money(ctx, "contract_total").loc[rows],
    }


FEES = ("contract_total", "consulting", "integration", "other_service")


def _fee_limit_rule(rule_id: str, blamed: str, fee: str, limit: str, excess: str, rate: str) -> None:
    """A fee over its share of the contract: the service total (20%) or the integration fee (6%)."""

    def violated(ctx: RuleContext, name: str) -> pd.Series:
        return ctx.amounts[excess] > ZERO

    def details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
        found = ctx.amounts[fee] if fee in ctx.amounts.columns else _money(ctx, fee)
        return {
            "value": found.loc[rows],
            "expected": ctx.amounts.loc[rows, limit],
            "excess": ctx.amounts.loc[rows, excess],
            "rate": on_rows(ctx.frame.loc[rows], ctx.policy, rate).map(format_ratio),
        }

    details_of(rule_id)(details)
    field_rule(rule_id, _only(blamed), needs=FEES)(violated)


_fee_limit_rule(
    "FEE_SERVICE_OVER_20",
    "service_total",
    "service_total",
    "service_limit",
    "service_excess",
    "service_fee_limit",
)
_fee_limit_rule(
    "FEE_INTEGRATION_OVER_6",
    "integration",
    "integration",
    "integration_limit",
    "integration_excess",
    "integration_fee_limit",
)


@field_rule("CLAIM_OVER_CAP", _only("claimed"), needs=("claimed", *FEES, "paid", "level"))
def claim_over_cap(ctx: RuleContext, name: str) -> pd.Series:
    """On an eligible row, more claimed than the rules give (ineligible rows get their own rule)."""
    return ctx.amounts["eligible"] & (_money(ctx, "claimed") > ctx.amounts["transformation_subsidy"])


@details_of("CLAIM_OVER_CAP")
def _claim_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    a = ctx.amounts.loc[rows]
    return {
        "value": _money(ctx, "claimed").loc[rows],
        "expected": a["transformation_subsidy"],
        "rate": on_rows(ctx.frame.loc[rows], ctx.policy, "subsidy_rate").map(format_ratio),
        "cap": a["cap"],
        "level": ctx.frame.loc[rows, "level"],
    }


DATE_SEQUENCE = (("completion_date", "contract_date"), ("evaluation_date", "completion_date"))


@field_rule(
    "DATE_ORDER",
    _only(*(later for later, _ in DATE_SEQUENCE)),
    needs=("contract_date", "completion_date", "evaluation_date"),
)
def date_order(ctx: RuleContext, name: str) -> pd.Series:
    earlier = dict(DATE_SEQUENCE)[name]
    return (ctx.frame[name] < ctx.frame[earlier]).fillna(False).astype(bool)


@details_of("DATE_ORDER")
def _date_order_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    earlier = dict(DATE_SEQUENCE)[name]
    return {
        "value": _dates(ctx.frame.loc[rows, name]),
        "expected": _dates(ctx.frame.loc[rows, earlier]),
        "other_field": field_by_id()[earlier].label,
    }


# --- computed cells ---------------------------------------------------------------------------------


def _computed(policy: Policy) -> list[str]:
    return [*AMOUNT_FIELDS, *RATIO_FIELDS]


@field_rule("FORMULA_VALUE_MISMATCH", _computed)
def formula_value_mismatch(ctx: RuleContext, name: str) -> pd.Series:
    """A stored computed value that differs from the rules' — typed over the formula, or a stale cache.
    Rows whose inputs failed or were text are skipped: the workbook's formulas could not see them."""
    stored = ctx.stored[name]
    computed = ctx.amounts[name]
    tolerance = RATIO_TOLERANCE if name in RATIO_FIELDS else MONEY_TOLERANCE
    unreliable = ctx.failed.any(axis=1) | ctx.from_text.any(axis=1)
    return cell_rules.differs(stored, computed, tolerance) & ~unreliable


@details_of("FORMULA_VALUE_MISMATCH")
def _mismatch_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    if name in RATIO_FIELDS:
        show = [
            ("" if v is None else format_ratio(v.quantize(Decimal("0.0001"))))
            for v in ctx.amounts.loc[rows, name]
        ]
        return {"value": [format_ratio(v) for v in ctx.stored.loc[rows, name]], "expected": show}
    return {"value": ctx.stored.loc[rows, name], "expected": ctx.amounts.loc[rows, name]}


# --- the whole table --------------------------------------------------------------------------------


@field_rule("DUPLICATE_ENTERPRISE", _only("uscc"))
def duplicate_enterprise(ctx: RuleContext, name: str) -> pd.Series:
    return cell_rules.repeated(ctx.frame[name])


@details_of("DUPLICATE_ENTERPRISE")
def _duplicate_details(ctx: RuleContext, name: str, rows: pd.Index) -> dict[str, Any]:
    codes = ctx.frame[name]
    return {"value": codes.loc[rows], "expected": cell_rules.other_rows(codes, rows)}
