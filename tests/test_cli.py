"""The ``ragqa`` command line: real subprocesses for the entry point, ``main(argv)`` in-process for the rest
(fake embedder on temporary indexes, the real model for the bundled article)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.cli import main
from rag.config import Config
from rag.store.indexer import build_index

RAGQA = str(Path(sys.executable).with_name("ragqa"))
ROOT = Path(__file__).resolve().parent.parent


def run(*args, timeout=120):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([RAGQA, *args], capture_output=True, text=True, timeout=timeout, env=env)


# -- the installed entry point ----------------------------------------------------------------------

def test_help_exits_zero_quickly():
    t0 = time.monotonic()
    out = run("--help")
    assert out.returncode == 0
    assert time.monotonic() - t0 < 8  # loading torch/FAISS would take far longer than this
    for command in ("index", "search", "ask"):
        assert command in out.stdout


def test_help_imports_no_heavy_modules():
    code = ("import sys\nfrom rag.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_version():
    out = run("--version")
    assert (out.returncode, out.stdout.strip()) == (0, "ragqa 0.1.0")


def test_search_blank_query_exits_2():
    out = run("search", "   ")
    assert out.returncode == 2
    assert "query is empty" in out.stderr
    assert out.stdout == ""


def test_ask_show_prompt_prints_system_prompt():
    out = run("ask", "--show-prompt")
    assert out.returncode == 0
    assert "### SYSTEM" in out.stdout
    assert "The article doesn't say." in out.stdout


def test_unknown_mode_rejected_by_argparse():
    out = run("search", "Antonov", "--mode", "sparse")
    assert out.returncode == 2 and "invalid choice: 'sparse'" in out.stderr


# -- main(argv) on temporary indexes with the fake embedder -----------------------------------------

@pytest.fixture
def notes(tmp_path):
    src = tmp_path / "notes"
    src.mkdir()
    (src / "dogs.txt").write_text("Dogs bark loudly at strangers who come near the house at night.", encoding="utf-8")
    (src / "ships.txt").write_text("Container ships dock in the harbour every week.", encoding="utf-8")
    return src


def test_index_command_builds_and_reports(fake_models, notes, tmp_path, capsys):
    assert main(["index", str(notes), "--out", str(tmp_path / "idx"), "--model", "fake"]) == 0
    out = capsys.readouterr().out
    assert "2 added, 0 updated, 0 unchanged, 0 skipped; 2 chunk(s) embedded, 0 reused" in out
    assert "the index holds 2 document(s), 2 chunks" in out


def test_index_command_second_run_reuses_everything(fake_models, notes, tmp_path, capsys):
    args = ["index", str(notes), "--out", str(tmp_path / "idx"), "--model", "fake"]
    main(args)
    capsys.readouterr()
    assert main(args) == 0
    assert "0 added, 0 updated, 2 unchanged, 0 skipped; 0 chunk(s) embedded, 2 reused" in capsys.readouterr().out


def test_index_command_missing_path_exits_2(fake_models, tmp_path, capsys):
    assert main(["index", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "idx")]) == 2
    assert "nope.txt: no such file or directory" in capsys.readouterr().err


def test_search_json_on_custom_index(fake_models, fake_embedder, notes, tmp_path, capsys):
    build_index([notes], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    assert main(["search", "ships in the harbour", "--index", str(tmp_path / "idx"), "--model", "fake",
                 "--json", "-k", "1"]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert hit["doc_id"] == "ships" and hit["paragraphs"] == [1]


def test_search_missing_index_exits_2(fake_models, tmp_path, capsys):
    assert main(["search", "anything", "--index", str(tmp_path / "none"), "--model", "fake"]) == 2
    assert "no index at" in capsys.readouterr().err


def test_search_model_mismatch_exits_2(fake_models, fake_embedder, notes, tmp_path, capsys):
    build_index([notes], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    assert main(["search", "ships", "--index", str(tmp_path / "idx"), "--model", "other"]) == 2
    assert "built with model 'fake'" in capsys.readouterr().err


def test_ask_json_on_custom_index(fake_models, fake_embedder, notes, tmp_path, capsys):
    build_index([notes], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    assert main(["ask", "Why do dogs bark at night?", "--index", str(tmp_path / "idx"), "--model", "fake",
                 "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert not ans["abstained"]
    assert [c["doc_id"] for c in ans["citations"]] == ["dogs"]


def test_ask_text_output_shows_citation_and_quote(fake_models, fake_embedder, notes, tmp_path, capsys):
    build_index([notes], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    assert main(["ask", "Why do dogs bark at night?", "--index", str(tmp_path / "idx"), "--model", "fake"]) == 0
    out = capsys.readouterr().out
    assert "[dogs ¶1]" in out
    assert "  Dogs bark loudly at strangers who come near the house at night.\n" in out
    assert "**" not in out and "\033[" not in out  # plain text when stdout is not a terminal


def test_ask_prints_each_cited_paragraph_once(fake_models, fake_embedder, tmp_path, capsys):
    """Two sentences of one paragraph both cited: the paragraph is printed once."""
    src = tmp_path / "notes"
    src.mkdir()
    (src / "dogs.txt").write_text("Dogs bark loudly at strangers at night. Dogs bark loudly at cats at night.",
                                  encoding="utf-8")
    build_index([src], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    assert main(["ask", "Why do dogs bark loudly at night?", "--index", str(tmp_path / "idx"), "--model",
                 "fake"]) == 0
    out = capsys.readouterr().out
    answer, sources = out.split("\n\n", 1)
    assert answer.count("[¶1]") == 2  # both sentences cited
    assert sources.count("[¶1]") == 1 and sources.count("Dogs bark loudly at strangers") == 1


def test_ask_abstain_threshold_flag(fake_models, fake_embedder, notes, tmp_path, capsys):
    build_index([notes], tmp_path / "idx", Config(model="fake"), embedder=fake_embedder)
    ask = ["ask", "Why do dogs bark at night?", "--index", str(tmp_path / "idx"), "--model", "fake"]
    assert main(ask + ["--json"]) == 0
    p = json.loads(capsys.readouterr().out)["answerability"]
    assert 0.0 < p < 1.0
    assert main(ask + ["--abstain-threshold", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The article doesn't say.") and f"answerability {p:.2f} (answers from 1.00)" in out
    assert main(ask + ["--abstain-threshold", "1.5"]) == 2
    assert "abstain_threshold must be a number from 0 to 1" in capsys.readouterr().err


def test_ask_without_question_exits_2(capsys):
    assert main(["ask"]) == 2
    assert "question is missing" in capsys.readouterr().err


# -- the bundled article with the real model ---------------------------------------------------------

@pytest.mark.slow
def test_search_json_bundled_top3_has_sanctions_passage(capsys, monkeypatch, bundled_retriever):
    for var in [v for v in os.environ if v.startswith("RAGQA_")]:
        monkeypatch.delenv(var)
    assert main(["search", "Why might Antonov's appointment matter?", "--json", "-k", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert any("EU sanctions list" in h["text"] for h in hits)
    assert all(h["doc_id"] == "rusi-2017-02-22-us-russia-reset" for h in hits)


@pytest.mark.slow
def test_ask_on_a_terminal_uses_ansi_styles():
    """Through a real pseudo-terminal: the quote is bold yellow, markers bold, no Markdown."""
    import pty

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_") and k != "NO_COLOR"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ask", "Who is Leonid Slutsky?"],
                            stdout=slave, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr.read()
    assert "\033[1m\033[33m" in out and "Liberal Democratic Party" in out  # BOLD + YELLOW quote
    assert "\033[1m[¶12]\033[0m" in out and "**" not in out
