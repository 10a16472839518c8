"""`dtfund explain FILE --row N`: every step of one enterprise's amounts, with the figures and the clause
of each step, and the dated value of each parameter they used. The figures are the calculation's own
intermediate columns, not a second calculation; the parameters come from the same dated lookup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from addin.reports.labels import part_of
from schemas.calculation import award_labels, row_parameters, window_column
from schemas.fields import TOTAL_FIELD, field_by_id, part_fields
from schemas.lines import FundingLine
from schemas.money import format_ratio, format_yuan
from schemas.policy import DatedValue, Parameter, Policy
from schemas.table import Table


@dataclass(frozen=True)
class Step:
    name: str
    how: str
    amount: Decimal | None
    clause: str


def _yuan(value: Any) -> str:
    return format_yuan(value if isinstance(value, Decimal) else Decimal(0))


def _date(value: Any) -> str:
    return "（空）" if pd.isna(value) else value.date().isoformat()


@dataclass(frozen=True)
class UsedValue:
    """The dated value of a parameter a row's amounts used, and the row's date that chose it."""

    parameter: Parameter
    dated: DatedValue
    key_date: Any  # a Timestamp, or NaT for a blank cell

    @property
    def value(self) -> Any:
        return self.dated.value


def used_values(inputs: pd.Series, policy: Policy) -> dict[str, UsedValue]:
    """Each parameter of the row's amounts at the value the calculation used for this row."""
    used = {}
    for name in row_parameters(policy):
        parameter = policy.parameter(name)
        day = inputs[parameter.applies_by]
        used[name] = UsedValue(parameter, parameter.dated(None if pd.isna(day) else day), day)
    return used


def _shown(value: Any, unit: str, policy: Policy) -> str:
    """A parameter value as the clerk reads it: 50%, 500,000.00 元, 2025-12-31, 二级 500,000.00 元、…"""
    if isinstance(value, dict):
        return "、".join(
            f"{policy.funding_sources.get(k, k)} {_shown(v, unit, policy)}" for k, v in value.items()
        )
    if value is None:
        return "不设"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal) and unit == "比例":
        return format_ratio(value)
    if isinstance(value, Decimal) and unit == "元":
        return f"{format_yuan(value)} 元"
    return str(value)


def _which_value(use: UsedValue, policy: Policy) -> str:
    """The value, the date it took effect, and the row's date that chose it."""
    key = field_by_id(policy)[use.parameter.applies_by].label
    shown = f"{_shown(use.value, use.parameter.unit, policy)}（{use.dated.start} 起施行的取值）"
    if pd.isna(use.key_date):
        return f"{shown}：{key}为空，取第一个取值"
    if use.key_date.date() < use.parameter.values[0].start:
        return f"{shown}：{key} {_date(use.key_date)} 早于第一个取值，取第一个取值"
    return f"{shown}：按{key} {_date(use.key_date)} 选定"


COUNTS = "一两三四五六七八九十"


def _count(n: int) -> str:
    """A small count as a clerk writes it: 两项, 三项, 六项."""
    return COUNTS[n - 1] if 1 <= n <= len(COUNTS) else str(n)


def _at_level(value: Any, level: str | None) -> Any:
    """A parameter's value for the row: its level's entry for a table by level (0 for none)."""
    return value.get(level, Decimal(0)) if isinstance(value, dict) else value


