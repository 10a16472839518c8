"""The Excel functions of the dtfund add-in (xlwings UDFs).

Each UDF takes the raw values Excel hands over — floats for whole numbers, None for blanks, datetimes,
serial numbers, text with stray spaces or full-width digits — and converts them with the same code as
`dtfund check` (addin.check.cells, addin.check.table), then calls the same calculation (schemas.calculation). So a
UDF and the CLI agree cell for cell. A failure is a readable Chinese message in the cell.

The table functions (DTFUND_CALC, DTFUND_VALIDATE) price each row with the parameters in force on its
key date, as the check does; DTFUND_POLICY gives the value in force on a date it is given. The
functions that take no date (DTFUND_SUBSIDY, DTFUND_SPLIT, DTFUND_FEES) use each parameter's latest value.

The @xw.func wrappers carry no type hints on purpose: xlwings turns parameter annotations into
converters, and the raw values are what we want. Array results are returned as lists of rows, which
Excel's dynamic arrays spill natively.

xlwings writes each function into the add-in's VBA with its Python argument names, so every name must
be a VBA identifier that is not reserved (`date` is: a module with it fails to import and every
function shows #NAME?); tests/test_vba_wrappers.py generates the VBA with xlwings' own generator and
checks. Every argument is read with `err_to_str`, so an Excel error value arrives as its code
("#DIV/0!") and is turned into the CellError `dtfund check` reads from a file: both report it alike.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from collections.abc import Callable
from decimal import Decimal
from functools import cache, wraps
from typing import Any

import pandas as pd
import xlwings as xw

from addin.check.cells import to_choice, to_date, to_money
from addin.check.pipeline import check_table, compute_table
from addin.check.table import HeaderError, raw_table_from_grid
from addin.io.cell_errors import CellError
from addin.reports.catalogue import rule_catalogue
from addin.template_spec import FIRST_DATA_ROW
from schemas.calculation import compute_one
from schemas.fields import NO, computed_fields, fee_limit_kinds, field_by_id, none_value, part_fields
from schemas.money import ZERO, format_ratio, round_cents, split_column
from schemas.policy import KEY_DATE_FIELDS, Policy, PolicyError, load_policy
from schemas.registry import load_registry

PASSED = "通过"
FEE_LABELS = {"service": "服务费", "integration": "集成费"}  # the fee limits of schemas.lines.Base
# The error values xlwings' `err_to_str` hands over as text (xlwings/_xlwindows.py, cell_errors).
EXCEL_ERROR_CODES = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"})
VALIDATE_HEADER = ["行", "字段", "规则", "说明", "依据"]


class UdfInputError(ValueError):
    """An argument the UDF cannot use; the message is shown in the cell."""


POLICY_VARIABLE = "DTFUND_POLICY_FILE"  # another city's policy file for the functions (schemas/data/…)


@cache
def policy() -> Policy:
    """The policy the functions price with: the file the environment variable DTFUND_POLICY_FILE names,
    or the bundled 兵团 measures."""
    return load_policy(os.environ.get(POLICY_VARIABLE) or None)


def latest_policy() -> Policy:
    """The policy at every parameter's latest value: for the functions that take no date."""
    return policy().latest()


def with_cell_errors(value: Any) -> Any:
    """An argument with each Excel error code (as `err_to_str` gives it) turned into a CellError, in a
    single value or a grid."""
    if isinstance(value, str) and value in EXCEL_ERROR_CODES:
        return CellError(value)
    if isinstance(value, list):
        return [with_cell_errors(item) for item in value]
    return value


def readable_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Return a Chinese message instead of raising: a cell never shows a traceback. Excel error values
    among the arguments become CellErrors first."""

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(
                *map(with_cell_errors, args), **{k: with_cell_errors(v) for k, v in kwargs.items()}
            )
        except (UdfInputError, HeaderError, PolicyError) as exc:
            return f"错误：{exc}"
        except Exception:  # noqa: BLE001 - the cell must show a message, whatever went wrong
            return "错误：计算失败。请用 dtfund check 校验该表。"

    return guarded


def _cell(value: Any) -> Any:
    """A value as Excel can take it."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value


