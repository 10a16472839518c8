"""Never overwrite a person's work (issue 27 item 1): an existing output is replaced only with --force,
unless dtfund made it and nobody changed it since; a template is never written over entered data
without --overwrite-data."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from addin.cli import app
from addin.io.overwrite import is_own_output
from addin.templates.bundled import EXAMPLES, REPOSITORY

FILLED = REPOSITORY / EXAMPLES["第八师石河子市"]


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("force", [[], ["--force"], ["-f"]])
def test_template_over_the_filled_example_leaves_it_byte_identical(tmp_path: Path, force: list[str]) -> None:
    target = tmp_path / "已填写.xlsx"
    shutil.copy(FILLED, target)
    before = digest(target)
    code, output = run("template", "application", "-o", target, *force)
    assert code == 2
    assert digest(target) == before
    assert "已填写了数据" in output and "--overwrite-data" in output
    assert "行企业数据" in output


def test_overwrite_data_replaces_the_filled_workbook(tmp_path: Path) -> None:
    target = tmp_path / "已填写.xlsx"
    shutil.copy(FILLED, target)
    code, _ = run("template", "application", "-o", target, "--overwrite-data")
    assert code == 0 and digest(target) != digest(FILLED)


def test_dtfund_replaces_its_own_untouched_outputs(tmp_path: Path) -> None:
    outputs = {
        "--json": tmp_path / "r.json",
        "--html": tmp_path / "r.html",
        "--annotate": tmp_path / "a.xlsx",
        "--print": tmp_path / "r.pdf",
    }
    options = [str(part) for pair in outputs.items() for part in pair]
    assert run("check", FILLED, *options, "-q")[0] == 1
    assert all(is_own_output(path) for path in outputs.values())
    assert run("check", FILLED, *options, "-q")[0] == 1  # again: its own outputs, no --force needed
    template = tmp_path / "模板.xlsx"
    assert run("template", "application", "-o", template)[0] == 0
    assert run("template", "application", "-o", template)[0] == 0


@pytest.mark.parametrize("suffix", [".json", ".html", ".pdf", ".xlsx", ".md"])
def test_a_file_dtfund_did_not_make_is_refused_without_force(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"别人的{suffix}"
    target.write_bytes(b"someone's work")
    option = {".json": "--json", ".html": "--html", ".pdf": "--print", ".xlsx": "--annotate"}.get(suffix)
    args = ["rules", "--markdown", target] if option is None else ["check", FILLED, option, target, "-q"]
    code, output = run(*args)
    assert code == 2
    assert target.read_bytes() == b"someone's work"
    assert str(target.name) in output.replace("\n", "") and "--force" in output
    code, _ = run(*args, "--force")
    assert code in (0, 1) and target.read_bytes() != b"someone's work"


def test_a_workbook_saved_again_is_no_longer_dtfunds_own(tmp_path: Path) -> None:
    """Excel, WPS and LibreOffice rewrite the archive when saving: the mark does not survive."""
    template = tmp_path / "模板.xlsx"
    assert run("template", "application", "-o", template)[0] == 0
    assert is_own_output(template)
    resaved = tmp_path / "另存.xlsx"
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(resaved, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = data.replace(b"dtfund", b"someone")
            target.writestr(entry, data)
        target.comment = source.comment  # even a comment carried over does not match the entries
    assert not is_own_output(resaved)
    code, output = run("template", "application", "-o", resaved)
    assert code == 2 and "--force" in output
    assert run("template", "application", "-o", resaved, "--force")[0] == 0


def test_an_encrypted_workbook_is_treated_as_holding_data(tmp_path: Path) -> None:
    target = tmp_path / "加密.xlsx"
    target.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600)
    before = digest(target)
    code, output = run("template", "application", "-o", target, "--force")
    assert code == 2 and digest(target) == before and "加密" in output


def test_a_signed_submission_form_is_a_persons_work(tmp_path: Path) -> None:
    """A signing or annotating tool appends an incremental update (the document keeps dtfund's
    /Creator): the 报送表 so signed is not replaced without --force."""
    from pypdf import PdfWriter
    from pypdf.annotations import FreeText

    form = tmp_path / "报送表.pdf"
    assert run("check", FILLED, "--print", form, "-q")[0] == 1
    assert is_own_output(form)
    writer = PdfWriter(form, incremental=True)
    writer.add_annotation(0, FreeText(text="已审核", rect=(50, 50, 200, 80)))
    writer.write(form)
    signed = form.read_bytes()
    assert b"/Creator (dtfund" in signed and signed.count(b"%%EOF") == 2
    assert not is_own_output(form)
    code, output = run("check", FILLED, "--print", form, "-q")
    assert code == 2 and form.read_bytes() == signed and "--force" in output
