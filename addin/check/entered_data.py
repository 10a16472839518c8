"""What a workbook holds that a person entered: what a new template written over it would destroy."""

from __future__ import annotations

import zipfile
from pathlib import Path

from addin.check.pipeline import check_file
from addin.io.overwrite import is_own_output
from schemas.policy import Policy

OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # a password-protected .xlsx, or an old .xls


def entered_data(path: Path, policy: Policy) -> str | None:
    """What the workbook at `path` holds that a person entered (Chinese, for the refusal), or None when
    it holds nothing a new template would lose: not a workbook at all, an empty template, or a template
    dtfund wrote and nobody has changed since."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as file:
            if file.read(len(OLE_SIGNATURE)) == OLE_SIGNATURE:
                return "加密的或旧版（.xls）Excel 工作簿，无法确认其中没有数据"
        return None  # not a workbook: --force alone replaces it
    result = check_file(Path(path), policy)
    if result.kind == "application" and result.table is not None:
        rows = len(result.table.frame) + sum(1 for i in result.issues if i.rule == "TOTAL_ROW_PRESENT")
        return f"申报表中 {rows} 行企业数据" if rows else None
    if result.kind == "awards":
        rows = sum(len(sheet.table.frame) for sheet in result.awards or [])
        return f"奖励名单中 {rows} 行数据" if rows else None
    if is_own_output(path):
        return None
    if result.kind == "plan":
        return "资金使用计划表中的金额（可能已修改）"
    return "不是 dtfund 模板的工作簿，其中的内容"
