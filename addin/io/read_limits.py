"""How much of a workbook the reader takes on, checked before python-calamine allocates anything. Every
limit of the reader is here, with why.

python-calamine turns a sheet into one rectangular grid from its first to its last cell holding a value
(32 bytes a cell), so one number in XFD1048576 asks for hundreds of gigabytes and the process dies in
Rust. The grid is bounded by the largest table our templates can have: cells right of or below it are
refused before the sheet is parsed (addin.io.sheet_extent)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from addin.template_sizes import MAX_ROWS


@dataclass(frozen=True)
class Grid:
    """Where a sheet's cells may lie: rows 1 to `last_row`, columns A to `last_column` (1-based)."""

    last_row: int
    last_column: int

    @property
    def cells(self) -> int:
        return self.last_row * self.last_column

    @property
    def last_column_letters(self) -> str:
        from addin.template_spec import column_letter

        return column_letter(self.last_column)


@functools.cache
def template_grid() -> Grid:
    """The largest table of our templates: the application's (the plan and the award sheets are
    narrower and shorter, tested) at its most rows, with the row below it (a 合计 row). A value right of
    or below it is not one a template has. Its grid takes python-calamine about 1.2 GB. (Loaded when
    first asked: the application's fields come with pandas.)"""
    from addin.template_spec import FIRST_DATA_ROW
    from schemas.fields import declared_fields

    return Grid(last_row=FIRST_DATA_ROW + MAX_ROWS, last_column=len(declared_fields()))


# --- the zip parts, from the zip directory (declared sizes, before anything is inflated) ----------------

MAX_UNCOMPRESSED_BYTES = 2 * 1024**3  # the whole package, inflated
MAX_PART_RATIO = 500  # inflated / compressed, for parts of at least RATIO_CHECKED_FROM_BYTES
RATIO_CHECKED_FROM_BYTES = 1024**2
MAX_PARTS = 10_000
# Any part that is not a worksheet: python-calamine holds the shared strings whole from the moment it opens
# a file, at about 2.3 times their XML's size and 35 ms a megabyte (measured: 200 MB of short strings took
# 450 MB and 7 s). The shared strings are the largest such part of a real workbook (styles are bounded by
# Excel's 65,490 cell formats, well under a megabyte each); 256 MB keeps them under 10 s and 600 MB.
MAX_OTHER_PART_BYTES = 256 * 1024**2