def _base_steps(
    inputs: pd.Series, a: pd.Series, used: dict[str, UsedValue], line: FundingLine, policy: Policy
) -> list[Step]:
    """The eligible base of the rated line: costs, fees over their limits, the base, the rate and cap."""
    assert line.base is not None and line.rate is not None
    base = line.base
    money = {
        name: inputs[name] if inputs[name] is not None else Decimal(0)
        for name in ("contract_total", "paid", "consulting", "integration", "other_service")
    }
    fields = field_by_id(policy)
    steps = [
        Step(
            "合同与付款",
            f"合同总额 {_yuan(money['contract_total'])}，实际支付 {_yuan(money['paid'])}",
            None,
            fields["contract_total"].clause,
        )
    ]
    if base.service_limit:
        clause = used[base.service_limit].parameter.clause
        steps.append(
            Step(
                "总体服务费",
                f"咨询诊断 {_yuan(money['consulting'])} + 集成 {_yuan(money['integration'])} + 其他 "
                f"{_yuan(money['other_service'])}",
                a["service_total"],
                clause,
            )
        )
    for kind, label in (("service", "服务费上限"), ("integration", "集成费上限")):
        limit = base.fee_limits.get(kind)
        if limit is not None:
            steps.append(
                Step(
                    label,
                    f"合同总额 × {format_ratio(used[limit].value)} = {_yuan(a[f'{kind}_limit'])}；超出 "
                    f"{_yuan(a[f'{kind}_excess'])}",
                    a[f"{kind}_limit"],
                    used[limit].parameter.clause,
                )
            )
    if base.fee_limits:
        how = (
            "两项超出额取较大者（集成费包含在总体服务费中，不重复扣减）"
            if len(base.fee_limits) > 1
            else "超出额"
        )
        clause = used[next(iter(base.fee_limits.values()))].parameter.clause
        steps.append(Step("不计入补贴基数的部分", how, a["disallowed"], clause))
    less = f" - {_yuan(a['disallowed'])}" if base.fee_limits else ""
    items = f"{_count(len(base.items))}项支持费用之和 {_yuan(a['items_total'])}"
    steps.append(
        Step(
            "可补贴改造费用",
            f"min(实际支付, 合同总额, {items}){less}，不小于 0",
            a["eligible_base"],
            line.clause,
        )
    )
    level = inputs["level"]
    rate = _at_level(used[line.rate].value, level)
    steps.append(
        Step(
            "按比例补贴",
            f"{_yuan(a['eligible_base'])} × {format_ratio(rate)}，四舍五入到分",
            a["rated_subsidy"],
            line.clause,
        )
    )
    return steps


def _cap_step(a: pd.Series, level: str, line: FundingLine, policy: Policy) -> list[Step]:
    if not line.cap:
        return []
    if not policy.by_level(line.cap):
        return [Step("上限", f"上限 {_yuan(a['cap'])}", a["cap"], line.clause)]
    how = (
        f"评测等级 {level}：上限 {_yuan(a['cap'])}"
        if a["level_ok"]
        else f"评测等级 {level}：未达到{policy.eligible_levels[0]}，不予补贴"
    )
    return [Step("等级上限", how, a["cap"], line.clause)]


def _condition_steps(
    inputs: pd.Series, a: pd.Series, used: dict[str, UsedValue], policy: Policy
) -> list[Step]:
    """Each condition of the enterprise's eligibility, met or not."""
    level = inputs["level"] or "未评测"
    fields = field_by_id(policy)
    conditions = [
        ("level_ok", f"评测等级达到{policy.eligible_levels[0]}及以上（{level}）", fields["level"].clause)
    ]
    for window in policy.windows:
        start, end = used[window.start], used[window.end].value
        label = fields[window.field].label
        conditions.append(
            (
                window_column(window),
                f"{label}在 {start.value} {'至 ' + str(end) if end else '之后'}（{_date(inputs[window.field])}）",
                start.parameter.clause,
            )
        )
    conditions += [
        ("sme", f"属于中小企业（企业规模：{inputs['size_class'] or '未填'}）", fields["size_class"].clause),
        (
            "no_negative_record",
            f"近三年无不良记录（{inputs['negative_record'] or '未填'}）",
            fields["negative_record"].clause,
        ),
        (
            "not_little_giant",
            f"不是已获中央资金支持的“小巨人”（{inputs['little_giant'] or '未填'}）",
            fields["little_giant"].clause,
        ),
        (
            "readable",
            "本行用于计算的单元格模板公式都能计算（没有以文本存储的数字或日期、与下拉选项不一致的填写）",
            "第十一条（一）1",
        ),
    ]
    return [
        Step("条件" + ("符合" if a[key] else "不符合"), text, None, clause)
        for key, text, clause in conditions
    ]


