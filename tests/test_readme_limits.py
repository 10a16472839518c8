"""README, --help and the limits in code agree (issue 27 item 9): the --rows range of each template."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from addin.cli import app
from addin.template_sizes import AWARDS_DEFAULT_ROWS, AWARDS_MAX_ROWS, DEFAULT_ROWS, MAX_ROWS
from addin.templates.bundled import REPOSITORY

README = (REPOSITORY / "README.md").read_text("utf-8")


def _readme_rows(marker: str) -> tuple[int, int, int]:
    """(default, least, most) of --rows, from the README line that `marker` starts or contains."""
    line = next(line for line in README.splitlines() if marker in line and "--rows" in line)
    default = re.search(r"默认 (\d+) 行", line)
    least, most = re.search(r"可填 (\d+) 至 (\d+) 行", line).groups()
    assert default, line
    return int(default[1]), int(least), int(most)


@pytest.mark.parametrize(
    ("command", "marker", "default", "most"),
    [
        ("application", "`--rows N`：可填写的行数", DEFAULT_ROWS, MAX_ROWS),
        ("awards", "dtfund template awards", AWARDS_DEFAULT_ROWS, AWARDS_MAX_ROWS),
    ],
)
def test_readme_help_and_limits_agree_on_rows(command: str, marker: str, default: int, most: int) -> None:
    assert _readme_rows(marker) == (default, 1, most)
    shown = CliRunner().invoke(app, ["template", command, "--help"], env={"COLUMNS": "200"}).output
    assert f"[1<=x<={most}]" in shown and f"[默认：{default}]" in shown
    refused = CliRunner().invoke(app, ["template", command, "-o", "x.xlsx", "--rows", str(most + 1)])
    assert refused.exit_code == 2
