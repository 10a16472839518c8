"""The rules of a transformation-subsidy application table, vectorised over columns.

Each rule is registered in rules.yaml; here is what decides it. A rule's test gets the column pandera
hands it (the table's own column, or the stored values of a computed column) and the table, and returns
per row whether the rule is broken; `details` gives the figures its message needs, for those rows only.
The cell rules every column declares (blank, allowed values, amounts ≥ 0, credit codes) are the schema's
own (schemas.engine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas import cell_rules
from schemas.calculation import line_value, on_rows, window_column
from schemas.engine import Details, Rule, Violated, invalid_rows, only, value_only
from schemas.fields import (
    RATIO_FIELDS,
    YES,
    Field,
    amount_fields,
    application_fields,
    declared_fields,
    field_by_id,
    material_fields,
    ratio_fields,
)
from schemas.money import ZERO, format_ratio
from schemas.policy import Policy
from schemas.registry import implements
from schemas.table import Table

MONEY_TOLERANCE = Decimal("0.005")  # a stored amount within half a cent of the rule's is the same amount
RATIO_TOLERANCE = Decimal("1e-9")
DATE_FIELDS = tuple(f.id for f in declared_fields() if f.kind == "date")
COMPONENT_FIELDS = ("software", "cloud", "equipment", "consulting", "integration", "other_service")

RULES: list[Rule] = []
_DETAILS: dict[str, Details] = {}


def field_rule(rule_id: str, fields: Callable[[Policy], list[str]], needs: tuple[str, ...] = ()):
    """Add the decorated function to the application's rules as the test of a rule (registered by its
    `@implements`); its details follow (`details_of`)."""

    def add(violated: Violated) -> Violated:
        RULES.append(Rule(rule_id, fields, violated, _details_of(rule_id), needs))
        return violated

    return add


def details_of(rule_id: str) -> Callable[[Details], Details]:
    def register(function: Details) -> Details:
        _DETAILS[rule_id] = function
        return function

    return register


def _details_of(rule_id: str) -> Details:
    return lambda table, name, rows: _DETAILS.get(rule_id, value_only)(table, name, rows)


def _money(table: Table, name: str) -> pd.Series:
    """A money column with blanks as zero, computed once per table."""
    return table.money(name)


def _dates(values: pd.Series) -> list[dt.date | None]:
    return [None if pd.isna(v) else v.date() for v in values]


# --- one cell ---------------------------------------------------------------------------------------
# Blank cells in always-required columns, choices, amounts below zero and credit codes are declared by
# each column of the schema (schemas.engine); what is required only once the level is filled is here.


def _required_when_evaluated(policy: Policy) -> list[str]:
    return [f.id for f in application_fields(policy) if not f.computed and f.required == "when_evaluated"]


# REQUIRED_MISSING is registered with the checks each column declares (schemas.engine)
@field_rule("REQUIRED_MISSING", _required_when_evaluated)
def required_missing(table: Table, column: pd.Series) -> pd.Series:
    return cell_rules.blank(column, table.failed[column.name]) & table.frame["level"].notna()


@details_of("REQUIRED_MISSING")
def _required_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": None, "condition": "（已填写评测等级的企业必填）"}


# --- one row ----------------------------------------------------------------------------------------


@implements("LEVEL_BELOW_2")
@field_rule("LEVEL_BELOW_2", only("level"), needs=("level", "claimed"))
def level_below_2(table: Table, column: pd.Series) -> pd.Series:
    """An evaluated level below 二级, or money claimed without an evaluation."""
    claimed = _money(table, "claimed") > ZERO
    evaluated_below = column.notna() & ~table.amounts["level_ok"]
    return evaluated_below | (column.isna() & claimed)


@details_of("LEVEL_BELOW_2")
def _level_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": table.frame.loc[rows, "level"].map(lambda v: "未评测" if v is None else v),
        "expected": "、".join(table.policy.eligible_levels),
    }


def _material_columns(policy: Policy) -> list[str]:
    return [f.id for f in material_fields(policy)]


@implements("MATERIALS_MISSING")
@field_rule("MATERIALS_MISSING", _material_columns)
def materials_missing(table: Table, column: pd.Series) -> pd.Series:
    """An enterprise applying for the subsidy (evaluated 二级 or above) whose documents are not all
    marked 是: one issue per row, at the first missing document's cell, naming every missing one. A row
    with a document cell that failed to convert, or that holds a value its column does not allow (TRUE
    for 是), is left to that cell's issue, as a rule's `needs` are (the documents follow the policy)."""
    documents = _material_columns(table.policy)
    unread = table.skipped(documents) | invalid_rows(table, documents)
    return table.amounts["level_ok"] & (_first_missing_material(table) == column.name) & ~unread


def _first_missing_material(table: Table) -> pd.Series:
    """Per row, the first document not marked 是 (None when all are)."""

    def first_missing() -> pd.Series:
        columns = _material_columns(table.policy)
        missing = pd.DataFrame({c: table.frame[c] != YES for c in columns}, index=table.frame.index)
        return missing.idxmax(axis=1).where(missing.any(axis=1), None)

    return table.once("first_missing_material", first_missing)


@details_of("MATERIALS_MISSING")
def _materials_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    fields = material_fields(table.policy)
    marks = table.frame.loc[rows, [f.id for f in fields]]
    return {
        "value": table.frame.loc[rows, name],
        "missing": ["、".join(f.label for f in fields if mark[f.id] != YES) for _, mark in marks.iterrows()],
        "expected": "、".join(f.label for f in fields),
    }


def _window_fields(contract: bool) -> Callable[[Policy], list[str]]:
    """The fields of the policy's date windows: the contract date's, or every other."""
    return lambda policy: [w.field for w in policy.windows if (w.field == "contract_date") == contract]


@implements("CONTRACT_DATE_OUT_OF_WINDOW", "DATE_OUT_OF_WINDOW")
def _out_of_window(table: Table, column: pd.Series) -> pd.Series:
    window = next(w for w in table.policy.windows if w.field == column.name)
    return column.notna() & ~table.amounts[window_column(window)]


def _window_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    window = next(w for w in table.policy.windows if w.field == name)
    start = on_rows(table.frame.loc[rows], table.policy, window.start)
    end = on_rows(table.frame.loc[rows], table.policy, window.end)
    shown = [
        f"{s.isoformat()} 至 {e.isoformat() if e else '试点工作完成前'}"
        for s, e in zip(start, end, strict=True)
    ]
    return {"value": _dates(table.frame.loc[rows, name]), "expected": shown}


OTHER_DATES = tuple(name for name in DATE_FIELDS if name != "contract_date")
for _rule_id, _contract, _needs in (
    ("CONTRACT_DATE_OUT_OF_WINDOW", True, ("contract_date",)),
    ("DATE_OUT_OF_WINDOW", False, OTHER_DATES),
):
    details_of(_rule_id)(_window_details)
    field_rule(_rule_id, _window_fields(_contract), needs=_needs)(_out_of_window)


# --- 第十条（七）: the exclusions of every enterprise, on the application and on the award sheets ------


def _negative_record(table: Table, column: pd.Series) -> pd.Series:
    """A record named (a blank cell is REQUIRED_MISSING, not a record)."""
    none_record = next(f for f in table.fields if f.id == column.name).none_value
    return cell_rules.has_negative_record(column, none_record)


def _not_accepted(table: Table, column: pd.Series) -> pd.Series:
    return column.notna() & (column != _accepted(table))


def _accepted(table: Table) -> str:
    return table.policy.value("acceptance_statuses")[0]


EXCLUSIONS = (
    Rule(
        "EXCLUDED_NEGATIVE_RECORD",
        only("negative_record"),
        _negative_record,
        value_only,
        ("negative_record",),
    ),
    Rule(
        "EXCLUDED_NOT_ACCEPTED",
        only("acceptance"),
        _not_accepted,
        lambda table, name, rows: {"value": table.frame.loc[rows, name], "expected": _accepted(table)},
        ("acceptance",),
    ),
    Rule(
        "EXCLUDED_LITTLE_GIANT",
        only("little_giant"),
        lambda table, column: cell_rules.is_yes(column, YES),
        lambda table, name, rows: {"value": YES},
        ("little_giant",),
    ),
)


@implements("EXCLUDED_NEGATIVE_RECORD", "EXCLUDED_NOT_ACCEPTED", "EXCLUDED_LITTLE_GIANT")
def exclusion_rules(fields: Sequence[Field]) -> list[Rule]:
    """The exclusions a table's columns can show (an award sheet has 项目验收情况, an application not)."""
    present = {f.id for f in fields}
    return [rule for rule in EXCLUSIONS if set(rule.fields(None)) <= present]


