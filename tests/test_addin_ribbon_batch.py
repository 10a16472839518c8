"""The ribbon's writing through xlwings, against a fake Book/Sheet/Range that records every call (Excel
is not here): one batch with calculation manual, old marks removed, formulas as blocks, the sheet's
protection options kept, calculation restored even when writing fails."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from addin.excel.markup import ERROR_FILL, is_our_note
from addin.excel.ribbon import MARKS_SHEET, ExcelMarkup, formula_blocks, run_ribbon
from addin.io.workbook_reader import Workbook, defined_names
from addin.templates.bundled import EXAMPLES, REPOSITORY

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]


class FakeNote:
    def __init__(self, cell: FakeRange, text: str) -> None:
        self.cell, self.text = cell, text

    def delete(self) -> None:
        self.cell.sheet.log("note.delete", self.cell.address)
        self.cell.sheet.notes.pop(self.cell.address)


class FakeRange:
    def __init__(self, sheet: FakeSheet, address: str) -> None:
        self.sheet, self.address = sheet, address

    @property
    def color(self) -> Any:
        return self.sheet.colors.get(self.address)

    @color.setter
    def color(self, value: Any) -> None:
        self.sheet.log("color", self.address, value)
        if value is None:
            self.sheet.colors.pop(self.address, None)
        else:
            self.sheet.colors[self.address] = tuple(int(value[n : n + 2], 16) for n in (1, 3, 5))

    @property
    def note(self) -> FakeNote | None:
        text = self.sheet.notes.get(self.address)
        return None if text is None else FakeNote(self, text)

    def add_note(self, text: str) -> None:
        assert self.address not in self.sheet.notes
        self.sheet.log("add_note", self.address)
        self.sheet.notes[self.address] = text

    @property
    def formula(self) -> Any:
        raise AssertionError("not read")

    @formula.setter
    def formula(self, value: Any) -> None:
        self.sheet.log("formula", self.address, value)

    @property
    def value(self) -> Any:
        return self.sheet.values.get(self.address)

    @value.setter
    def value(self, value: Any) -> None:
        self.sheet.log("value", self.address)
        self.sheet.values[self.address] = value

    def options(self, **_: Any) -> FakeRange:
        return self

    def expand(self, *_: Any) -> FakeRange:
        return self

    def add_hyperlink(self, *_: Any) -> None:
        self.sheet.log("hyperlink", self.address)

    @property
    def font(self) -> SimpleNamespace:
        return SimpleNamespace(bold=False)


class FakeApi:
    """Worksheet.Protection and Protect/Unprotect as COM offers them on Windows."""

    def __init__(self, sheet: FakeSheet, protected: bool) -> None:
        self.sheet = sheet
        self.ProtectContents = protected
        self.ProtectDrawingObjects = False
        self.ProtectScenarios = True
        self.Protection = SimpleNamespace(
            **{option: False for option in ("AllowFormattingCells", "AllowInsertingColumns")},
            AllowFormattingColumns=True,
            AllowFormattingRows=True,
            AllowInsertingRows=False,
            AllowInsertingHyperlinks=False,
            AllowDeletingColumns=False,
            AllowDeletingRows=False,
            AllowSorting=False,
            AllowFiltering=True,
            AllowUsingPivotTables=False,
        )

    def Unprotect(self) -> None:  # noqa: N802 - COM's name
        self.sheet.log("Unprotect")
        self.ProtectContents = False

    def Protect(self, **options: Any) -> None:  # noqa: N802
        self.sheet.log("Protect", options)
        self.ProtectContents = True


class FakeSheet:
    def __init__(self, book: FakeBook, name: str, protected: bool = False) -> None:
        self.book, self.name = book, name
        self.api = FakeApi(self, protected)
        self.colors: dict[str, tuple] = {}
        self.notes: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.visible = True

    def log(self, *call: Any) -> None:
        self.book.calls.append((self.name, *call, self.book.app.calculation))

    def range(self, address: str) -> FakeRange:
        if self.book.fail_on == address:
            raise RuntimeError("Excel refused")
        return FakeRange(self, address)

    def delete(self) -> None:
        self.book.sheet_list.remove(self)

    def autofit(self, *_: Any) -> None:
        pass


class FakeSheets:
    def __init__(self, book: FakeBook) -> None:
        self.book = book

    def __iter__(self):
        return iter(list(self.book.sheet_list))

    def __len__(self) -> int:
        return len(self.book.sheet_list)

    def __getitem__(self, key: str | int) -> FakeSheet:
        if isinstance(key, int):
            return self.book.sheet_list[key]
        return next(s for s in self.book.sheet_list if s.name == key)

    def add(self, name: str, before: Any = None, after: Any = None) -> FakeSheet:
        sheet = FakeSheet(self.book, name)
        self.book.sheet_list.insert(0 if before is not None else len(self.book.sheet_list), sheet)
        return sheet


class FakeBook:
    def __init__(self, *names: str) -> None:
        self.calls: list[tuple] = []
        self.app = SimpleNamespace(calculation="automatic", screen_updating=True)
        self.sheet_list = [FakeSheet(self, name, protected=True) for name in names]
        self.sheets = FakeSheets(self)
        self.fail_on: str | None = None


def _check(book: FakeBook, path: Path = EXAMPLE) -> None:
    run_ribbon(path.name, defined_names(path), Workbook(path), ExcelMarkup(book), lambda _: None)


def test_formulas_go_back_in_blocks_of_consecutive_rows() -> None:
    formulas = {"F5": "=1", "F6": "=2", "F7": "=3", "F9": "=4", "G5": "=5"}
    assert formula_blocks(formulas) == [
        ("F5:F7", [["=1"], ["=2"], ["=3"]]),
        ("F9:F9", [["=4"]]),
        ("G5:G5", [["=5"]]),
    ]


def test_the_ribbon_writes_in_one_batch_with_calculation_manual() -> None:
    book = FakeBook("申报表", "实时校验")
    _check(book)
    writes = [call for call in book.calls if call[1] in ("color", "add_note", "formula", "value")]
    assert writes and all(call[-1] == "manual" for call in writes)
    assert book.app.calculation == "automatic" and book.app.screen_updating is True
    data = book.sheets["申报表"]
    assert [call[1] for call in book.calls if call[0] == "申报表"].count("Unprotect") == 1
    [protect] = [call for call in book.calls if call[1] == "Protect"]
    assert protect[2]["AllowFiltering"] is True and protect[2]["AllowFormattingColumns"] is True
    assert protect[2]["Scenarios"] is True and protect[2]["AllowSorting"] is False
    formulas = [call for call in book.calls if call[1] == "formula"]
    assert any(":" in call[2] and len(call[3]) > 1 for call in formulas)  # whole runs, not cell by cell
    assert len(formulas) < sum(len(call[3]) for call in formulas)
    assert data.notes and all(is_our_note(text) for text in data.notes.values())
    assert (255, 199, 206) in data.colors.values()  # ERROR_FILL
    assert book.sheets[MARKS_SHEET].visible is False


def test_the_previous_marks_are_removed_and_the_cells_get_back_their_fill_and_note() -> None:
    book = FakeBook("申报表", "实时校验")
    data = book.sheets["申报表"]
    data.colors["A5"] = (1, 2, 3)  # a cell our check will not mark, marked by a previous check
    data.notes["A5"] = "【错误】OLD_RULE 旧的问题"
    record = book.sheets.add(MARKS_SHEET)
    record.values["A1"] = [
        ["工作表", "单元格", "原填充色", "原批注"],
        ["申报表", "A5", "#FFFFFF", "模板的说明"],
    ]
    _check(book)
    assert data.colors["A5"] == (255, 255, 255)
    assert data.notes["A5"] == "模板的说明"
    assert [s.name for s in book.sheets].count(MARKS_SHEET) == 1  # the new record replaces the old one
    rows = book.sheets[MARKS_SHEET].values["A1"]
    assert rows[0] == ["工作表", "单元格", "原填充色", "原批注"]
    assert len(rows) - 1 == sum(is_our_note(text) for text in data.notes.values())
    assert all(row[0] == "申报表" and row[2] in ("", "#FFFFFF") for row in rows[1:])


def test_calculation_protection_and_screen_updating_come_back_when_writing_fails() -> None:
    book = FakeBook("申报表", "实时校验")
    writer = ExcelMarkup(book)
    with pytest.raises(RuntimeError), writer.batch():
        writer.mark("申报表", "C5", ERROR_FILL, "【错误】X 问题")
        book.fail_on = "D5"
        writer.mark("申报表", "D5", ERROR_FILL, "【错误】X 问题")
    assert book.app.calculation == "automatic" and book.app.screen_updating is True
    assert book.sheets["申报表"].api.ProtectContents is True
    assert book.sheets[MARKS_SHEET].values["A1"][1][:2] == ["申报表", "C5"]  # what was marked can be undone


def test_the_button_tells_the_officer_when_the_workbook_cannot_be_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import xlwings

    from addin.excel import ribbon

    book = FakeBook("申报表")
    alerts: list[str] = []
    book.app.alert = lambda message, title: alerts.append(message)
    book.name, book.names = "shihezi.xlsx", []
    book.sheet_list = []  # every read fails: no sheet answers
    monkeypatch.setattr(xlwings, "books", SimpleNamespace(active=book), raising=False)
    monkeypatch.setattr(ribbon, "run_ribbon", lambda *args: (_ for _ in ()).throw(RuntimeError("protected")))
    ribbon.main()
    assert len(alerts) == 1 and "撤销工作表保护" in alerts[0]
    assert "RuntimeError" not in alerts[0] and "protected" not in alerts[0]  # no English reaches the officer