def _money_argument(raw: Any, name: str) -> Decimal:
    converted = to_money(raw)
    if converted.rule == "CELL_ERROR_VALUE":
        raise UdfInputError(f"“{field_by_id(policy())[name].label}”是错误值 {raw}，不是填写的数据")
    if converted.failed:
        raise UdfInputError(f"“{field_by_id(policy())[name].label}”的值“{raw}”不是金额数字")
    if converted.from_text:  # the check and the template count such a row as nothing (NUMBER_STORED_AS_TEXT)
        raise UdfInputError(
            f"“{field_by_id(policy())[name].label}”的值“{raw}”是文字形式的数字，申报表和校验都按 0 计算："
            "请把单元格改为数字后重新输入"
        )
    return converted.value if converted.value is not None else ZERO


def _refuse_dated(names: list[str | None]) -> None:
    """Without a date, a parameter whose value changes with the date cannot be priced (合肥's rate by the
    year of completion, whose latest value is 0): said so, instead of pricing at the latest value."""
    for name in names:
        parameter = policy().parameters.get(name or "")
        if parameter is not None and len({repr(v.value) for v in parameter.values}) > 1:
            starts = "、".join(str(v.start) for v in parameter.values)
            raise UdfInputError(
                f"本政策的“{parameter.label}”按日期取不同的值（自 {starts} 起）：请在最后一个参数给出日期"
                "（合同签订或完成改造的日期），或用 DTFUND_CALC 计算整张申报表（每行按其日期取值）"
            )


def _fee_arguments(
    contract_total: Any, consulting: Any, integration: Any, other_service: Any
) -> dict[str, Decimal]:
    """The contract total and the three service fees, converted as the CLI converts them."""
    raw = {
        "contract_total": contract_total,
        "consulting": consulting,
        "integration": integration,
        "other_service": other_service,
    }
    return {name: _money_argument(value, name) for name, value in raw.items()}


def _level_argument(raw: Any) -> str | None:
    converted = to_choice(raw, policy().value("levels"), None)
    if converted.value is not None and converted.value not in policy().value("levels"):
        raise UdfInputError(f"评测等级“{raw}”不是 {'、'.join(policy().value('levels'))} 之一")
    return converted.value


def subsidy(
    paid: Any,
    contract_total: Any,
    consulting: Any,
    integration: Any,
    other_service: Any,
    level: Any,
    on: Any = None,
) -> Decimal:
    """The transformation subsidy these costs earn at this level, the other conditions of eligibility
    (an SME, no negative record, not an already-funded 小巨人, the rest of the contract spent on
    supported goods) being met: priced on the date `on` (taken as the contract, completion and
    evaluation date alike), else at the latest parameters, which a policy whose rate, cap or fee limits
    change with the date cannot be priced at (合肥's rate by the year of completion: said so)."""
    day = _date_argument(on)
    if day is None:
        line = policy().claimed_line
        rated = policy().rated_line
        limits = rated.base.fee_limits if rated is not None and rated.base is not None else {}
        _refuse_dated([line.rate, line.cap, line.amount, *limits.values()])
    priced = policy() if day is not None else latest_policy()
    fees = _fee_arguments(contract_total, consulting, integration, other_service)
    services = sum((fees[name] or ZERO for name in ("consulting", "integration", "other_service")), ZERO)
    dates = dict.fromkeys(KEY_DATE_FIELDS, day) if day is not None else {}
    amounts = compute_one(
        priced,
        paid=_money_argument(paid, "paid"),
        **fees,
        software=max((fees["contract_total"] or ZERO) - services, ZERO),
        level=_level_argument(level),
        **{"contract_date": priced.value("contract_window_start"), **dates},
        size_class=priced.value("size_classes")[0],
        negative_record=none_value("negative_record"),
        little_giant=NO,
    )
    return amounts[priced.claimed_line.id]


