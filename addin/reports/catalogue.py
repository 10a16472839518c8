"""The rule catalogue (id, severity, clause, message, fix) and the tables' schemas (each column: type,
blank allowed, allowed values or range, the rules checking it) as people read them: one source for
`dtfund rules`, the templates' 规则 sheet and the Markdown page."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.application_schema import application_schema
from schemas.award_rules import award_rules
from schemas.awards import award_kinds
from schemas.engine import build_schema
from schemas.fields import application_fields
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
    """Every registered rule, its message and fix shown with the realistic figures of its `example`
    (rules.yaml); a rule about the file cites no clause (shown as —)."""
    entries = []
    for spec in load_registry().values():
        example = dict(spec.example)
        sample = make_issue(spec.id, field_label=example.pop("field", None), **example)
        clause = "按字段（见填表说明）" if spec.clause == BY_FIELD else (spec.clause or NO_CLAUSE)
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


NO_CLAUSE = "—"


KIND_LABELS = {
    "money": "金额（元）",
    "ratio": "比例",
    "date": "日期",
    "text": "文本",
    "uscc": "统一社会信用代码",
    "choice": "下拉选择",
}


@dataclass(frozen=True)
class ColumnEntry:
    """One column of a table's schema as people read it."""

    sheet: str
    label: str
    kind: str
    blank: str
    allowed: str
    rules: str


def schema_catalogue(policy: Policy) -> list[ColumnEntry]:
    """Every column of the application table and the award sheets, read off their pandera schemas."""
    schemas = [(application_schema(policy), application_fields(policy))]
    for kind in award_kinds(policy):
        schemas.append((build_schema(kind.sheet, kind.fields, award_rules(kind), policy), kind.fields))
    entries = []
    for schema, fields in schemas:
        by_id = {f.id: f for f in fields}
        for field_id, column in schema.columns.items():
            spec = by_id[field_id]
            names = list(dict.fromkeys(check.name for check in column.checks))
            if spec.computed:
                blank = "公式（自动计算）"
            elif not column.nullable:
                blank, names = "必填", ["REQUIRED_MISSING", *names]
            else:
                blank = "评测后必填" if "REQUIRED_MISSING" in names else "可空"
            entries.append(
                ColumnEntry(
                    sheet=schema.name,
                    label=column.title,
                    kind=KIND_LABELS[spec.kind],
                    blank=blank,
                    allowed="；".join(c.description for c in column.checks if c.description) or "—",
                    rules="、".join(names) or "—",
                )
            )
    return entries


CATALOGUE_PAGE = "docs/rules.md"


def catalogue_markdown(policy: Policy) -> str:
    """The rule catalogue and the tables' columns as a Markdown page (docs/rules.md is this, generated)."""
    lines = [
        "# 校验规则一览",
        "",
        f"由 `dtfund rules --markdown {CATALOGUE_PAGE}` 生成，与模板“规则”工作表、`dtfund rules` 同源"
        f"（`schemas/data/rules.yaml`）。政策：{policy.title}（{policy.version}）。",
        "",
        "“说明”和“修改建议”是每条规则在一个示例情形下给出的原文（示例数字见 rules.yaml 的 `example`）；"
        f"依据为“{NO_CLAUSE}”的是关于文件本身的错误（无法读取、模板被改动、版本号、合计行等），不引用办法条款。",
        "",
        "| 规则编号 | 级别 | 名称 | 说明 | 修改建议 | 依据 |",
        "|---|---|---|---|---|---|",
    ]
    for entry in rule_catalogue(policy):
        cells = [entry.id, entry.severity, entry.title, entry.message, entry.fix, entry.clause]
        lines.append(_markdown_row(cells))
    lines += [
        "",
        "## 各表的列",
        "",
        "由各表的 pandera 模式（`schemas/engine.py` 从字段定义和规则生成）读出：类型、能否为空、可选值或范围、检查该列的规则。",
    ]
    sheet = None
    for column in schema_catalogue(policy):
        if column.sheet != sheet:
            sheet = column.sheet
            lines += [
                "",
                f"### {sheet}",
                "",
                "| 列 | 类型 | 能否为空 | 可选值或范围 | 规则 |",
                "|---|---|---|---|---|",
            ]
        lines.append(_markdown_row([column.label, column.kind, column.blank, column.allowed, column.rules]))
    return "\n".join(lines) + "\n"


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
