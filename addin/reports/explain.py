"""`dtfund explain FILE --row N`: every step of one enterprise's amounts, with the figures and the clause
of each step, and the dated value of each parameter they used. The figures are the calculation's own
intermediate columns, not a second calculation; the parameters come from the same dated lookup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from addin.reports.labels import part_of_subsidy
from schemas.calculation import ROW_PARAMETERS, SUBSIDY_PART_FIELDS
from schemas.fields import field_by_id, none_value
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
    for name in ROW_PARAMETERS:
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
    key = field_by_id()[use.parameter.applies_by].label
    shown = f"{_shown(use.value, use.parameter.unit, policy)}（{use.dated.start} 起施行的取值）"
    if pd.isna(use.key_date):
        return f"{shown}：{key}为空，取第一个取值"
    if use.key_date.date() < use.parameter.values[0].start:
        return f"{shown}：{key} {_date(use.key_date)} 早于第一个取值，取第一个取值"
    return f"{shown}：按{key} {_date(use.key_date)} 选定"


def explain_row(table: Table, row: int, policy: Policy) -> list[Step]:
    """The steps of the amounts of the enterprise on Excel row `row`."""
    inputs = table.frame.loc[row]
    a = table.amounts.loc[row]
    money = {
        name: inputs[name] if inputs[name] is not None else Decimal(0)
        for name in ("contract_total", "paid", "consulting", "integration", "other_service")
    }
    used = used_values(inputs, policy)
    service_rate, integration_rate = used["service_fee_limit"].value, used["integration_fee_limit"].value
    rate = used["subsidy_rate"].value
    level = inputs["level"] or "未评测"
    steps = [
        Step(
            "合同与付款",
            f"合同总额 {_yuan(money['contract_total'])}，实际支付 {_yuan(money['paid'])}",
            None,
            "附件（一）",
        ),
        Step(
            "总体服务费",
            f"咨询诊断 {_yuan(money['consulting'])} + 集成 {_yuan(money['integration'])} + 其他 "
            f"{_yuan(money['other_service'])}",
            a["service_total"],
            "附件（一）",
        ),
        Step(
            "服务费上限",
            f"合同总额 × {format_ratio(service_rate)} = {_yuan(a['service_limit'])}；超出 "
            f"{_yuan(a['service_excess'])}",
            a["service_limit"],
            "附件（一）",
        ),
        Step(
            "集成费上限",
            f"合同总额 × {format_ratio(integration_rate)} = {_yuan(a['integration_limit'])}；超出 "
            f"{_yuan(a['integration_excess'])}",
            a["integration_limit"],
            "附件（一）",
        ),
        Step(
            "不计入补贴基数的部分",
            "两项超出额取较大者（集成费包含在总体服务费中，不重复扣减）",
            a["disallowed"],
            "附件（一）",
        ),
        Step(
            "可补贴改造费用",
            f"min(实际支付, 合同总额, 六项支持费用之和 {_yuan(a['items_total'])}) − {_yuan(a['disallowed'])}，"
            "不小于 0",
            a["eligible_base"],
            "第十条（一）1",
        ),
        Step(
            "按比例补贴",
            f"{_yuan(a['eligible_base'])} × {format_ratio(rate)}，四舍五入到分",
            a["rated_subsidy"],
            "第十条（一）1",
        ),
        Step(
            "等级上限",
            f"评测等级 {level}：上限 {_yuan(a['cap'])}"
            if a["level_ok"]
            else f"评测等级 {level}：未达到二级，不予补贴",
            a["cap"],
            "第十条（一）1",
        ),
    ]
    window_end = used["contract_window_end"].value
    conditions = [
        ("level_ok", f"评测等级达到二级及以上（{level}）", "第十条（一）1"),
        (
            "in_window",
            f"合同签订于 {used['contract_window_start'].value} "
            f"{'至 ' + str(window_end) if window_end else '之后'}（{_date(inputs['contract_date'])}）",
            "第十一条（一）2",
        ),
        ("sme", f"属于中小企业（企业规模：{inputs['size_class'] or '未填'}）", "第九条"),
        (
            "no_negative_record",
            f"近三年无不良记录（{inputs['negative_record'] or '未填'}）",
            "第十条（七）1",
        ),
        (
            "not_little_giant",
            f"不是已获中央资金支持的“小巨人”（{inputs['little_giant'] or '未填'}）",
            "第十条（七）3",
        ),
        (
            "readable",
            "本行用于计算的单元格模板公式都能计算（没有以文本存储的数字或日期、与下拉选项不一致的填写）",
            "第十一条（一）1",
        ),
    ]
    for key, text, clause in conditions:
        steps.append(Step("条件" + ("符合" if a[key] else "不符合"), text, None, clause))
    steps.append(
        Step(
            "改造补贴",
            f"min({_yuan(a['rated_subsidy'])}, {_yuan(a['cap'])})"
            if a["eligible"]
            else "不符合条件，补贴为 0",
            a["transformation_subsidy"],
            "第十条（一）1",
        )
    )
    shares = used["subsidy_split"].value
    for n, (source, field) in enumerate(SUBSIDY_PART_FIELDS.items()):
        how = (
            f"改造补贴 × {format_ratio(shares[source])}，四舍五入到分"
            if n < len(SUBSIDY_PART_FIELDS) - 1
            else "改造补贴减去以上两项（三项之和等于改造补贴）"
        )
        steps.append(
            Step(
                part_of_subsidy(policy.funding_sources[source]), how, a[field], policy.clause("subsidy_split")
            )
        )
    deadline = used["progress_deadline"].value
    steps.append(
        Step(
            "进度补贴",
            f"完成改造 {_date(inputs['completion_date'])}、评测 {_date(inputs['evaluation_date'])}，"
            f"{'均不晚于' if a['on_time'] else '未能都不晚于'} {deadline}；{level}",
            a["progress_bonus"],
            policy.clause("progress_bonus"),
        )
    )
    honor = inputs["honor"] or none_value("honor")
    if honor != none_value("honor") and honor not in policy.value("honors"):
        honor += "（不是认可的国家级荣誉，不予奖励）"
    halves = "、".join(
        f"{policy.funding_sources[s]} {_yuan(a[f'honor_award:{s}'])}" for s in used["honor_split"].value
    )
    steps.append(
        Step("荣誉奖励", f"国家级荣誉：{honor}（{halves}）", a["honor_award"], policy.clause("honor_award"))
    )
    steps.append(Step("补贴奖励合计", "改造补贴 + 进度补贴 + 荣誉奖励", a["total_award"], "第十条（一）"))
    for use in used.values():
        steps.append(
            Step(f"所用参数：{use.parameter.label}", _which_value(use, policy), None, use.parameter.clause)
        )
    return steps
