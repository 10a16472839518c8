"""`dtfund explain FILE --row N`: every step of one enterprise's amounts, with the figures and the clause
of each step. The figures are the calculation's own intermediate columns, not a second calculation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas.calculation import SUBSIDY_PART_FIELDS
from schemas.fields import none_value
from schemas.money import format_ratio, format_yuan
from schemas.policy import Policy
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


def explain_row(table: Table, row: int, policy: Policy) -> list[Step]:
    """The steps of the amounts of the enterprise on Excel row `row`."""
    inputs = table.frame.loc[row]
    a = table.amounts.loc[row]
    money = {
        name: inputs[name] if inputs[name] is not None else Decimal(0)
        for name in ("contract_total", "paid", "consulting", "integration", "other_service")
    }
    service_rate, integration_rate = policy.rate("service_fee_limit"), policy.rate("integration_fee_limit")
    rate = policy.rate("subsidy_rate")
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
            f"min(实际支付, 合同总额) − {_yuan(a['disallowed'])}，不小于 0",
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
    window_end = policy.value("contract_window_end")
    conditions = [
        ("level_ok", f"评测等级达到二级及以上（{level}）", "第十条（一）1"),
        (
            "in_window",
            f"合同签订于 {policy.value('contract_window_start')} "
            f"{'至 ' + str(window_end) if window_end else '之后'}（{_date(inputs['contract_date'])}）",
            "第十一条（一）2",
        ),
        (
            "no_negative_record",
            f"近三年无不良记录（{inputs['negative_record'] or none_value('negative_record')}）",
            "第十条（七）1",
        ),
        (
            "not_little_giant",
            f"不是已获中央资金支持的“小巨人”（{inputs['little_giant'] or '未填'}）",
            "第十条（七）3",
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
    shares = policy.shares("subsidy_split")
    for n, (source, field) in enumerate(SUBSIDY_PART_FIELDS.items()):
        how = (
            f"改造补贴 × {format_ratio(shares[source])}，四舍五入到分"
            if n < len(SUBSIDY_PART_FIELDS) - 1
            else "改造补贴减去以上两项（三项之和等于改造补贴）"
        )
        steps.append(
            Step(f"其中 {policy.funding_sources[source]}", how, a[field], policy.clause("subsidy_split"))
        )
    deadline = policy.value("progress_deadline")
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
    halves = "、".join(
        f"{policy.funding_sources[s]} {_yuan(a[f'honor_award:{s}'])}" for s in policy.shares("honor_split")
    )
    steps.append(
        Step("荣誉奖励", f"国家级荣誉：{honor}（{halves}）", a["honor_award"], policy.clause("honor_award"))
    )
    steps.append(Step("补贴奖励合计", "改造补贴 + 进度补贴 + 荣誉奖励", a["total_award"], "第十条（一）"))
    return steps
