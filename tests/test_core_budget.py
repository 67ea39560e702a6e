"""The teaching core stays small and depends on NumPy alone (DESIGN.md: "Layers of the package").

What counts as a code line: a physical line of ``src/nnscratch/core/*.py`` that is not
blank, not only a comment, and not part of a docstring (module, class or function). Lines
inside other strings, decorators, signatures and closing brackets count.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "nnscratch" / "core"
FILE_BUDGET = 300
TOTAL_BUDGET = 1500
CORE_FILES = sorted(CORE.glob("*.py"))


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by module, class and function docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Count lines holding at least one token that is code (not a comment or docstring)."""
    skip = docstring_lines(ast.parse(source))
    ignored = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in ignored:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in skip:
                lines.add(line)
    return len(lines)


def test_counter_counts_what_it_says():
    source = '''"""Module docstring,
over two lines."""

import numpy as np  # a comment


def f(x):
    """Docstring."""
    # only a comment
    s = """a string
that is code"""
    return (
        x
    )
'''
    # import, def, s = ..., its second line, return (, x, )
    assert code_lines(source) == 7


def test_core_files_exist():
    names = {p.name for p in CORE_FILES}
    assert {
        "functional.py",
        "layers.py",
        "network.py",
        "train.py",
        "checks.py",
        "engine.py",
    } <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_each_core_file_under_budget(path):
    n = code_lines(path.read_text(encoding="utf-8"))
    assert n < FILE_BUDGET, f"{path.name}: {n} code lines (budget {FILE_BUDGET})"


def test_whole_core_under_budget():
    counts = {p.name: code_lines(p.read_text(encoding="utf-8")) for p in CORE_FILES}
    total = sum(counts.values())
    assert total < TOTAL_BUDGET, f"core: {total} code lines (budget {TOTAL_BUDGET}): {counts}"


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import (the package uses absolute)"
            if node.module == "nnscratch":  # from nnscratch import x: record nnscratch.x
                roots.update(f"nnscratch.{alias.name}" for alias in node.names)
            else:
                roots.add(node.module)
    return roots


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.name)
def test_core_imports_only_numpy_and_the_standard_library(path):
    for module in imported_roots(path):
        top = module.split(".")[0]
        if top == "nnscratch":
            # inside the package, the core leans on itself alone, and its seam (engine.py)
            # on the optional compiled path, imported only on use (tests/test_layout.py)
            seam = path.name == "engine.py" and module.startswith("nnscratch.fast")
            assert module.startswith("nnscratch.core") or seam, f"{path.name} imports {module}"
        else:
            assert top == "numpy" or top in sys.stdlib_module_names, (
                f"{path.name} imports {module}: the core depends on NumPy and the stdlib only"
            )
