"""The check wing asks addin.io for a table's rows and never sees how they are read (sheet parts,
reading ahead, retries, the garbage collector); no wing imports another wing's private names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READING_MACHINERY = ("addin.io.sheet_parts", "addin.io.read_ahead", "gc")


def _imports(source: Path) -> Iterator[tuple[str, list[str]]]:
    """Each module the file imports, with the names it takes from it."""
    for node in ast.walk(ast.parse(source.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]


def _wing(module: str) -> str:
    """addin.io.output -> addin.io; addin.cli -> addin; schemas.fields -> schemas."""
    parts = module.split(".")
    if parts[0] == "addin" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


def _module(source: Path) -> str:
    return ".".join(source.relative_to(ROOT).with_suffix("").parts)


def test_the_check_wing_and_the_cli_never_import_the_reading_machinery() -> None:
    sources = [*(ROOT / "addin" / "check").glob("*.py"), ROOT / "addin" / "cli.py"]
    for source in sources:
        for module, _ in _imports(source):
            assert module not in READING_MACHINERY, f"{source.name} imports {module}"


def test_no_wing_imports_another_wings_private_names() -> None:
    for source in [*(ROOT / "addin").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")]:
        importer = _wing(_module(source))
        for module, names in _imports(source):
            private = [name for name in names if name.startswith("_") and not name.startswith("__")]
            assert not private or _wing(module) == importer, f"{source.name} imports {private} from {module}"
