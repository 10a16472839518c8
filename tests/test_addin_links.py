"""Workbooks that travel: a workbook saved on a PC where the add-in sat in that user's XLSTART records the
add-in's path there. `dtfund check` warns about it at the workbook; consolidating stays quiet beyond that
warning; the template never makes such a link; the add-in repoints it (tests/test_addin_xlam.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from addin.check.pipeline import check_file
from addin.cli import app
from addin.io.external_links import external_links
from addin.templates.bundled import APPLICATION_TEMPLATE, EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.policy import load_policy
from tests.support.hostile import with_workbook_part

FOREIGN = r"C:\Users\张伟\AppData\Roaming\Microsoft\Excel\XLSTART\dtfund.xlam"
EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]

LINK_PART = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<externalBook r:id="rId1"><sheetNames><sheetName val="myaddin.conf"/></sheetNames>'
    '<definedNames><definedName name="DTFUND_VALIDATE"/></definedNames></externalBook></externalLink>'
)


def link_rels(target: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
        f'Target="{target}" TargetMode="External"/></Relationships>'
    )


def with_link(source: Path, target: Path, linked: str) -> Path:
    """The workbook as Excel saves it where a formula uses a function of the add-in at `linked`: an
    external-link part, its relationship from the workbook, <externalReferences> and its content type."""
    parts = {}
    with zipfile.ZipFile(source) as archive:
        for entry in archive.infolist():
            content = with_workbook_part(
                entry.filename, archive.read(entry.filename), "externalLinks/externalLink1.xml", "externalLink", "rIdLink1"
            )
            if entry.filename == "xl/workbook.xml":
                content = re.sub(
                    rb"(<definedNames>|<calcPr)",
                    b'<externalReferences><externalReference r:id="rIdLink1"/></externalReferences>\\1',
                    content,
                    count=1,
                )
            parts[entry.filename] = content
    parts["xl/externalLinks/externalLink1.xml"] = LINK_PART.encode()
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = link_rels(linked).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    target.write_bytes(buffer.getvalue())
    return target


@pytest.fixture
def travelled(tmp_path: Path) -> Path:
    return with_link(EXAMPLE, tmp_path / "第八师申报表.xlsx", "file:///" + FOREIGN)


def test_the_link_part_is_read(travelled: Path) -> None:
    (link,) = external_links(travelled)
    assert link.part == "xl/externalLinks/externalLink1.xml"
    assert link.target == FOREIGN and link.file_name == "dtfund.xlam"
    assert external_links(EXAMPLE) == []


@pytest.mark.triggers("ADDIN_LINK_ELSEWHERE")
def test_check_warns_at_the_workbook_and_nothing_else_changes(travelled: Path) -> None:
    policy = load_policy()
    plain, linked = check_file(EXAMPLE, policy), check_file(travelled, policy)
    added = [issue for issue in linked.issues if issue.rule == "ADDIN_LINK_ELSEWHERE"]
    assert len(added) == 1 and len(linked.issues) == len(plain.issues) + 1
    (issue,) = added
    assert issue.severity == "warning" and issue.sheet is None and issue.cell is None
    assert FOREIGN in issue.message and "dtfund.xlam" in issue.fix and "编辑链接" in issue.fix
    assert linked.table.amounts.equals(plain.table.amounts)


def test_the_cli_shows_the_warning_and_the_verdict_stays(travelled: Path) -> None:
    plain = CliRunner().invoke(app, ["check", str(EXAMPLE)], env={"COLUMNS": "300"})
    result = CliRunner().invoke(app, ["check", str(travelled)], env={"COLUMNS": "300"})
    assert result.exit_code == plain.exit_code, result.output  # a warning changes no verdict
    assert "ADDIN_LINK_ELSEWHERE" in result.output and "张伟" in result.output


def test_consolidating_stays_quiet_beyond_the_warning(travelled: Path, tmp_path: Path) -> None:
    outputs = []
    for name, source in (("plain", EXAMPLE), ("linked", travelled)):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(
            app,
            ["consolidate", str(source), "--plan", str(REPOSITORY / EXAMPLE_PLAN), "--json", str(out)]
            + ["-o", str(tmp_path / f"{name}.xlsx"), "-q"],
        )
        assert result.exit_code in (0, 1), result.output
        outputs.append(json.loads(out.read_text("utf-8")))
    plain, linked = outputs
    rules = [[issue["rule"] for issue in document["issues"]] for document in outputs]
    assert sorted(rules[1]) == sorted([*rules[0], "ADDIN_LINK_ELSEWHERE"])
    assert plain["disbursement_totals"] == linked["disbursement_totals"]


def test_other_links_are_not_the_addin(tmp_path: Path) -> None:
    other = with_link(EXAMPLE, tmp_path / "a.xlsx", "file:///C:/预算/资金使用计划表.xlsx")
    assert [link.file_name for link in external_links(other)] == ["资金使用计划表.xlsx"]
    assert not [i for i in check_file(other, load_policy()).issues if i.rule == "ADDIN_LINK_ELSEWHERE"]


def test_the_template_never_links_to_the_addin() -> None:
    for path in (REPOSITORY / APPLICATION_TEMPLATE, *sorted((REPOSITORY / "addin" / "examples").glob("*.xlsx"))):
        with zipfile.ZipFile(path) as archive:
            assert not [n for n in archive.namelist() if "externalLink" in n], path
            assert b"externalLink" not in archive.read("xl/_rels/workbook.xml.rels"), path
            formulas = [
                formula
                for name in archive.namelist()
                if name.startswith("xl/worksheets/")
                for formula in re.findall(rb"<f\b[^>]*>(.*?)</f>", archive.read(name))
            ]
            if path.name.startswith(("application", "division")):  # the ones with a 实时校验 sheet
                assert any(b"DTFUND_VALIDATE(" in f for f in formulas), path
            assert not [f for f in formulas if b".xlam" in f or re.search(rb"\[\d+\]!", f)], path
