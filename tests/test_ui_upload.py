"""Adding documents from the chat (``ui.upload.Indexer``): real indexes on disk (the fake embedder
keeps it fast), real files, the real incremental indexer and store. What must hold: refusals name
the file and the reason; nothing indexed is replaced or lost; a failed build leaves the index and
the served assistant exactly as they were; the bundled article's index is never written."""

from __future__ import annotations

import hashlib

import pytest

from rag import Assistant, Retriever, build_index
from rag.config import Config
from ui.live import Live
from ui.upload import Indexer

TOMATOES = "# Growing tomatoes\n\nTomatoes need six hours of direct sun a day.\n\nWater tomatoes deeply twice a week.\n"
BEES = "Honey bees communicate the location of flowers with a waggle dance.\n\nA worker bee lives six weeks.\n"


def _index(tmp_path, embedder, name="index", files=None):
    src = tmp_path / f"{name}-src"
    src.mkdir()
    for fname, text in (files or {"tomatoes.md": TOMATOES}).items():
        (src / fname).write_text(text, encoding="utf-8")
    config = Config(model="fake", index_dir=tmp_path / name)
    build_index([src], config.index_dir, config, embedder=embedder)
    return Assistant(Retriever.load(config.index_dir, config, embedder=embedder), "extractive", config)


def _upload(tmp_path, files: dict) -> list[tuple[str, str]]:
    """Files as Gradio hands them over: somewhere in a temporary folder, with the user's name."""
    up = tmp_path / "gradio-tmp"
    up.mkdir(exist_ok=True)
    out = []
    for name, data in files.items():
        p = up / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        out.append((str(p), name))
    return out


def _snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _run(indexer, files):
    job = indexer.submit(files)
    assert job.finished.wait(120), "upload did not finish"
    return job


def test_upload_adds_documents_and_the_chat_answers_from_them(tmp_path, fake_embedder):
    assistant = _index(tmp_path, fake_embedder)
    live = Live(assistant, examples=[])
    indexer = Indexer(live, assistant.config.index_dir, assistant.config)
    job = _run(indexer, _upload(tmp_path, {"bees.txt": BEES}))
    assert job.state == "done" and job.added == [("bees.txt", "bees")] and job.refused == []
    served = live.snapshot()[0]
    assert served is not assistant and set(served.documents) == {"tomatoes", "bees"}
    ans = served.ask("How do honey bees communicate the location of flowers?")
    assert not ans.abstained and ans.citations[0].doc_id == "bees"
    assert (assistant.config.index_dir / "uploads" / "bees.txt").read_text(encoding="utf-8") == BEES
    assert served.documents["bees"].source_path == str(assistant.config.index_dir / "uploads" / "bees.txt")
    assert live.labels.header == "Ask your documents (2)"  # labels follow the index
    assert live.examples and all(not served.ask(q, generator="extractive").abstained for q in live.examples)


def test_refusals_name_the_file_and_the_reason_and_nothing_changes(tmp_path, fake_embedder):
    assistant = _index(tmp_path, fake_embedder)
    before = _snapshot(assistant.config.index_dir)
    live = Live(assistant, examples=[])
    indexer = Indexer(live, assistant.config.index_dir, assistant.config, max_mb=0.001)
    job = _run(indexer, _upload(tmp_path, {
        "tool.exe": b"MZ\x90\x00", "big.txt": "word " * 400, "empty.md": b"", "binary.txt": b"\x00\x01\x02" * 50,
        "again.md": TOMATOES, "fake.pdf": b"%PDF-1.4 not really", "fake.docx": b"not a zip"}))
    reasons = dict(job.refused)
    assert reasons["tool.exe"].startswith(".exe files are not accepted")
    assert reasons["big.txt"].startswith("the file is 0.0 MB, over the 0.001 MB limit")
    assert reasons["empty.md"] == "the file is empty"
    assert "binary" in reasons["binary.txt"]
    assert reasons["again.md"] == "already in the index as “Growing tomatoes”"
    assert "not a readable PDF" in reasons["fake.pdf"] and "not a readable .docx" in reasons["fake.docx"]
    assert job.state == "failed" and job.added == []
    assert _snapshot(assistant.config.index_dir) == before  # the index files are untouched
    assert not any((assistant.config.index_dir / "uploads").iterdir())  # no copy left behind
    assert live.snapshot()[0] is assistant


def test_same_name_as_an_indexed_document_is_added_beside_it_not_over_it(tmp_path, fake_embedder):
    assistant = _index(tmp_path, fake_embedder)
    live = Live(assistant, examples=[])
    job = _run(Indexer(live, assistant.config.index_dir, assistant.config),
               _upload(tmp_path, {"tomatoes.md": "# Tomato varieties\n\nSan Marzano is a plum tomato.\n"}))
    assert job.state == "done"
    docs = live.snapshot()[0].documents
    assert docs["tomatoes"].title == "Growing tomatoes"  # the indexed one is kept
    assert docs["tomatoes-2"].title == "Tomato varieties"


