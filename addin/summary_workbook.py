"""The 兵团 summary workbook: 汇总, 执行情况 (with a chart), 拨付清单, 服务商排名, 问题清单."""

from __future__ import annotations

from copy import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from addin.catalogue import SEVERITY_LABELS
from addin.consolidate import Consolidation
from addin.output import save_workbook
from addin.summary_figures import (
    AWARDS,
    NOT_QUALIFIED,
    disbursement,
    division_summary,
    execution_records,
    provider_ranking,
    source_execution,
)
from addin.template_application import BOX, INPUT_FILL, TITLE_FONT, WRAP

MONEY = "#,##0.00"
HEADER_HEIGHT = 36  # two lines of wrapped Chinese header text
PERCENT = "0.00%"
BOLD = Font(bold=True)
TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")
AWARD_LABELS = {
    "transformation_subsidy": "改造补贴",
    "progress_bonus": "进度补贴",
    "honor_award": "荣誉奖励",
    "total_award": "补贴奖励合计",
}
FORMULA_PREFIXES = ("=", "+", "-", "@")


def safe_text(value: Any) -> Any:
    """Text from a user's cell, so that it can never become a formula in our workbook."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return safe_text(value)


class Styles:
    """One styled prototype cell per kind of cell; every written cell copies its style (write-only
    workbooks write hundreds of thousands of cells, and per-cell style objects would dominate)."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self._cache: dict[tuple, Any] = {}

    def cell(
        self, value: Any, kind: str = "body", number_format: str | None = None, wrap: bool = False
    ) -> Any:
        key = (kind, number_format, wrap)
        if key not in self._cache:
            prototype = WriteOnlyCell(self.sheet)
            prototype.border = BOX
            if kind == "header":
                prototype.font, prototype.fill, prototype.alignment = BOLD, INPUT_FILL, WRAP
            elif kind == "total":
                prototype.font, prototype.fill = BOLD, TOTAL_FILL
            if wrap:
                prototype.alignment = Alignment(wrap_text=True, vertical="top")
            if number_format:
                prototype.number_format = number_format
            self._cache[key] = prototype
        cell = WriteOnlyCell(self.sheet, value=_cell_value(value))
        if isinstance(value, str):
            cell.data_type = "s"
        cell._style = copy(self._cache[key]._style)
        return cell


def _table(
    sheet: Any,
    headers: list[str],
    rows: list[list[Any]],
    formats: dict[int, str],
    total: list[Any] | None = None,
    wrap: bool = False,
) -> int:
    """Append a bordered table with a header row; returns how many rows it took."""
    styles = Styles(sheet)
    sheet.append([styles.cell(h, "header") for h in headers])
    for values in rows:
        sheet.append([styles.cell(v, "body", formats.get(n), wrap) for n, v in enumerate(values)])
    if total:
        sheet.append([styles.cell(v, "total", formats.get(n)) for n, v in enumerate(total)])
    return 1 + len(rows) + (1 if total else 0)


def _sheet(
    workbook: Workbook, title: str, heading: str, widths: list[int], info: str = "", landscape: bool = True
) -> Any:
    """A write-only sheet with its heading (row 1) and a line of information (row 2); tables start at
    row 3, whose header row is repeated on every printed page."""
    sheet = workbook.create_sheet(title)
    for n, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "3:3"
    sheet.freeze_panes = "A4"
    sheet.row_dimensions[3].height = HEADER_HEIGHT
    title_cell = WriteOnlyCell(sheet, value=heading)
    title_cell.font = TITLE_FONT
    sheet.append([title_cell])
    sheet.append([info] if info else [])
    return sheet


def _summary(workbook: Workbook, c: Consolidation) -> None:
    policy = c.policy
    levels = [*policy.eligible_levels, NOT_QUALIFIED]
    industries = list(policy.value("pilot_industries"))
    sources = list(policy.funding_sources)
    headers = [
        "师市",
        "申报企业数",
        "符合条件企业数",
        *levels,
        *industries,
        *(AWARD_LABELS[a] + "（元）" for a in (*AWARDS, "total_award")),
        *(policy.funding_sources[s] + "（元）" for s in sources),
    ]
    sheet = _sheet(
        workbook,
        "汇总",
        "专项资金申报汇总（按师市、资金来源）",
        [16] + [10] * (2 + len(levels) + len(industries)) + [15] * 8,
        f"政策：{policy.title}（{policy.version}）；汇总文件 {len(c.files)} 个",
    )
    rows = [
        [
            entry["division"],
            entry["enterprises"],
            entry["eligible"],
            *(entry["levels"][lv] for lv in levels),
            *(entry["industries"][i] for i in industries),
            *(entry["awards"][a] for a in (*AWARDS, "total_award")),
            *(entry["sources"][s] for s in sources),
        ]
        for entry in division_summary(c)
    ]
    total = ["合计", *(sum(r[n] for r in rows) for n in range(1, len(headers)))] if rows else None
    first_money = 3 + len(levels) + len(industries)
    _table(sheet, headers, rows, {n: MONEY for n in range(first_money, len(headers))}, total)