RULES.extend(exclusion_rules(declared_fields()))


@implements("COST_COMPONENTS_MISMATCH")
@field_rule("COST_COMPONENTS_MISMATCH", only("contract_total"), needs=("contract_total", *COMPONENT_FIELDS))
def cost_components_mismatch(table: Table, column: pd.Series) -> pd.Series:
    return column.notna() & (_money(table, "contract_total") != _component_sum(table))


def _component_sum(table: Table) -> pd.Series:
    """Σ of the six cost items, as the calculation keeps it (schemas.money.money_total)."""
    return table.money_total(COMPONENT_FIELDS)


@details_of("COST_COMPONENTS_MISMATCH")
def _components_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    contract = _money(table, "contract_total").loc[rows]
    parts = _component_sum(table).loc[rows]
    return {"value": contract, "expected": parts, "difference": contract - parts}


@implements("PAID_EXCEEDS_CONTRACT")
@field_rule("PAID_EXCEEDS_CONTRACT", only("paid"), needs=("paid", "contract_total"))
def paid_exceeds_contract(table: Table, column: pd.Series) -> pd.Series:
    return table.frame["contract_total"].notna() & (_money(table, "paid") > _money(table, "contract_total"))


@details_of("PAID_EXCEEDS_CONTRACT")
def _paid_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": _money(table, "paid").loc[rows],
        "expected": _money(table, "contract_total").loc[rows],
    }