def test_a_failed_build_loses_nothing(tmp_path, fake_embedder):
    """The embedder dies while embedding the upload: the committed index, the served assistant
    and the folder are exactly as before, and the error is reported."""
    assistant = _index(tmp_path, fake_embedder)
    before = _snapshot(assistant.config.index_dir)
    live = Live(assistant, examples=[])

    class Dying(type(fake_embedder)):
        def embed_many(self, texts, batch_size=32, progress=None):
            raise OSError(28, "No space left on device")

    broken = Assistant(Retriever.load(assistant.config.index_dir, assistant.config, embedder=Dying()),
                       "extractive", assistant.config)
    live = Live(broken, examples=[])
    job = _run(Indexer(live, assistant.config.index_dir, assistant.config), _upload(tmp_path, {"bees.txt": BEES}))
    assert job.state == "failed" and job.error == "No space left on device" and job.added == []
    assert _snapshot(assistant.config.index_dir) == before
    assert list((assistant.config.index_dir / "uploads").iterdir()) == []
    assert live.snapshot()[0] is broken
    assert set(Retriever.load(assistant.config.index_dir, assistant.config, embedder=fake_embedder).documents) == {
        "tomatoes"}


def test_bundled_mode_uploads_into_a_separate_index(tmp_path, fake_embedder):
    """Serving the bundled article (here: a stand-in index marked bundled), uploads go into the
    upload index, which starts with the served documents; the served index is never written."""
    article = _index(tmp_path, fake_embedder, "article", {"article.txt": "The article says that ships sail.\n"})
    before = _snapshot(article.config.index_dir)
    live = Live(article, bundled=True, examples=[])
    target = tmp_path / "uploads-index"
    job = _run(Indexer(live, target, article.config), _upload(tmp_path, {"bees.txt": BEES}))
    assert job.state == "done"
    assert _snapshot(article.config.index_dir) == before
    served = live.snapshot()[0]
    assert set(served.documents) == {"article", "bees"} and served.config.index_dir == target
    assert not live.bundled and live.labels.header == "Ask your documents (2)"
    # a later session starting from the article again adds to what the upload index already holds
    live2 = Live(article, bundled=True, examples=[])
    job = _run(Indexer(live2, target, article.config), _upload(tmp_path, {"t.md": TOMATOES}))
    assert job.state == "done" and set(live2.snapshot()[0].documents) == {"article", "bees", "t"}


def test_upload_index_that_is_not_an_index_is_refused(tmp_path, fake_embedder):
    article = _index(tmp_path, fake_embedder, "article", {"article.txt": "The article says that ships sail.\n"})
    target = tmp_path / "somebody-elses-folder"
    target.mkdir()
    (target / "thesis.tex").write_text("mine")
    job = _run(Indexer(Live(article, bundled=True, examples=[]), target, article.config),
               _upload(tmp_path, {"bees.txt": BEES}))
    assert job.state == "failed" and "is not a ragqa index" in job.error
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]


def _docx(path, paragraphs, title="Leave rules", author="HR team"):
    """A real Word file, written by python-docx: (style, text) paragraphs, title and author set."""
    import docx

    d = docx.Document()
    d.core_properties.title, d.core_properties.author = title, author
    for style, text in paragraphs:
        d.add_paragraph(text, style=style or None)
    d.save(path)


def test_docx_upload(tmp_path, fake_embedder):
    from rag.ingest.formats import load_document

    f = tmp_path / "leave.docx"
    _docx(f, [("Title", "Leave rules"), ("Heading 1", "Sick leave"),
              ("", "Sick days need a doctor's note after three days."), ("", "Ask HR & your lead.")])
    doc = load_document(f)
    assert (doc.title, doc.author) == ("Leave rules", "HR team")
    assert [(p.text, p.section) for p in doc.paragraphs] == [
        ("Sick days need a doctor's note after three days.", "Sick leave"), ("Ask HR & your lead.", "Sick leave")]
    assistant = _index(tmp_path, fake_embedder)
    live = Live(assistant, examples=[])
    job = _run(Indexer(live, assistant.config.index_dir, assistant.config),
               [(str(f), "leave.docx")])
    assert job.state == "done" and job.added == [("leave.docx", "Leave rules")]
    ans = live.snapshot()[0].ask("What do sick days need?")
    assert not ans.abstained and ans.citations[0].doc_id == "leave"


@pytest.mark.parametrize("content, reason", [
    (b"PK\x03\x04garbage", "not a readable .docx"),
])
def test_broken_docx_is_refused_by_name(tmp_path, content, reason):
    from rag.errors import IngestError
    from rag.ingest.formats import load_document

    f = tmp_path / "broken.docx"
    f.write_bytes(content)
    with pytest.raises(IngestError, match=reason) as info:
        load_document(f)
    assert "broken.docx" in str(info.value)