def _execution(workbook: Workbook, c: Consolidation) -> None:
    policy = c.policy
    sheet = _sheet(
        workbook,
        "执行情况",
        "资金使用计划执行情况（按计划行、资金来源）",
        [36, 14, 14, 18, 18, 18, 10],
        "已承诺 = 各申报表按规则计算的金额之和；“—”表示本工具暂不汇总该行的支出。",
    )
    rows = []
    for record in execution_records(c):
        committed = record["committed"]
        rows.append(
            [
                record["line"],
                policy.funding_sources[record["source"]],
                record["budget"] / policy.plan.to_yuan,
                record["budget"],
                "—" if committed is None else committed,
                "—" if committed is None else record["remaining"],
                "—" if record["rate"] is None else record["rate"],
            ]
        )
    used = _table(
        sheet,
        ["计划行", "资金来源", "计划（万元）", "计划（元）", "已承诺（元）", "剩余（元）", "执行率"],
        rows,
        {2: "#,##0.######", 3: MONEY, 4: MONEY, 5: MONEY, 6: PERCENT},
    )
    sheet.append([])
    label = WriteOnlyCell(sheet, value="按资金来源（申报汇总涉及的计划行）")
    label.font = BOLD
    sheet.append([label])
    chart_top = 3 + used + 2
    per_source = source_execution(c)
    source_rows = [[policy.funding_sources[s], v["budget"], v["committed"]] for s, v in per_source.items()]
    _table(sheet, ["资金来源", "计划（元）", "已承诺（元）"], source_rows, {1: MONEY, 2: MONEY})
    chart = BarChart()
    chart.type = "col"
    chart.title = "计划与已承诺（按资金来源）"
    chart.y_axis.title = "元"
    data = Reference(sheet, min_col=2, max_col=3, min_row=chart_top, max_row=chart_top + len(source_rows))
    categories = Reference(sheet, min_col=1, min_row=chart_top + 1, max_row=chart_top + len(source_rows))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.height, chart.width = 8, 16
    sheet.add_chart(chart, f"E{chart_top}")


DISBURSEMENT_AMOUNTS = ("central", "bingtuan", "transferred", "division_fund", "total")


def _disbursement(workbook: Workbook, c: Consolidation) -> None:
    sheet = _sheet(
        workbook,
        "拨付清单",
        "补贴资金拨付清单（第十一条（一）6）",
        [16, 30, 22, 16, 16, 20, 16, 16],
        "兵团财政局把中央资金和兵团配套资金拨付给企业所属师市财政局，限期拨付企业；师市配套资金由师市财政局同步拨付。",
    )
    rows: list[list[Any]] = []
    records = disbursement(c)
    for division in dict.fromkeys(r["division"] for r in records):
        part = [r for r in records if r["division"] == division]
        rows.extend(
            [r["division"], r["name"], r["uscc"], *(r[k] for k in DISBURSEMENT_AMOUNTS)] for r in part
        )
        rows.append(
            [
                f"{division} 小计",
                None,
                f"{len(part)} 家",
                *(sum((r[k] for r in part), Decimal(0)) for k in DISBURSEMENT_AMOUNTS),
            ]
        )
    total = [
        "合计",
        None,
        f"{len(records)} 家",
        *(sum((r[k] for r in records), Decimal(0)) for k in DISBURSEMENT_AMOUNTS),
    ]
    _table(
        sheet,
        [
            "师市",
            "企业名称",
            "统一社会信用代码",
            "中央资金（元）",
            "兵团配套资金（元）",
            "兵团财政局拨付小计（元）",
            "师市配套资金（元）",
            "企业补贴合计（元）",
        ],
        rows,
        {n: MONEY for n in range(3, 8)},
        total,
    )


def _providers(workbook: Workbook, c: Consolidation) -> None:
    levels = c.policy.eligible_levels
    sheet = _sheet(
        workbook,
        "服务商排名",
        "数字化服务商排名（按服务企业达到二级及以上的数量，第十条（三）1）",
        [8, 34, 16] + [10] * len(levels) + [14],
        landscape=False,
    )
    rows = [
        [r["rank"], r["provider"], r["qualified"], *(r["levels"][lv] for lv in levels), r["enterprises"]]
        for r in provider_ranking(c)
    ]
    _table(sheet, ["名次", "数字化服务商", "二级及以上企业数", *levels, "服务企业数"], rows, {})


def _issues(workbook: Workbook, c: Consolidation) -> None:
    sheet = _sheet(workbook, "问题清单", "问题清单（全部文件）", [26, 12, 10, 30, 8, 60, 44, 16])
    rows = [
        [
            i.file,
            i.sheet,
            i.cell,
            i.rule,
            SEVERITY_LABELS[i.severity],
            f"{i.title}：{i.message}",
            i.fix,
            i.clause,
        ]
        for i in c.all_issues
    ]
    _table(
        sheet, ["文件", "工作表", "单元格", "规则", "级别", "说明", "修改建议", "依据"], rows, {}, wrap=True
    )


def build_summary(c: Consolidation) -> Workbook:
    workbook = Workbook(write_only=True)
    _summary(workbook, c)
    _execution(workbook, c)
    _disbursement(workbook, c)
    _providers(workbook, c)
    _issues(workbook, c)
    workbook.properties.creator = "dtfund"
    workbook.properties.title = "兵团中小企业数字化转型城市试点专项资金 汇总"
    return workbook


def write_summary(c: Consolidation, path: Path) -> None:
    save_workbook(build_summary(c), path, reproducible=False)
