"""Which workbooks a command was given: files named, and the workbooks in folders named."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The workbooks named, and those in the folders named (not Excel's ~$ lock files), in order."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith(("~$", "."))
                )
            )
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())