def _source_key(raw: Any) -> str:
    sources = policy().funding_sources
    wanted = str(raw).strip()
    for key, label in sources.items():
        if wanted in (key, label, label[:2], label[:4]):
            return key
    raise UdfInputError(f"资金来源“{raw}”应为 {'、'.join(sources.values())} 之一")


def split(amount: Any, source: Any = None) -> list[list[Any]] | Decimal:
    """The first line's parts by funding source (the template's 其中 columns), at the latest shares."""
    latest = latest_policy()
    line = latest.part_line
    parts = split_column(  # the amount at the cent first, as the template's 其中 columns split it
        pd.Series([round_cents(_money_argument(amount, line.id))], dtype=object), latest.shares(line.split)
    )
    if source is None or (isinstance(source, str) and not source.strip()):
        return [[float(parts[key].iloc[0]) for key in part_fields(latest)]]
    return parts[_source_key(source)].iloc[0]


def fees(contract_total: Any, consulting: Any, integration: Any, other_service: Any) -> list[list[Any]]:
    """The service and integration ratios and what exceeds the latest limits."""
    latest = latest_policy()
    amounts = compute_one(latest, **_fee_arguments(contract_total, consulting, integration, other_service))
    flags = []
    limits = latest.rated_line.base.fee_limits if latest.rated_line and latest.rated_line.base else {}
    for kind in fee_limit_kinds(latest):
        if amounts[f"{kind}_excess"] > 0:
            flags.append(
                f"{FEE_LABELS[kind]}超过合同总额的{format_ratio(latest.rate(limits[kind]))}"
                f"（超出 {amounts[f'{kind}_excess']:,.2f} 元）"
            )
    return [[_cell(amounts["service_ratio"]), _cell(amounts["integration_ratio"]), "；".join(flags)]]


def calc(table: Any, first_row: int = FIRST_DATA_ROW) -> list[list[Any]]:
    """Every computed column for every row of the table (blank rows stay blank)."""
    raw = raw_table_from_grid(table, int(first_row), policy=policy())
    result = compute_table(raw, policy())
    fields = computed_fields(policy())
    values = result.amounts[[f.id for f in fields]].reindex(raw.rows)
    blank = ~values.index.isin(result.amounts.index)
    body = [
        [""] * len(fields) if empty else [_cell(v) for v in row]
        for empty, row in zip(blank, values.itertuples(index=False, name=None), strict=True)
    ]
    return [[f.header for f in fields], *body]


def validate(table: Any, first_row: int = FIRST_DATA_ROW) -> list[list[Any]]:
    """The issues `dtfund check` reports for these rows, or one 通过 row."""
    result = check_table(raw_table_from_grid(table, int(first_row), policy=policy()), policy())
    labels = {f.id: f.label for f in (*computed_fields(policy()), *field_by_id(policy()).values())}
    rows = [
        [
            issue.row or "",
            labels.get(issue.field or "", issue.field or ""),
            issue.rule,
            f"{issue.message} 建议：{issue.fix}",
            issue.clause,
        ]
        for issue in result.issues
    ]
    return [VALIDATE_HEADER, *(rows or [[PASSED, "", "", "没有发现问题", ""]])]


def _date_argument(on: Any) -> dt.date | None:
    """A date given to a function (a date cell, an Excel serial, 2025-05-31), or None when blank."""
    if on in (None, ""):
        return None
    converted = to_date(on)
    if converted.failed or converted.value is None:
        raise UdfInputError(f"日期“{on}”无效")
    return converted.value


