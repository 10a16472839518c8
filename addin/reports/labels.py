"""Column labels that every report shares, so that one label means one thing everywhere (issue 27):
a column splitting the 补贴奖励合计 by funding source says 合计 in its label; the application template's
own split columns (其中：中央资金 …) split the 改造补贴 beside them and keep their names (a template's
headers are part of its structure check)."""

from __future__ import annotations


def part_of_total(source: str) -> str:
    """The label of a funding source's part of the 补贴奖励合计 (every award together)."""
    return f"合计中：{source}"


def part_of_subsidy(source: str) -> str:
    """The label of a funding source's part of the 改造补贴 alone."""
    return f"改造补贴中：{source}"