FEES = ("contract_total", "consulting", "integration", "other_service")


@implements("FEE_SERVICE_OVER_20", "FEE_INTEGRATION_OVER_6")
def _fee_limit_rule(rule_id: str, kind: str, fee: str) -> None:
    """A fee over its share of the contract: the service total (20%) or the integration fee (6%), where
    the policy's base has that fee limit (schemas.lines.Base.fee_limits)."""

    def violated(table: Table, column: pd.Series) -> pd.Series:
        return table.amounts[f"{kind}_excess"] > ZERO

    def details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
        found = table.amounts[fee] if fee in table.amounts.columns else _money(table, fee)
        rate = _fee_limits(table.policy)[kind]
        return {
            "value": found.loc[rows],
            "expected": table.amounts.loc[rows, f"{kind}_limit"],
            "excess": table.amounts.loc[rows, f"{kind}_excess"],
            "rate": on_rows(table.frame.loc[rows], table.policy, rate).map(format_ratio),
        }

    def blamed(policy: Policy) -> list[str]:
        return [fee] if kind in _fee_limits(policy) else []

    details_of(rule_id)(details)
    field_rule(rule_id, blamed, needs=FEES)(violated)


def _fee_limits(policy: Policy) -> dict[str, str]:
    line = policy.rated_line
    return line.base.fee_limits if line is not None and line.base is not None else {}


_fee_limit_rule("FEE_SERVICE_OVER_20", "service", "service_total")
_fee_limit_rule("FEE_INTEGRATION_OVER_6", "integration", "integration")


@implements("CLAIM_OVER_CAP")
@field_rule("CLAIM_OVER_CAP", only("claimed"), needs=("claimed", *FEES, "paid", "level"))
def claim_over_cap(table: Table, column: pd.Series) -> pd.Series:
    """On an eligible row, more claimed than the rules give (ineligible rows get their own rule)."""
    return table.amounts["eligible"] & (
        _money(table, "claimed") > table.amounts[table.policy.claimed_line.id]
    )