def policy_value(name: Any, on: Any = None) -> Any:
    """A policy parameter (`subsidy_rate`, or one entry of a table such as `subsidy_cap.三级`): the value
    in force on the date when one is given, else the latest value."""
    text = str(name).strip()
    parameter_name, _, key = text.partition(".")
    if parameter_name not in policy().parameters:
        raise UdfInputError(f"没有名为“{text}”的政策参数；可用：{'、'.join(policy().parameters)}")
    value = policy().value(parameter_name, _date_argument(on))
    if key:
        if not isinstance(value, dict) or key not in value:
            raise UdfInputError(f"参数“{parameter_name}”没有“{key}”这一项")
        value = value[key]
    if isinstance(value, dict):
        return [[k, _cell(v)] for k, v in value.items()]
    if isinstance(value, list):
        return "、".join(value)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return _cell(value)


def rule_text(rule_id: Any) -> list[list[Any]]:
    wanted = str(rule_id).strip().upper()
    if wanted not in load_registry():
        raise UdfInputError(f"没有编号为“{rule_id}”的规则")
    entry = next(e for e in rule_catalogue(policy()) if e.id == wanted)
    return [[f"{entry.title}：{entry.message}", entry.fix, entry.clause]]


# --- the Excel functions -----------------------------------------------------------------------------


def errors_as_codes(function: Callable[..., Any]) -> Callable[..., Any]:
    """Read every argument of an Excel function with xlwings' `err_to_str`: an error value arrives as
    its code, not as a blank."""
    for name in inspect.signature(function).parameters:
        function = xw.arg(name, err_to_str=True)(function)
    return function


@xw.func
@errors_as_codes
@readable_errors
def DTFUND_SUBSIDY(paid, contract_total, consulting, integration, other_service, level, on_date=None):  # noqa: N802
    """改造补贴：按实际支付、合同总额、服务费和评测等级计算（假定其他条件均符合）；给出日期时按该日有效的参数，否则按最新取值。"""
    return _cell(subsidy(paid, contract_total, consulting, integration, other_service, level, on_date))


@xw.func
@errors_as_codes
@readable_errors
def DTFUND_SPLIT(amount, source=None):  # noqa: N802
    """改造补贴按中央、兵团、师市拆分（按最新比例）；给出资金来源时只返回该部分。"""
    return _cell(split(amount, source))


@xw.func
@errors_as_codes
@readable_errors
def DTFUND_FEES(contract_total, consulting, integration, other_service):  # noqa: N802
    """服务费占比、集成费占比，以及超限提示（按最新上限）。"""
    return fees(contract_total, consulting, integration, other_service)


@xw.func
@xw.arg("table", ndim=2)
@errors_as_codes
@readable_errors
def DTFUND_CALC(table, first_row=FIRST_DATA_ROW):  # noqa: N802
    """整张申报表（含表头行）的全部计算列，一次计算；每行按其合同签订日期等取当日有效的参数。"""
    return calc(table, first_row)


@xw.func
@xw.arg("table", ndim=2)
@errors_as_codes
@readable_errors
def DTFUND_VALIDATE(table, first_row=FIRST_DATA_ROW):  # noqa: N802
    """整张申报表（含表头行）的问题清单：行、字段、规则、说明、依据；没有问题时为“通过”。"""
    return validate(table, first_row)


@xw.func
@errors_as_codes
@readable_errors
def DTFUND_POLICY(parameter, on_date=None):  # noqa: N802
    """政策参数，如 subsidy_rate、subsidy_cap.三级；给出日期时为该日有效的取值，否则为最新取值。"""
    return policy_value(parameter, on_date)


@xw.func
@errors_as_codes
@readable_errors
def DTFUND_RULE(rule_id):  # noqa: N802
    """规则的说明、修改建议和依据条款。"""
    return rule_text(rule_id)


UDFS = (DTFUND_SUBSIDY, DTFUND_SPLIT, DTFUND_FEES, DTFUND_CALC, DTFUND_VALIDATE, DTFUND_POLICY, DTFUND_RULE)
