"""The house rules that keep ragqa easy to change, checked on the source: stages import only earlier
stages, the core never imports the UI, ``import rag`` stays cheap, and the registries are the one
place names come from."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Pipeline order. Root modules (types, errors, config, registry) are shared vocabulary: level 0.
LEVEL = {"types": 0, "errors": 0, "config": 0, "registry": 0, "ingest": 1, "embed": 2, "store": 3,
         "retrieve": 4, "answer": 5, "evaluation": 6, "cli": 7}
# Config validates names against the registries: tables of names whose factories load lazily.
ALLOWED_UPWARD = {("config", "rag.answer.registry"), ("config", "rag.embed.registry")}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def _rag_modules():
    for path in sorted((ROOT / "rag").rglob("*.py")):
        yield ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), path


@pytest.mark.parametrize("module, path", list(_rag_modules()), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_stages_import_only_earlier_stages(module, path):
    here = _stage(module)
    if here == "__init__":
        return  # the package's lazy public names point everywhere, by design
    bad = []
    for imported in _imports(path):
        if imported.split(".")[0] == "ui":
            bad.append(f"{imported} (the core never imports ui)")
        if imported.startswith("rag.") and imported != "rag":
            there = _stage(imported)
            if LEVEL.get(there, 0) > LEVEL[here.removesuffix(".py")] and (here, imported) not in ALLOWED_UPWARD:
                bad.append(f"{imported} (stage {there} comes after {here})")
    assert not bad, f"{module} imports a later stage: {bad}"


def test_import_rag_is_cheap():
    code = "import sys, rag; print(sorted(m for m in ('numpy', 'torch', 'faiss', 'gradio', 'bm25s') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_generator_names_come_from_the_registry():
    from rag.answer.registry import GENERATORS
    from rag.cli import build_parser
    from rag.config import Config

    GENERATORS.register("echo-test", lambda config, embedder: None, "test only")
    try:
        assert Config(generator="echo-test").generator == "echo-test"
        sub = next(a for a in build_parser()._actions if a.dest == "command")
        gen = next(a for a in sub.choices["ask"]._actions if a.dest == "generator")
        assert "echo-test" in gen.choices
    finally:
        GENERATORS._entries.pop("echo-test")


def test_mode_from_str_names_the_valid_modes():
    from rag.types import Mode

    assert Mode.from_str("dense") is Mode.DENSE and Mode.DENSE == "dense" and str(Mode.LEXICAL) == "lexical"
    with pytest.raises(ValueError, match=r"mode must be one of 'hybrid', 'dense', 'lexical'\. Currently, mode is 'bm25'"):
        Mode.from_str("bm25")
