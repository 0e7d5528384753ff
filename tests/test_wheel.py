"""The wheel is complete (issue #12, item 10): built from the source tree, installed without -e into
a fresh virtual environment (dependencies borrowed from this one, nothing downloaded), it has every
subpackage and runs ``ragqa eval --help`` and a search."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, **kw):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy: building leaves build/ and *.egg-info behind
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for pkg in ("rag", "ui"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation", "-w", tmp / "dist", "-q"])
    return next((tmp / "dist").glob("ragqa-*.whl"))


def test_wheel_holds_every_module_and_the_article(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(ROOT)) for pkg in ("rag", "ui") for p in (ROOT / pkg).rglob("*.py")
                if "__pycache__" not in p.parts}
    assert expected - names == set()
    assert "rag/data/rusi-2017-02-22-us-russia-reset.txt" in names
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_runs_eval_help_and_a_search(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    py = venv / "bin" / "python"
    target = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # dependencies: this environment's site-packages, appended after the new venv's own (its .pth
    # files, such as an editable install of ragqa, are not processed)
    (target / "zz-borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("RAGQA_")}
    env |= {"HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    ragqa = venv / "bin" / "ragqa"
    where = _run([py, "-c", "import rag; print(rag.__file__)"], env=env, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(target)), where  # the wheel's copy, not this checkout's
    out = _run([ragqa, "eval", "--help"], env=env, cwd=tmp_path)
    assert "--gold" in out.stdout
    out = _run([ragqa, "search", "Who is Antonov?", "-k", "1", "--json"], env=env, cwd=tmp_path)
    hits = json.loads(out.stdout)
    assert hits and "Antonov" in hits[0]["text"]
    assert (tmp_path / "cache" / "ragqa" / "index" / "manifest.json").exists()


class _EntryPoint:
    def __init__(self, name, error):
        self.name, self.error = name, error

    def load(self):
        raise self.error


def test_a_missing_optional_dependency_turns_a_command_off_and_says_what_to_install(monkeypatch, capsys):
    import rag.cli

    missing = ImportError("No module named 'gradio'", name="gradio")
    monkeypatch.setattr(rag.cli, "_plugins", lambda: [_EntryPoint("chat", missing)])
    assert rag.cli.main(["chat"]) == 2
    assert "'ragqa chat' needs gradio: pip install gradio" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["rag.evaluation.report", "ui.render"])
def test_an_import_error_in_ragqas_own_modules_is_never_swallowed(monkeypatch, module):
    import rag.cli

    broken = ImportError(f"cannot import name 'x' from '{module}'", name=module)
    monkeypatch.setattr(rag.cli, "_plugins", lambda: [_EntryPoint("chat", broken)])
    with pytest.raises(ImportError, match=module):
        rag.cli.build_parser()


def test_every_builtin_command_is_registered():
    import rag.cli

    sub = next(a for a in rag.cli.build_parser()._actions if a.dest == "command")
    assert {"index", "docs", "remove", "search", "ask", "eval"} <= set(sub.choices)
