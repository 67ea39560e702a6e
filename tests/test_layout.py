"""The package's layout keeps its promises (DESIGN.md, "Layers of the package").

The core never imports the compiled path at module level and only ``core/engine.py`` imports
it at all; no two files import each other in a circle; functions stay short enough to read,
the compiled kernels excepted (each says which NumPy code it transcribes); and every
equation of the tutorial names the function that computes it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import nnscratch.core

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "nnscratch"
FILES = sorted(PACKAGE.rglob("*.py"))
MAX_FUNCTION_LINES = 80
MAX_TRAIN_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module_level_only: bool) -> set[str]:
    """Every ``nnscratch`` module ``path`` imports (``from nnscratch import x`` names
    ``nnscratch.x`` where that is a module), at module level only or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path.name}: relative import (the package uses absolute)"
            found.add(node.module)
            for alias in node.names:  # "from nnscratch.fast import epoch" imports a module
                if _is_module(f"{node.module}.{alias.name}"):
                    found.add(f"{node.module}.{alias.name}")
    return {name for name in found if name.split(".")[0] == "nnscratch"}


def _is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def parents(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a/__init__``, ``a/b/__init__`` and then ``a/b/c``."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in FILES:
        me = module_name(path)
        mine = set(parents(me))  # a package is being imported while its modules run
        graph[me] = {m for name in imports(path, True) for m in parents(name) if m not in mine}
    return graph


def test_no_import_circle_anywhere():
    graph = module_graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_core_reaches_the_compiled_path_through_engine_alone():
    for path in sorted((PACKAGE / "core").glob("*.py")):
        anywhere = {m for m in imports(path, False) if m.startswith("nnscratch.fast")}
        at_top = {m for m in imports(path, True) if m.startswith("nnscratch.fast")}
        assert not at_top, f"core/{path.name} imports {at_top} at module level"
        if path.name != "engine.py":
            assert not anywhere, f"core/{path.name} imports {anywhere}: only engine.py may"
    assert imports(PACKAGE / "core" / "engine.py", False) & {"nnscratch.fast.epoch"}


def test_the_core_imports_nothing_outside_itself():
    for path in sorted((PACKAGE / "core").glob("*.py")):
        outward = {
            m
            for m in imports(path, False)
            if not m.startswith("nnscratch.core")
            and not m.startswith("nnscratch.fast")
            and m != "nnscratch"
        }
        assert not outward, f"core/{path.name} imports {outward}"


def _is_kernel(node: ast.FunctionDef) -> bool:
    """A numba-compiled function (``@nb.njit(...)`` or ``@njit``)."""
    for dec in node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if ast.unparse(target).split(".")[-1] == "njit":
            return True
    return False


def functions():
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node


def _own_lines(node: ast.FunctionDef) -> int:
    """A function's lines less those of the kernels defined in it (a kernel factory's own)."""
    inner = sum(
        n.end_lineno - n.lineno + 1
        for n in ast.walk(node)
        if n is not node and isinstance(n, ast.FunctionDef) and _is_kernel(n)
    )
    return node.end_lineno - node.lineno + 1 - inner


def test_functions_are_short_enough_to_read():
    long = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({n} lines)"
        for path, node in functions()
        if (n := _own_lines(node)) > MAX_FUNCTION_LINES and not _is_kernel(node)
    ]
    assert not long, f"over {MAX_FUNCTION_LINES} lines: {long}"


def test_long_kernels_say_what_they_transcribe():
    for path, node in functions():
        if _is_kernel(node) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
            doc = ast.get_docstring(node) or ""
            assert "transcribes" in doc.lower(), f"{path.name}: {node.name} has no such docstring"


def test_the_training_loop_is_short():
    tree = ast.parse((PACKAGE / "core" / "train.py").read_text(encoding="utf-8"))
    (train,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train"]
    assert train.end_lineno - train.lineno + 1 <= MAX_TRAIN_LINES


def _resolve(name: str):
    """``"losses.SoftmaxCrossEntropy.forward"`` -> the function, and its class (or None)."""
    module, *attributes = name.split(".")
    owner, obj = None, importlib.import_module(f"nnscratch.core.{module}")
    for attribute in attributes:
        owner, obj = obj, getattr(obj, attribute)
    return obj, owner if inspect.isclass(owner) else None


def equation_map() -> dict[str, list[str]]:
    """The table in the core's docstring: equation -> the functions that compute it."""
    table = {}
    for line in nnscratch.core.__doc__.splitlines():
        match = re.match(r"^\s+(\(\d+\))\s.*?\s{2,}([\w.]+(?:, [\w.]+)*)$", line)
        if match:
            table[match[1]] = match[2].split(", ")
    return table


def test_the_equation_map_covers_the_tutorial():
    assert set(equation_map()) >= {f"({n})" for n in (1, 2, 3, 6, 7, 9, 14, 15, 16, 17)}


@pytest.mark.parametrize("equation", sorted(equation_map(), key=lambda e: int(e[1:-1])))
def test_every_equation_names_a_function_that_cites_it(equation):
    for name in equation_map()[equation]:
        function, cls = _resolve(name)
        assert callable(function), name
        # the function's own text (docstring, comments), or its class's docstring
        text = inspect.getsource(function) + (cls.__doc__ or "" if cls else "")
        assert equation in text, f"{name} does not cite eq. {equation}"
