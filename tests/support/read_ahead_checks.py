"""The check of a workbook with and without its parse read ahead (and so, for a large sheet, parsed in
parts), as the JSON documents compare (without their time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from addin.check.pipeline import check_file
from addin.io.read_ahead import read_ahead
from addin.reports.check_report import result_document
from schemas.policy import Policy


def checked_without_and_with_reading_ahead(
    path: Path, policy: Policy
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The check's document of the file read as usual, then read ahead; the check took the parse read
    ahead (none is left waiting)."""
    plain = result_document(check_file(path, policy))
    read_ahead.start([path])
    ahead = result_document(check_file(path, policy))
    assert read_ahead.take(path) is None
    plain.pop("checked_at"), ahead.pop("checked_at")
    return plain, ahead
