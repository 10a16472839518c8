"""The summary workbook's columns against the ledger (consolidate --ledger): on the 拨付清单, per
enterprise, what earlier batches paid, what is still to pay, and its standing (已拨付 with the batches,
补拨, 应追回); on 执行情况, per plan line and source, what the ledger paid, what this list pays, and what
is left of the budget. Without a ledger nothing was paid before."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from addin.check.consolidate import Consolidation
from addin.ledger.settlement import TOTAL, ledger_field
from addin.ledger.settlement import to_pay_by_line as settled_to_pay_by_line
from addin.reports.summary_figures import disbursement_totals, ledger_settlement, once_per_consolidation
from schemas.awards import award_list_lines
from schemas.ledger_balance import TO_RECOVER
from schemas.money import ZERO, column_total, format_yuan

LEDGER_HEADERS = ("已拨付（元）", "已承诺（元）", "台账")
EXECUTION_LEDGER_HEADERS = ("已拨付（元）", "本次可拨付（元）", "剩余（计划 − 已拨付 − 本次可拨付，元）")
EXECUTION_LEDGER_NOTE = (
    "已拨付 = 资金台账中各批次已拨付的金额（汇总时未用 --ledger 对照台账则为 0）；本次可拨付 = 本清单可拨付企业"
    "尚未拨付的金额；剩余 = 计划 − 已拨付 − 本次可拨付。资金台账只记拨付清单中的企业，奖励名单的金额不经台账，"
    "其计划行这三列为“—”（其余额见“未承诺”）。"
)
NOT_IN_LEDGER = "—"  # an 执行情况 cell the ledger cannot give: the line's money comes from the award lists


COMMITTED = "committed"  # a row's committed total, kept by owed_now beside what is owed now
TRANSFERRED = "transferred"  # central + 兵团, which 兵团财政局 transfers (summary_figures.disbursement_frame)
# A row's figures in total, as its record names them.
PAID_BEFORE, TO_PAY, HELD, RECOVER = (
    ledger_field(f, TOTAL) for f in ("paid_before", "to_pay", "held", "to_recover")
)


def _standing(status: str, recover: Decimal, batches: list[str]) -> str:
    if status == TO_RECOVER:
        status = f"{status} {format_yuan(recover)} 元"
    paid_in = "、".join(batches)
    return f"{status}：{paid_in}" if status and paid_in else status


def owed_now(frame: pd.DataFrame, money: tuple[str, ...]) -> pd.DataFrame:
    """The disbursement frame with its money columns (`money`: each source as the JSON names it, then
    `transferred`, central + 兵团, and `total`) as what is owed now: committed − paid before, to pay on a
    payable row, held on a held one. Without a ledger nothing was paid before: the committed amounts."""
    owed = {
        key: frame[ledger_field("to_pay", key)] + frame[ledger_field("held", key)]
        for key in money
        if key != TRANSFERRED
    }
    if TRANSFERRED in money:
        owed[TRANSFERRED] = owed["central"] + owed["bingtuan"]
    return frame.assign(**{COMMITTED: frame["total"]}, **owed)


def ledger_cell_columns(frame: pd.DataFrame) -> list[list[Any]]:
    """The 拨付清单's 已拨付 (all the ledger paid the row's enterprise on its lines, 应追回 included),
    已承诺 and 台账, a column each, for the rows of the disbursement frame as owed_now gives it."""
    standings = map(
        _standing, frame["ledger_status"].tolist(), frame[RECOVER].tolist(), frame["paid_in"].tolist()
    )
    return [(frame[PAID_BEFORE] + frame[RECOVER]).tolist(), frame[COMMITTED].tolist(), list(standings)]


def ledger_sums(frame: pd.DataFrame) -> list[Decimal]:
    """Σ of the 拨付清单's 已拨付 and 已承诺 over rows of the disbursement frame (ledger_cell_columns' amounts)."""
    return [column_total(frame[PAID_BEFORE]) + column_total(frame[RECOVER]), column_total(frame[COMMITTED])]


def execution_ledger_cells(c: Consolidation, record: dict[str, Any]) -> list[Any]:
    """An 执行情况 row's 已拨付 (the whole ledger), 本次可拨付 and 剩余, for its plan line and source; none
    for a line the award lists commit money to, which the ledger does not record (it records the
    拨付清单's enterprises): 剩余 would be the whole plan however much was awarded."""
    key, source = record["key"], record["source"]
    if key in award_list_lines(c.policy):
        return [NOT_IN_LEDGER] * len(EXECUTION_LEDGER_HEADERS)
    paid = c.paid.by_line.get((key, source), ZERO) if c.paid else ZERO
    to_pay = to_pay_by_line(c).get((key, source), ZERO)
    return [paid, to_pay, record["budget"] - paid - to_pay]


@once_per_consolidation
def to_pay_by_line(c: Consolidation) -> dict[tuple[str, str], Decimal]:
    """Σ to pay now per plan line and source (settlement.to_pay_by_line, as consolidate's budget check)."""
    return settled_to_pay_by_line(ledger_settlement(c))


def ledger_line(c: Consolidation) -> str:
    """对照台账: what earlier batches paid these enterprises, and what they paid beyond it (应追回)."""
    if c.ledger_missing:
        return (
            f"对照台账 {c.ledger}：该台账文件尚不存在（还没有记过账），按此前没有拨付过任何款项汇总；"
            "如台账在别处，请用 --ledger 指定正确的文件。"
        )
    totals = disbursement_totals(c)
    paid = totals["paid_before"]["total"] + totals["to_recover"]["total"]
    line = f"对照台账 {c.ledger}：此前已拨付 {format_yuan(paid)} 元，本次可拨付为扣除后的金额"
    recover = totals["to_recover"]["total"]
    return line + (f"；应追回 {format_yuan(recover)} 元（见拨付清单的“台账”列）。" if recover else "。")
