"""Column labels that every report shares, so that one label means one thing everywhere (issue 27):
a column or step splitting an amount by funding source names the amount it splits (合计 for the
补贴奖励合计, every line together; the line's own label, such as 改造补贴, for one line). The
application template's own split columns (其中：中央资金 …) split the line beside them and keep their
names (a template's headers are part of its structure check)."""

from __future__ import annotations


def part_of(whole: str, source: str) -> str:
    """The label of a funding source's part of the amount `whole`."""
    return f"{whole}中：{source}"


def part_of_total(source: str) -> str:
    """The label of a funding source's part of the 补贴奖励合计 (every line together)."""
    return part_of("合计", source)
