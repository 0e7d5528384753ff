"""An index folder is ragqa's, provably (issue #12, item 1): ragqa refuses to build into a folder of
someone else's files, and its clean-up deletes only what an earlier manifest of the index (or the
journal of a killed build) listed. Errors on bad --out paths are one line, exit 2 (item 8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.cli import main
from rag.config import Config
from rag.errors import IndexDirError, RagError
from rag.store import disk as store
from rag.store import ownership
from rag.store.indexer import build_index

FAKE = Config(model="fake")
# The folder: names that look like index files, and are not.
USER_FILES = {"documents-2024.json": '{"taxes": 2024}', "lexical-notes/thesis.txt": "My thesis, chapter one.",
              "vectors-plan.md": "# Plan\n\nVectors.", "chunks-of-wood.txt": "Oak, ash and beech."}


def _user_folder(folder: Path) -> Path:
    for name, text in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def notes(tmp_path):
    src = tmp_path / "notes"
    src.mkdir()
    (src / "beans.txt").write_text("Runner beans climb poles.\n\nBroad beans are sown in autumn.", encoding="utf-8")
    return src


@pytest.fixture
def fake_models(monkeypatch, fake_embedder):
    import rag.embed.registry

    monkeypatch.setattr(rag.embed.registry, "make_query_embedder", lambda *a, **k: fake_embedder)
    for var in [v for v in os.environ if v.startswith("RAGQA_")]:
        monkeypatch.delenv(var)


def test_a_folder_of_user_files_is_refused_and_untouched(notes, tmp_path, fake_embedder):
    folder = _user_folder(tmp_path / "mine")
    before = _snapshot(folder)
    with pytest.raises(IndexDirError, match="is not empty and is not a ragqa index"):
        build_index([notes], folder, FAKE, embedder=fake_embedder)
    assert _snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted({n.split("/")[0] for n in USER_FILES})  # no .lock


def test_cli_refuses_a_folder_of_user_files_with_one_line(fake_models, notes, tmp_path, capsys):
    folder = _user_folder(tmp_path / "mine")
    before = _snapshot(folder)
    assert main(["index", str(notes), "--out", str(folder), "--model", "fake"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a ragqa index" in err and "ragqa-index" in err
    assert _snapshot(folder) == before


def test_out_dot_inside_a_project_is_refused(fake_models, notes, tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (project / "src" / "app.py").write_text("print('hi')\n", encoding="utf-8")
    (project / "manifest.json").write_text('{"name": "my web app", "version": 2}', encoding="utf-8")
    _user_folder(project)
    before = _snapshot(project)
    monkeypatch.chdir(project)
    assert main(["index", str(notes), "--out", ".", "--model", "fake"]) == 2
    assert "not a ragqa index" in capsys.readouterr().err
    assert _snapshot(project) == before and not (project / ".lock").exists()


def test_an_empty_folder_becomes_an_index_with_a_marker(notes, tmp_path, fake_embedder):
    out = tmp_path / "empty"
    out.mkdir()
    build_index([notes], out, FAKE, embedder=fake_embedder)
    assert (out / ownership.MARKER).is_file()
    assert json.loads((out / "manifest.json").read_text())["format"] == "ragqa-index"
    build_index([notes], out, FAKE, embedder=fake_embedder)  # and stays usable


def test_user_files_dropped_into_an_index_survive_rebuilds(notes, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    build_index([notes], out, FAKE, embedder=fake_embedder)
    _user_folder(out)
    (out / "lexical-notes" / "data.csc.index.npy").write_text("mine too", encoding="utf-8")
    for i in range(3):
        (notes / "beans.txt").write_text(f"Beans, version {i}.", encoding="utf-8")
        build_index([notes], out, FAKE, embedder=fake_embedder)
    for name, text in USER_FILES.items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert (out / "lexical-notes" / "data.csc.index.npy").read_text(encoding="utf-8") == "mine too"


def test_cleanup_keeps_only_the_committed_and_previous_generation(notes, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    for i in range(4):
        (notes / "beans.txt").write_text(f"Beans, version {i}.", encoding="utf-8")
        build_index([notes], out, FAKE, embedder=fake_embedder)
    m = json.loads((out / "manifest.json").read_text())
    live = {info["name"] for info in m["files"].values()} | {n.split("/")[0] for n in m["previous_files"]}
    assert {p.name for p in out.iterdir()} == live | {"manifest.json", ".lock", ownership.MARKER}


def test_files_of_a_killed_build_are_removed_by_the_next(notes, tmp_path, fake_embedder, monkeypatch):
    out = tmp_path / "idx"
    build_index([notes], out, FAKE, embedder=fake_embedder)
    import rag.store.vectors

    def crash(index, filename):
        raise RuntimeError("killed")
    with monkeypatch.context() as m:
        m.setattr(rag.store.vectors, "write", crash)
        with pytest.raises(RuntimeError, match="killed"):
            build_index([notes], out, FAKE, embedder=fake_embedder, incremental=False)
    left_over = set(ownership.read_journal(out))
    assert any((out / n).exists() for n in left_over)
    (out / "vectors-deadbeef.npy").write_bytes(b"looks generated, but no manifest listed it")
    build_index([notes], out, FAKE, embedder=fake_embedder, incremental=False)
    m = json.loads((out / "manifest.json").read_text())
    live = {info["name"] for info in m["files"].values()} | set(m["previous_files"])
    assert not any((out / n).exists() for n in left_over - live)
    assert (out / "vectors-deadbeef.npy").exists()  # never listed: not deleted
    assert not (out / ownership.PENDING).exists()


def test_an_index_from_before_the_marker_is_still_recognised(notes, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    build_index([notes], out, FAKE, embedder=fake_embedder)
    (out / ownership.MARKER).unlink()
    assert ownership.is_index(out)
    build_index([notes], out, FAKE, embedder=fake_embedder)
    assert (out / ownership.MARKER).exists()


# -- --out paths that cannot be used: one line, exit 2 ------------------------------------------------

@pytest.mark.parametrize("where", ["file", "proc", "under-a-file"])
def test_unusable_out_paths_are_one_line_errors(fake_models, notes, tmp_path, capsys, where):
    target = {"file": tmp_path / "a-file.txt", "proc": Path("/proc/nope"),
              "under-a-file": tmp_path / "a-file.txt" / "index"}[where]
    (tmp_path / "a-file.txt").write_text("mine", encoding="utf-8")
    assert main(["index", str(notes), "--out", str(target), "--model", "fake"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ragqa: error: ") and err.count("\n") == 1, err
    assert (tmp_path / "a-file.txt").read_text(encoding="utf-8") == "mine"


def test_new_folder_under_a_read_only_parent_is_a_one_line_error(fake_models, notes, tmp_path, capsys, monkeypatch):
    def refuse(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(Path, "mkdir", refuse)  # root ignores permission bits: refuse as a read-only parent would
    assert main(["index", str(notes), "--out", str(tmp_path / "ro" / "new"), "--model", "fake"]) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and err.count("\n") == 1


def test_other_oserrors_in_commands_are_one_line(fake_models, tmp_path, capsys, monkeypatch):
    import rag.cli.search

    def boom(args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(rag.cli.search, "run", boom)
    assert main(["search", "beans"]) == 2
    assert capsys.readouterr().err == "ragqa: error: No space left on device\n"


def test_claim_refuses_before_writing(tmp_path):
    folder = _user_folder(tmp_path / "mine")
    with pytest.raises(RagError):
        with store.write_lock(folder, notify=None):
            pass
    assert not (folder / ".lock").exists() and not (folder / ownership.MARKER).exists()
