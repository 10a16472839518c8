"""The 拨付清单 accounts for every unit and file, names where each division's rows come from, ends in a
sign-off block and numbers its own pages; one count of files everywhere (issue 27 items 2 and 3)."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from addin.io.print_layout import pages_of, print_scale
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY

PLAN = REPOSITORY / EXAMPLE_PLAN
SHIHEZI = REPOSITORY / EXAMPLES["第八师石河子市"]
ALAR = REPOSITORY / EXAMPLES["第一师阿拉尔市"]


@pytest.fixture(scope="module")
def tie(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two 第八师 files at one revision (a tie: neither summed), 第一师, and a text file."""
    root = tmp_path_factory.mktemp("tie")
    folder = root / "报送"
    folder.mkdir()
    shutil.copyfile(SHIHEZI, folder / "第八师-甲.xlsx")
    shutil.copyfile(SHIHEZI, folder / "第八师-乙.xlsx")
    shutil.copyfile(ALAR, folder / "第一师.xlsx")
    (folder / "说明.txt").write_text("readme", "utf-8")
    outputs = {"-o": root / "汇总.xlsx", "--json": root / "汇总.json", "--html": root / "汇总.html"}
    args = ["consolidate", str(folder), "--plan", str(PLAN), *(str(p) for o in outputs.items() for p in o)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return {"result": result, **{k.strip("-"): v for k, v in outputs.items()}}


def _cells(path: Path, sheet: str) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [str(v) for row in book[sheet].iter_rows(values_only=True) for v in row if v is not None]


def test_the_list_names_the_division_left_out_with_the_rule(tie: dict) -> None:
    cells = _cells(tie["o"], "拨付清单")
    text = "\n".join(cells)
    assert "三、未纳入本次汇总的单位和文件" in text
    left_out = [c for c in cells if "UNIT_SUBMITTED_TWICE" in c]
    assert len(left_out) == 2 and all("第八师" in c for c in left_out)
    assert "第八师石河子市" in cells  # the unit itself, in the list the officer pays from
    assert "该单位本次没有任何文件纳入汇总" in text
    assert any("说明.txt" in c for c in cells) and "FILE_SKIPPED" in text
    assert "（无法读取填报单位）" in cells, "a file that is no workbook has no 填报单位 to read, not a blank one"


def test_the_summary_sheet_names_the_unit_left_out(tie: dict) -> None:
    cells = _cells(tie["o"], "汇总")
    assert any(c.startswith("未纳入本次汇总：第八师石河子市（版本号相同") for c in cells)


def test_each_division_names_its_file_revision_and_digest(tie: dict) -> None:
    document = json.loads(tie["json"].read_text("utf-8"))
    alar = next(f for f in document["files"] if f["file"].endswith("第一师.xlsx"))
    cells = _cells(tie["o"], "拨付清单")
    assert f"第一师.xlsx（版本号 {alar['revision']}，SHA-256 {alar['sha256'][:12]}）" in cells


def test_the_list_ends_in_a_sign_off_block_and_numbers_its_own_pages(tie: dict) -> None:
    cells = _cells(tie["o"], "拨付清单")
    for place in ("经办人（签字）：", "审核（签字）：", "负责人（签字）：", "单位（盖章）："):
        assert place in cells
    assert any(c.startswith("日期：") for c in cells)
    assert cells[-1] == "单位（盖章）：" or "单位（盖章）：" in cells[-3:]
    with zipfile.ZipFile(tie["o"]) as archive:
        book = openpyxl.load_workbook(tie["o"], read_only=True)
        index = book.sheetnames.index("拨付清单") + 1
        xml = archive.read(f"xl/worksheets/sheet{index}.xml").decode()
    assert 'useFirstPageNumber="1"' in xml
    pages = re.search(r"第 &amp;P 页 共 (\d+) 页", xml)
    assert pages, "the list's footer counts its own pages"
    breaks = len(re.findall(r"<brk ", xml))
    assert int(pages[1]) == breaks + 1


def test_one_count_of_files_everywhere(tie: dict) -> None:
    document = json.loads(tie["json"].read_text("utf-8"))
    assert document["file_counts"] == {"found": 4, "summed": 1, "left_out": 3}
    sentence = "找到 4 个文件，汇总 1 个，未纳入 3 个"
    assert sentence in tie["result"].output.replace("\n", "")
    assert sentence in tie["html"].read_text("utf-8")
    assert any(sentence in c for c in _cells(tie["o"], "汇总"))
    assert any(sentence in c for c in _cells(tie["o"], "拨付清单"))
    assert len(document["left_out"]) == 3


def test_every_summed_file_is_named_on_the_list(tmp_path: Path) -> None:
    """A file counted as summed that puts no enterprise on the list (an empty application, the awards
    workbook) is named below it, so that 汇总 N 个 can be traced file by file."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(ALAR, folder / "第一师.xlsx")
    shutil.copyfile(REPOSITORY / "addin/examples/awards.xlsx", folder / "奖励.xlsx")
    assert (
        CliRunner()
        .invoke(app, ["template", "application", "--unit", "第十师北屯市", "-o", str(folder / "第十师.xlsx")])
        .exit_code
        == 0
    )
    summary = tmp_path / "汇总.xlsx"
    result = CliRunner().invoke(app, ["consolidate", str(folder), "--plan", str(PLAN), "-o", str(summary)])
    assert "汇总 3 个" in result.output.replace("\n", ""), result.output
    notes = [c for c in _cells(summary, "拨付清单") if c.startswith("已汇总：")]
    assert len(notes) == 2
    assert any(
        n.startswith("已汇总：第十师北屯市 第十师.xlsx（版本号 1，SHA-256 ") and "没有列入本清单的企业" in n
        for n in notes
    )
    assert any("奖励.xlsx" in n and "“奖励名单”工作表" in n for n in notes)
    assert not any("第一师.xlsx" in n for n in notes), "its enterprises are on the list"


def test_a_sign_off_block_is_never_split_from_the_list() -> None:
    heights = [15.0] * 200
    breaks = pages_of(heights, 60, landscape=True, repeated=3, keep_from=190)
    assert breaks and all(b <= 190 or b > 199 for b in breaks)
    assert 190 in breaks or not [b for b in breaks if b > 190]
    plain = pages_of(heights, 60, landscape=True, repeated=3)
    assert len(plain) >= 4  # 200 rows of 15 points at 60% are several A4 pages


def test_a_section_heading_goes_to_the_next_page_with_its_first_row() -> None:
    heights = [15.0] * 200
    plain = pages_of(heights, 60, landscape=True, repeated=3)
    heading = plain[0] - 1  # the last row of the first page
    breaks = pages_of(heights, 60, landscape=True, repeated=3, keep_with_next={heading})
    assert breaks[0] == heading and all(b - 1 not in {heading} for b in breaks)
    assert len(breaks) >= len(plain)
    kept = pages_of(heights, 60, landscape=True, repeated=3, keep_from=190, keep_with_next={189})
    assert 189 in kept and 190 not in kept, "a heading right above the kept rows starts their page"


def test_the_scale_fits_the_columns_to_the_page() -> None:
    assert print_scale([10] * 5, landscape=True) == 100
    narrow, wide = print_scale([20] * 10, landscape=True), print_scale([30] * 10, landscape=True)
    assert 10 <= wide < narrow < 100
