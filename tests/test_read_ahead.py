"""Reading ahead: a workbook parsed in the background gives the same check as one read on demand, a
skipped or replaced file is never served stale, and a broken file is reported as without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.io.read_ahead import ReadAhead, parse_named_sheets, read_ahead
from addin.templates.bundled import EXAMPLES, REPOSITORY
from schemas.policy import load_policy
from tests.support.hostile import CORPUS
from tests.support.read_ahead_checks import checked_without_and_with_reading_ahead

EXAMPLE_FILES = [REPOSITORY / relative for relative in EXAMPLES.values()]


def _copies(tmp_path: Path) -> list[Path]:
    copies = []
    for n, source in enumerate(EXAMPLE_FILES):
        copies.append(tmp_path / f"{n}-{source.name}")
        shutil.copyfile(source, copies[-1])
    return copies


def test_the_sheets_the_defined_names_refer_to_are_parsed() -> None:
    parsed = parse_named_sheets(EXAMPLE_FILES[0])
    assert parsed is not None
    assert spec.DATA_SHEET in parsed.sheets
    assert "填表说明" not in parsed.sheets  # no defined name refers to it: never parsed
    assert parsed.failures == {}


def test_a_file_is_served_once_and_only_if_it_was_started(tmp_path: Path) -> None:
    first, second, third = _copies(tmp_path)
    ahead = ReadAhead(depth=2)
    ahead.start([first, second])
    assert ahead.take(third) is None
    assert ahead.take(first) is not None
    assert ahead.take(first) is None  # taken: a second check of it reads the file itself


def test_files_never_taken_are_dropped_and_the_next_ones_started(tmp_path: Path) -> None:
    first, second, third = _copies(tmp_path)
    ahead = ReadAhead(depth=1)
    ahead.start([first, second, third])
    assert ahead.take(second) is None  # depth 1: only the first has been started
    assert ahead.take(first) is not None
    assert ahead.take(third) is None  # the second was started next, not the third
    assert ahead.take(second) is not None


def test_a_file_replaced_after_it_was_queued_is_read_again(tmp_path: Path) -> None:
    first, second, _ = _copies(tmp_path)
    ahead = ReadAhead()
    ahead.start([first])
    shutil.copyfile(second, first)
    os.utime(first, ns=(1, 1))
    assert ahead.take(first) is None


def test_the_check_is_the_same_with_and_without_reading_ahead(tmp_path: Path) -> None:
    policy = load_policy()
    for path in _copies(tmp_path):
        plain, ahead = checked_without_and_with_reading_ahead(path, policy)
        assert ahead == plain


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_a_hostile_file_is_reported_as_without_reading_ahead(case, tmp_path: Path) -> None:
    policy = load_policy()
    path = case.build(tmp_path)
    plain = check_file(path, policy)
    read_ahead.start([path])
    ahead = check_file(path, policy)
    assert [(i.rule, i.message) for i in ahead.issues] == [(i.rule, i.message) for i in plain.issues]
    assert ahead.kind == plain.kind


def test_a_command_that_stops_early_does_not_wait_for_the_parse(tmp_path: Path) -> None:
    """The worker is a daemon thread: exiting never waits for parses nobody will use."""
    first, *_ = _copies(tmp_path)
    ahead = ReadAhead()
    ahead.start([first])
    workers = [t for t in threading.enumerate() if t.name == "dtfund-read-ahead"]
    assert workers and all(t.daemon for t in workers)


def test_the_command_line_is_parsed_before_pandas_is_loaded() -> None:
    """The CLI queues its inputs before importing pandas and pandera, so the two overlap: a top-level
    import of either in addin/cli.py (or what it imports) would quietly undo that."""
    probe = "import sys, addin.cli; print(sorted(m for m in ('pandas', 'pandera', 'openpyxl') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