@details_of("CLAIM_OVER_CAP")
def _claim_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    a = table.amounts.loc[rows]
    line = table.policy.claimed_line
    rate = line_value(table.frame.loc[rows], table.policy, line.rate) if line.rate else ZERO
    return {
        "value": _money(table, "claimed").loc[rows],
        "expected": a[line.id],
        "rate": rate.map(format_ratio) if line.rate else "—",
        "cap": a["cap"] if "cap" in a.columns else "—",
        "level": table.frame.loc[rows, "level"],
    }


DATE_SEQUENCE = (("completion_date", "contract_date"), ("evaluation_date", "completion_date"))


@implements("DATE_ORDER")
@field_rule(
    "DATE_ORDER",
    only(*(later for later, _ in DATE_SEQUENCE)),
    needs=("contract_date", "completion_date", "evaluation_date"),
)
def date_order(table: Table, column: pd.Series) -> pd.Series:
    earlier = dict(DATE_SEQUENCE)[column.name]
    return (column < table.frame[earlier]).fillna(False).astype(bool)


@details_of("DATE_ORDER")
def _date_order_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    earlier = dict(DATE_SEQUENCE)[name]
    return {
        "value": _dates(table.frame.loc[rows, name]),
        "expected": _dates(table.frame.loc[rows, earlier]),
        "other_field": field_by_id(table.policy)[earlier].label,
    }


# --- computed cells ---------------------------------------------------------------------------------


def _computed(policy: Policy) -> list[str]:
    return [*amount_fields(policy), *ratio_fields(policy)]


@implements("FORMULA_VALUE_MISMATCH")
@field_rule("FORMULA_VALUE_MISMATCH", _computed)
def formula_value_mismatch(table: Table, column: pd.Series) -> pd.Series:
    """A stored computed value that differs from the rules' — typed over the formula, or a stale cache.
    Rows whose inputs failed or were text are skipped: the workbook's formulas could not see them."""
    computed = table.amounts[column.name]
    tolerance = RATIO_TOLERANCE if column.name in RATIO_FIELDS else MONEY_TOLERANCE
    unreliable = table.failed.any(axis=1) | table.from_text.any(axis=1)
    return cell_rules.differs(column, computed, tolerance) & ~unreliable


@details_of("FORMULA_VALUE_MISMATCH")
def _mismatch_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    if name in RATIO_FIELDS:
        show = [
            ("" if v is None else format_ratio(v.quantize(Decimal("0.0001"))))
            for v in table.amounts.loc[rows, name]
        ]
        return {"value": [format_ratio(v) for v in table.stored.loc[rows, name]], "expected": show}
    return {"value": table.stored.loc[rows, name], "expected": table.amounts.loc[rows, name]}


# --- the whole table --------------------------------------------------------------------------------


@implements("DUPLICATE_ENTERPRISE")
@field_rule("DUPLICATE_ENTERPRISE", only("uscc"))
def duplicate_enterprise(table: Table, column: pd.Series) -> pd.Series:
    return cell_rules.repeated(column)


@details_of("DUPLICATE_ENTERPRISE")
def _duplicate_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    codes = table.frame[name]
    return {"value": codes.loc[rows], "expected": cell_rules.other_rows(codes, rows)}


# --- the submitting unit ----------------------------------------------------------------------------


@implements("UNIT_MISMATCH")
@field_rule("UNIT_MISMATCH", only("division"))
def unit_mismatch(table: Table, column: pd.Series) -> pd.Series:
    """A row of another division than the workbook's 填报单位 (when that unit is one of the allowed)."""
    units = table.policy.value("submitting_units")
    if table.unit not in units:
        return pd.Series(False, index=column.index)
    return column.notna() & column.isin(units) & (column != table.unit)


@details_of("UNIT_MISMATCH")
def _unit_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": table.frame.loc[rows, name], "expected": table.unit}


def rules_without_columns(policy: Policy) -> set[str]:
    """The application's rules the policy gives no column to check (its fee limits, its other date
    windows): the templates' 规则 sheet and the checks leave them out."""
    shown = {rule.id for rule in RULES if rule.fields(policy)}
    return {rule.id for rule in RULES} - shown
