"""An index that grows (issue #12, item 5) and says what it did (item 6): add and update documents,
--replace, remove, list; the same from Python; progress on long work and one summary at the end."""

from __future__ import annotations

import json

import pytest

import rag
from rag.cli import main
from rag.config import Config
from rag.errors import RagError
from rag.retrieve.retriever import Retriever

FAKE = Config(model="fake")


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    texts = {"beans.txt": "Runner beans climb poles.\n\nBroad beans are sown in autumn.",
             "ships.md": "# Ships\n\nContainer ships dock in the harbour.\n\nTugs guide them in.",
             "tomatoes.txt": "Tomatoes need six hours of sun.", "cats.txt": "Cats purr when content."}
    out = {}
    for name, text in texts.items():
        (src / name).write_text(text, encoding="utf-8")
        out[name.split(".")[0]] = src / name
    return out


def _ids(path):
    return [d.doc_id for d in rag.list_documents(path)]


# -- Python API ---------------------------------------------------------------------------------------

def test_add_documents_adds_to_an_existing_index(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    report = rag.add_documents([files["tomatoes"]], out, FAKE, embedder=fake_embedder)
    assert (report.added, report.changed, report.unchanged, report.embedded) == (("tomatoes",), (), (), 1)
    assert _ids(out) == ["beans", "ships", "tomatoes"]
    hits = Retriever.load(out, FAKE, embedder=fake_embedder).search("sun for tomatoes", k=1)
    assert hits[0].doc_id == "tomatoes"


def test_add_documents_creates_a_new_index(files, tmp_path, fake_embedder):
    report = rag.add_documents([files["cats"]], tmp_path / "new", embedder=fake_embedder, config=FAKE)
    assert report.added == ("cats",) and _ids(tmp_path / "new") == ["cats"]


def test_add_documents_updates_a_changed_file_in_place(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    files["beans"].write_text("Runner beans climb poles.\n\nBroad beans are sown in November.", encoding="utf-8")
    report = rag.add_documents([files["beans"]], out, FAKE, embedder=fake_embedder)
    assert (report.added, report.changed, report.embedded) == ((), ("beans",), 1)
    assert _ids(out) == ["beans", "ships"]
    doc = Retriever.load(out, FAKE, embedder=fake_embedder).documents["beans"]
    assert "November" in doc.text


def test_adding_the_same_files_again_changes_nothing(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.add_documents([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    report = rag.add_documents([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    assert (report.added, report.changed, report.unchanged, report.embedded) == ((), (), ("beans", "ships"), 0)


def test_a_new_file_with_a_taken_name_gets_its_own_id(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.add_documents([files["beans"]], out, FAKE, embedder=fake_embedder)
    other = tmp_path / "other"
    other.mkdir()
    (other / "beans.txt").write_text("Different beans: soy beans make tofu.", encoding="utf-8")
    report = rag.add_documents([other / "beans.txt"], out, FAKE, embedder=fake_embedder)
    assert report.added == ("beans-2",) and _ids(out) == ["beans", "beans-2"]


def test_build_index_still_builds_exactly_the_sources(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    report = rag.build_index([files["ships"], files["cats"]], out, FAKE, embedder=fake_embedder)
    assert report.removed == ("beans",) and _ids(out) == ["ships", "cats"]


def test_remove_documents(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"], files["ships"], files["cats"]], out, FAKE, embedder=fake_embedder)
    report = rag.remove_documents(["ships"], out, FAKE)
    assert (report.removed, report.embedded, report.documents) == (("ships",), 0, 2)
    r = Retriever.load(out, FAKE, embedder=fake_embedder)
    assert set(r.documents) == {"beans", "cats"}
    assert all(p.doc_id != "ships" for p in r.search("container ships harbour", k=5))


def test_remove_unknown_document_names_the_ids(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"]], out, FAKE, embedder=fake_embedder)
    with pytest.raises(RagError, match=r"no document 'nope' in .*idx.*beans"):
        rag.remove_documents(["nope"], out, FAKE)


def test_removing_every_document_is_refused(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"]], out, FAKE, embedder=fake_embedder)
    with pytest.raises(RagError, match="would leave the index empty"):
        rag.remove_documents(["beans"], out, FAKE)
    assert _ids(out) == ["beans"]


def test_list_documents(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"], files["ships"]], out, FAKE, embedder=fake_embedder)
    docs = rag.list_documents(out)
    assert [(d.doc_id, d.title, d.paragraphs) for d in docs] == [("beans", "beans", 2), ("ships", "Ships", 2)]
    assert docs[0].source_path == str(files["beans"].resolve())


def test_add_to_an_unreadable_index_refuses_instead_of_dropping_documents(files, tmp_path, fake_embedder):
    out = tmp_path / "idx"
    rag.build_index([files["beans"]], out, FAKE, embedder=fake_embedder)
    m = json.loads((out / "manifest.json").read_text())
    (out / m["files"]["text"]["name"]).write_text("garbage", encoding="utf-8")  # the SQLite text store (schema 4)
    with pytest.raises(RagError, match="--replace"):
        rag.add_documents([files["cats"]], out, FAKE, embedder=fake_embedder)


# -- command line -------------------------------------------------------------------------------------

def test_cli_index_into_existing_index_adds(fake_models, files, tmp_path, capsys):
    out = str(tmp_path / "idx")
    assert main(["index", str(files["beans"]), "--out", out, "--model", "fake"]) == 0
    assert main(["index", str(files["ships"]), "--out", out, "--model", "fake"]) == 0
    assert _ids(out) == ["beans", "ships"]
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert "1 added, 0 updated, 0 unchanged, 0 skipped" in summary and "1 chunk(s) embedded" in summary


def test_cli_replace_rebuilds_from_exactly_the_sources(fake_models, files, tmp_path, capsys):
    out = str(tmp_path / "idx")
    main(["index", str(files["beans"]), str(files["ships"]), "--out", out, "--model", "fake"])
    assert main(["index", str(files["cats"]), "--out", out, "--replace", "--model", "fake"]) == 0
    assert _ids(out) == ["cats"]
    assert "2 removed" in capsys.readouterr().out


def test_cli_remove_and_docs(fake_models, files, tmp_path, capsys):
    out = str(tmp_path / "idx")
    main(["index", str(files["beans"]), str(files["ships"]), "--out", out, "--model", "fake"])
    capsys.readouterr()
    assert main(["docs", "--index", out]) == 0
    listing = capsys.readouterr().out
    assert "beans" in listing and "Ships" in listing and str(files["ships"].resolve()) in listing
    assert main(["remove", "beans", "--index", out]) == 0
    assert "removed beans" in capsys.readouterr().out
    assert main(["docs", "--index", out, "--json"]) == 0
    assert [d["doc_id"] for d in json.loads(capsys.readouterr().out)] == ["ships"]
    assert main(["remove", "nope", "--index", out]) == 2
    assert "no document 'nope'" in capsys.readouterr().err


def test_cli_summary_lists_skipped_files_with_reasons(fake_models, files, tmp_path, capsys):
    (files["beans"].parent / "table.csv").write_text("a,b", encoding="utf-8")
    (files["beans"].parent / "empty.txt").write_text("", encoding="utf-8")
    assert main(["index", str(files["beans"].parent), "--out", str(tmp_path / "idx"), "--model", "fake"]) == 0
    captured = capsys.readouterr()
    assert "table.csv: unsupported file type .csv" in captured.err and "empty.txt: file is empty" in captured.err
    assert "4 added, 0 updated, 0 unchanged, 2 skipped" in captured.out


def test_progress_without_a_terminal_is_plain_lines(monkeypatch, capsys):
    from rag.cli.progress import Progress

    clock = iter(range(0, 1000, 3))
    p = Progress("embedding", unit="text", tty=False, every=5.0, clock=lambda: next(clock))
    for done in range(0, 101, 10):
        p(done, 100)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("embedding 100 texts")
    assert any("/100 texts" in line and "left" in line for line in lines[1:-1])
    assert lines[-1].startswith("embedding: 100/100")
    assert 3 <= len(lines) <= 8  # periodic, not one per call


def test_progress_on_a_terminal_is_a_bar_with_an_eta(capsys):
    from rag.cli.progress import Progress

    p = Progress("embedding", unit="text", tty=True)
    for done in (0, 40, 100):
        p(done, 100)
    err = capsys.readouterr().err
    assert "100/100" in err and "<" in err  # tqdm's "elapsed<remaining"


@pytest.mark.slow
def test_add_update_remove_with_the_real_model(files, tmp_path):
    out = tmp_path / "idx"
    cfg = Config(index_dir=out)
    rag.build_index([files["beans"], files["ships"]], out, cfg)
    report = rag.add_documents([files["tomatoes"]], out, cfg)
    assert report.added == ("tomatoes",) and report.reused == 2
    r = Retriever.load(out, cfg)
    assert r.search("How much sun do tomatoes need?", k=1)[0].doc_id == "tomatoes"
    rag.remove_documents(["tomatoes"], out, cfg)
    assert [d.doc_id for d in rag.list_documents(out)] == ["beans", "ships"]
    assert Retriever.load(out, cfg).search("How much sun do tomatoes need?", k=1)[0].doc_id != "tomatoes"
