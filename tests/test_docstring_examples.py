"""Documented examples stay true. Docstrings here show examples inline, as ````expr == value````;
each one is evaluated in its module's namespace. (``>>>`` examples run under ``--doctest-modules``.)"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(r"``([^`]+?==[^`]+?)``")

SKIP: set[str] = set()


def _modules():
    for base in ("rag", "ui"):
        for path in sorted((ROOT / base).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if name not in SKIP:
                yield name, path


def _examples():
    for name, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False) or ""
                for m in EXAMPLE.finditer(doc):
                    expr = m.group(1).replace("\\\\", "\\")
                    try:
                        ast.parse(expr, mode="eval")
                    except SyntaxError:
                        continue  # prose between double backticks, not an example
                    yield pytest.param(name, expr, id=f"{name}:{expr[:40]}")


@pytest.mark.parametrize("module, expr", list(_examples()))
def test_documented_example_holds(module, expr):
    mod = importlib.import_module(module)
    namespace = {"math": math, **vars(mod)}
    for value in vars(mod).values():  # examples may call a method through its class's module
        if inspect.isclass(value):
            namespace.setdefault(value.__name__, value)
    free = {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
    if free - namespace.keys() - set(dir(__builtins__)):
        pytest.skip(f"an invariant over {sorted(free - namespace.keys())}, not a runnable example")
    assert eval(expr, namespace), f"{module}: documented example is false: {expr}"
