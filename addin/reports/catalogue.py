"""The rule catalogue (id, severity, clause, message, fix) as people read it: one source for
`dtfund rules`, the templates' 规则 sheet and the Markdown page."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.policy import Policy
from schemas.registry import BY_FIELD, load_registry, make_issue

SEVERITY_LABELS = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    severity: str
    title: str
    clause: str
    message: str
    fix: str


def rule_catalogue(policy: Policy) -> list[CatalogueEntry]:
    """Every registered rule, its message and fix shown with placeholders named in words."""
    entries = []
    for spec in load_registry().values():
        sample = make_issue(
            spec.id,
            field_label="某字段",
            value="填写值",
            expected="要求值",
            field_clause="见该字段",
            **_placeholders(policy),
        )
        clause = "按字段（见填表说明）" if spec.clause == BY_FIELD else spec.clause
        entries.append(
            CatalogueEntry(
                id=spec.id,
                severity=SEVERITY_LABELS[spec.severity],
                title=spec.title,
                clause=clause,
                message=sample.message,
                fix=sample.fix,
            )
        )
    return entries


def _placeholders(policy: Policy) -> dict[str, str]:
    return {
        "reason": "具体原因",
        "condition": "",
        "difference": "差额",
        "excess": "超出额",
        "rate": "规定比例",
        "cap": "上限",
        "level": "该等级",
        "other_field": "前一日期字段",
        "missing": "所缺材料",
        "sheet_name": "该名单",
        "source": "该资金来源",
        "carrier": "载体名称",
    }


CATALOGUE_PAGE = "docs/rules.md"


def catalogue_markdown(policy: Policy) -> str:
    """The rule catalogue as a Markdown page (docs/rules.md is this, generated)."""
    lines = [
        "# 校验规则一览",
        "",
        f"由 `dtfund rules --markdown {CATALOGUE_PAGE}` 生成，与模板“规则”工作表、`dtfund rules` 同源"
        f"（`schemas/data/rules.yaml`）。政策：{policy.title}（{policy.version}）。",
        "",
        "| 规则编号 | 级别 | 名称 | 说明 | 修改建议 | 依据 |",
        "|---|---|---|---|---|---|",
    ]
    for entry in rule_catalogue(policy):
        cells = [entry.id, entry.severity, entry.title, entry.message, entry.fix, entry.clause]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