def _line_step(
    inputs: pd.Series, a: pd.Series, used: dict[str, UsedValue], line: FundingLine, policy: Policy
) -> Step:
    """The line's amount: how it follows from the row's values and the line's conditions."""
    level = inputs["level"] or "未评测"
    if line.rated:
        how = (
            (
                f"min({_yuan(a['rated_subsidy'])}, {_yuan(a['cap'])})"
                if line.cap
                else _yuan(a["rated_subsidy"])
            )
            if a["eligible"]
            else "不符合条件，补贴为 0"
        )
        return Step(line.label, how, a[line.id], line.clause)
    parts = []
    if line.deadline:
        dates = "、".join(f"{field_by_id(policy)[n].label} {_date(inputs[n])}" for n in line.deadline_dates)
        on_time = "均不晚于" if a["on_time"] else "未能都不晚于"
        parts.append(f"{dates}，{on_time} {used[line.deadline].value}；{level}")
    if line.listed is not None:
        field = field_by_id(policy)[line.listed.field]
        chosen = inputs[field.id] or field.none_value or "未填"
        if chosen != field.none_value and chosen not in policy.value(line.listed.list):
            chosen += f"（不是{policy.parameter(line.listed.list).label}之一，不予奖励）"
        shares = "、".join(
            f"{policy.funding_sources[s]} {_yuan(a[f'{line.id}:{s}'])}" for s in used[line.split].value
        )
        parts.append(f"{field.label}：{chosen}（{shares}）")
    if not parts:
        shown = _shown(_at_level(used[str(line.amount)].value, inputs["level"]), "元", policy)
        parts.append(f"{level}：{shown}" if a["eligible"] else "不符合条件，为 0")
    return Step(line.label, "；".join(parts), a[line.id], line.clause)


def _part_steps(a: pd.Series, used: dict[str, UsedValue], policy: Policy) -> list[Step]:
    """The first line's parts by funding source: all but the last rounded, the last what remains."""
    line = policy.part_line
    shares = used[line.split].value
    fields = part_fields(policy)
    steps = []
    for n, (source, field) in enumerate(fields.items()):
        how = (
            f"{line.label} × {format_ratio(shares[source])}，四舍五入到分"
            if n < len(fields) - 1
            else f"{line.label}减去以上{_count(n)}项（{_count(n + 1)}项之和等于{line.label}）"
            if n
            else f"全部来自{policy.funding_sources[source]}"
        )
        steps.append(
            Step(
                part_of(line.label, policy.funding_sources[source]),
                how,
                a[field],
                used[line.split].parameter.clause,
            )
        )
    return steps


def explain_row(table: Table, row: int, policy: Policy) -> list[Step]:
    """The steps of the amounts of the enterprise on Excel row `row`, line by line (Policy.lines)."""
    inputs = table.frame.loc[row]
    a = table.amounts.loc[row]
    used = used_values(inputs, policy)
    level = inputs["level"] or "未评测"
    rated = policy.rated_line
    steps = []
    if rated is not None:
        steps += _base_steps(inputs, a, used, rated, policy) + _cap_step(a, level, rated, policy)
    steps += _condition_steps(inputs, a, used, policy)
    for line in policy.lines:
        steps.append(_line_step(inputs, a, used, line, policy))
        if line is policy.part_line:
            steps += _part_steps(a, used, policy)
    labels = award_labels(policy)
    total = labels.pop(TOTAL_FIELD)
    steps.append(
        Step(total, " + ".join(labels.values()), a[TOTAL_FIELD], field_by_id(policy)[TOTAL_FIELD].clause)
    )
    for use in used.values():
        steps.append(
            Step(f"所用参数：{use.parameter.label}", _which_value(use, policy), None, use.parameter.clause)
        )
    return steps
