"""Workbooks that travel: a link to the dtfund add-in at the path it had on another PC."""

from __future__ import annotations

from pathlib import Path

from addin.io.external_links import external_links
from schemas.registry import Issue, implements, make_issue

ADDIN_FILE = "dtfund.xlam"


@implements("ADDIN_LINK_ELSEWHERE")
def addin_link_issues(path: Path) -> list[Issue]:
    """A warning for each link to a dtfund.xlam file: it names that PC's copy of the add-in."""
    return [
        make_issue("ADDIN_LINK_ELSEWHERE", file=Path(path).name, value=link.target, reason=link.target)
        for link in external_links(path)
        if link.file_name.lower() == ADDIN_FILE
    ]
