"""No function longer than MAX_LINES lines: long ones are cut where their steps are."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Longest a function may be, its signature, docstring and decorators included.
MAX_LINES = 60

#: Where the rule holds (package folders or single files, relative to the repository).
CHECKED_ROOTS = ("dieuhanh", "provisioning", "bot", "bridge", "bench")

#: Alembic migrations are written once and never refactored.
EXEMPT_FOLDER = "migrations"


def _sources() -> list[Path]:
    found: list[Path] = []
    for name in CHECKED_ROOTS:
        root = ROOT / name
        found += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return [p for p in found if EXEMPT_FOLDER not in p.relative_to(ROOT).parts]


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - start + 1
            if length > MAX_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    return found


def test_the_checked_roots_exist() -> None:
    assert all((ROOT / name).exists() for name in CHECKED_ROOTS)
    assert len(_sources()) > 20


def test_no_function_is_longer_than_the_limit() -> None:
    too_long = [line for path in _sources() for line in _long_functions(path)]
    assert not too_long, f"functions over {MAX_LINES} lines:\n" + "\n".join(too_long)
