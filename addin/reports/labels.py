"""Column labels that every report shares, so that one label means one thing everywhere (issue 27):
a column or step splitting an amount by funding source names the amount it splits (合计 for the
补贴奖励合计, every line together; the line's own label, such as 改造补贴, for one line). The
application template's own split columns (其中：中央资金 …) split the line beside them and keep their
names (a template's headers are part of its structure check).

The same goes for what a report says of an enterprise's payment: the check's HTML report and the
consolidation's 拨付清单 word it alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from schemas.disbursement import distinct_enterprises
from schemas.registry import rule

# A payable row that comes to 0 (schemas.disbursement.on_disbursement_list): nothing to pay, not listed.
NOTHING_TO_PAY = "不拨付（金额为 0）"
WHOLE_FILE_HELD = "整个文件暂缓："


def enterprises(codes: pd.Series) -> str:
    """How many enterprises rows of these credit codes are (schemas.disbursement.distinct_enterprises),
    and the rows when more: 1 家（2 行）. Every report counts 家 so."""
    count = distinct_enterprises(codes)
    return f"{count} 家" if count == len(codes) else f"{count} 家（{len(codes)} 行）"


def incomplete(count: int) -> str:
    """What every report says of a consolidation with files it could not sum (Consolidation.not_summed)."""
    return f"有 {count} 个文件未能汇总（无法读取、模板被改动或不是 .xlsx 工作簿），汇总不完整"


def incomplete_note(count: int) -> str:
    """The same, on the summary workbook's sheets, with what it means for paying."""
    return f"{incomplete(count)}：这些文件中的企业不在本表中，不得据此拨付，见“拨付清单”第三部分。"


def part_of(whole: str, source: str) -> str:
    """The label of a funding source's part of the amount `whole`."""
    return f"{whole}中：{source}"


def part_of_total(source: str) -> str:
    """The label of a funding source's part of the 补贴奖励合计 (every line together)."""
    return part_of("合计", source)


def held_reasons(held_by_row: Iterable[str], held_by_file: Iterable[str]) -> list[str]:
    """Why a row is held, a rule a line as the clerk reads it (title and id): the rules on the row, then
    those on its whole file, marked so."""
    return [f"{rule(r).title}（{r}）" for r in held_by_row] + [
        f"{WHOLE_FILE_HELD}{rule(r).title}（{r}）" for r in held_by_file
    ]


def held_reasons_by_row(
    held_by_row: Sequence[Iterable[str]], held_by_file: Sequence[Iterable[str]]
) -> list[tuple[str, ...]]:
    """held_reasons of each row of a table, worded once per distinct set of rules (most rows share a
    few: the rows of one set share its tuple)."""
    worded: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
    by_row = []
    for on_row, on_file in zip(held_by_row, held_by_file, strict=True):
        key = (tuple(on_row), tuple(on_file))
        if key not in worded:
            worded[key] = tuple(held_reasons(*key))
        by_row.append(worded[key])
    return by_row
