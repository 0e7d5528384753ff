"""The index on disk: build, manifest, load checks, crash safety, incremental rebuilds, locking.
All with the fake embedder in temporary directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from rag.config import Config
from rag.errors import (
    IndexCorruptedError,
    IndexLockedError,
    IndexNotFoundError,
    IngestError,
    ManifestMismatchError,
    RagError,
    SchemaVersionError,
)
from rag.retrieve.retriever import Retriever
from rag.store import disk as store
from rag.store.indexer import build_index
from tests.samples import CATS, SHIPS, write_sources

QUERY = "ships in the harbour"


@pytest.fixture
def sources(tmp_path):
    return write_sources(tmp_path / "src")


@pytest.fixture
def built(sources, tmp_path, fake_embedder, fake_config):
    out = tmp_path / "idx"
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    return out, report


def results(path, embedder, query=QUERY, mode="hybrid"):
    r = Retriever.load(path, config=Config(model="fake"), embedder=embedder)
    return [(p.doc_id, p.paragraphs, round(p.score, 6)) for p in r.search(query, k=4, mode=mode)]


def manifest_of(path):
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(path, manifest):
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


# -- build and manifest -------------------------------------------------------------------------------

def test_build_reports_counts(built):
    _, report = built
    assert (report.documents, report.chunks, report.embedded, report.reused) == (2, 2, 2, 0)
    assert sorted(report.added) == ["cats", "ships"]


def test_manifest_fields(built):
    out, _ = built
    m = manifest_of(out)
    assert m["schema_version"] == store.SCHEMA_VERSION
    assert (m["model"], m["dim"], m["normalized"], m["encoding"]) == ("fake", 64, True, "cl100k_base")
    assert m["chunking"] == {"max_tokens": 180, "min_tokens": 80, "overlap": 0}
    assert m["counts"] == {"documents": 2, "paragraphs": 6, "chunks": 2}
    assert len(m["content_hash"]) == 64
    # since schema 4: no vectors-*.npy copy of what the FAISS file holds, one SQLite text store instead
    # of chunks-*.jsonl + documents-*.json (each text stored once), float16 sentence vectors in .npy
    assert set(m["files"]) == {"text", "faiss", "lexical", "sentences", "sentence_offsets"}
    assert m["vector_store"] == {"name": "faiss", "kind": "flat", "codec": "float32"}
    assert m["storage"] == "exact" and m["sentence_format"] == "float16"  # schema 5's default (compact: opt-in)


def test_manifest_files_exist_with_recorded_sizes(built):
    out, _ = built
    for role, info in manifest_of(out)["files"].items():
        assert (out / info["name"]).exists(), role
        if role != "lexical":
            assert (out / info["name"]).stat().st_size == info["size"]
            assert len(info["sha256"]) == 64
    lexical = manifest_of(out)["files"]["lexical"]
    on_disk = {p.name: p.stat().st_size for p in (out / lexical["name"]).iterdir()}
    assert {n: f["size"] for n, f in lexical["files"].items()} == on_disk and len(on_disk) >= 5
    assert lexical["size"] == sum(on_disk.values()) > 0


def test_content_hash_is_sources_hash(built, sources):
    from rag.ingest.formats import load_document

    out, _ = built
    docs = [load_document(sources / "cats.txt"), load_document(sources / "ships.txt")]
    assert manifest_of(out)["content_hash"] == store.sources_hash(docs)


def test_vectors_are_normalized(built):
    from rag.store.vectorstore import open_store

    data = store.load(built[0])
    vecs = open_store(data).get(np.arange(len(data.chunks)))
    assert vecs.shape == (2, 64) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_load_and_search(built, fake_embedder):
    hits = results(built[0], fake_embedder)
    assert hits[0][0] == "ships"


def test_search_returns_documents_and_titles(built, fake_embedder):
    r = Retriever.load(built[0], config=Config(model="fake"), embedder=fake_embedder)
    p = r.search("kittens open their eyes", k=1)[0]
    assert (p.doc_id, p.title) == ("cats", "cats")
    assert r.documents["cats"].text[p.start : p.end] == p.text


def test_directory_holds_only_committed_and_previous_generation(built, sources, fake_embedder, fake_config):
    out, _ = built
    build_index([sources], out, fake_config, embedder=fake_embedder, incremental=False)
    build_index([sources], out, fake_config, embedder=fake_embedder, incremental=False)
    m = manifest_of(out)
    names = {info["name"] for info in m["files"].values()} | {n.split("/")[0] for n in m["previous_files"]}
    assert len(names) == 2 * len(m["files"])
    assert {p.name for p in out.iterdir()} == names | {"manifest.json", ".lock", ".ragqa-index"}


def test_nothing_to_index_raises(tmp_path, fake_embedder, fake_config):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match="nothing to index"):
        build_index([empty], tmp_path / "idx", fake_config, embedder=fake_embedder)


def test_missing_source_raises(tmp_path, fake_embedder, fake_config):
    with pytest.raises(IngestError, match=r"nowhere: no such file or directory"):
        build_index([tmp_path / "nowhere"], tmp_path / "idx", fake_config, embedder=fake_embedder)


def test_unreadable_file_in_folder_skipped_and_reported(sources, tmp_path, fake_embedder, fake_config):
    (sources / "broken.txt").write_bytes(b"\x00\x01binary\x00")
    report = build_index([sources], tmp_path / "idx", fake_config, embedder=fake_embedder)
    assert report.documents == 2
    assert any("broken.txt" in path and "binary" in reason for path, reason in report.skipped)


# -- load checks --------------------------------------------------------------------------------------

def test_model_mismatch_refused(built, fake_embedder):
    with pytest.raises(ManifestMismatchError, match=r"built with model 'fake', but the configured model is 'other'"):
        Retriever.load(built[0], config=Config(model="other"), embedder=fake_embedder)


def test_newer_schema_refused(built, fake_embedder):
    out, _ = built
    write_manifest(out, manifest_of(out) | {"schema_version": 99})
    with pytest.raises(SchemaVersionError, match="newer"):
        Retriever.load(out, config=Config(model="fake"), embedder=fake_embedder)


def test_older_schema_refused(built):
    out, _ = built
    write_manifest(out, manifest_of(out) | {"schema_version": 0})
    with pytest.raises(SchemaVersionError, match="old schema 0"):
        store.load(out)


def test_invalid_manifest_json_refused(built):
    out, _ = built
    (out / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptedError, match="not valid JSON"):
        store.load(out)


def test_truncated_faiss_file_refused(built, fake_embedder):
    out, _ = built
    f = out / manifest_of(out)["files"]["faiss"]["name"]
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(IndexCorruptedError, match="truncated"):
        Retriever.load(out, config=Config(model="fake"), embedder=fake_embedder)


def test_missing_text_store_refused(built):
    out, _ = built
    (out / manifest_of(out)["files"]["text"]["name"]).unlink()
    with pytest.raises(IndexCorruptedError, match="missing"):
        store.load(out)


def test_changed_vectors_file_fails_checksum(built):
    out, _ = built
    f = out / manifest_of(out)["files"]["faiss"]["name"]
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    f.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptedError, match="checksum"):
        store.load(out)


def test_missing_index_dir_refused(tmp_path, fake_embedder):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        Retriever.load(tmp_path / "nothing-here", config=Config(model="fake"), embedder=fake_embedder)


# -- crash safety ---------------------------------------------------------------------------------

class ExplodingEmbedder:
    """Embeds the first batch, reports progress, then fails: a build dying midway."""

    name, dim = "fake", 64

    def __init__(self, inner):
        self.inner = inner

    def embed_many(self, texts, batch_size=32, progress=None):
        self.inner.embed_batch(texts[:1])
        if progress:
            progress(1)
        raise RuntimeError("embedding backend crashed")


def test_failed_build_leaves_old_index_answering(built, sources, fake_embedder, fake_config):
    out, _ = built
    before_manifest, before = manifest_of(out), results(out, fake_embedder)
    (sources / "new.txt").write_text("Entirely new notes about ships and harbours.", encoding="utf-8")
    with pytest.raises(RuntimeError, match="crashed"):
        build_index([sources], out, fake_config, embedder=ExplodingEmbedder(fake_embedder), incremental=False)
    assert manifest_of(out) == before_manifest
    assert results(out, fake_embedder) == before


def test_stale_generation_files_removed(built, sources, fake_embedder, fake_config):
    """Files a killed build journalled are removed; look-alikes nobody listed are not (issue #12)."""
    from rag.store import ownership

    out, _ = built
    stale = ["vectors-deadbeef.npy", "chunks-deadbeef.jsonl", "faiss-deadbeef.index", "manifest.json.deadbeef.tmp"]
    for name in stale:
        (out / name).write_bytes(b"left by a killed build")
    (out / "lexical-deadbeef").mkdir()
    (out / "lexical-deadbeef" / "params.index.json").write_text("{}", encoding="utf-8")
    ownership.journal(out, stale + ["lexical-deadbeef"])
    (out / "vectors-cafebabe.npy").write_bytes(b"looks generated, never listed")
    (out / "my-notes.txt").write_text("not ours", encoding="utf-8")
    build_index([sources], out, fake_config, embedder=fake_embedder, incremental=False)
    left = {p.name for p in out.iterdir()}
    assert not left & set(stale + ["lexical-deadbeef"])
    assert {"my-notes.txt", "vectors-cafebabe.npy"} <= left


def test_sigkill_during_build_leaves_old_index(built, sources, tmp_path, fake_embedder):
    out, _ = built
    before_manifest, before = manifest_of(out), results(out, fake_embedder)
    script = tmp_path / "slow_build.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from rag.config import Config
        from rag.store.indexer import build_index

        class SlowEmbedder:
            name, dim = "fake", 64
            def embed_many(self, texts, batch_size=32, progress=None):
                print("embedding", flush=True)
                time.sleep(120)
                raise SystemExit("should have been killed")

        build_index([sys.argv[1]], sys.argv[2], Config(model="fake"), embedder=SlowEmbedder(), incremental=False)
        print("committed", flush=True)
    """), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(sources), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "embedding", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert manifest_of(out) == before_manifest
    assert results(out, fake_embedder) == before
    with store.write_lock(out, wait=1, notify=None):  # the dead writer's lock is gone
        pass


# -- incremental rebuilds -------------------------------------------------------------------------

def test_rebuild_unchanged_embeds_nothing(built, sources, fake_embedder, fake_config):
    out, _ = built
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    assert (report.embedded, report.reused) == (0, 2)
    assert report.added == report.changed == report.removed == ()


def test_rebuild_unchanged_answers_identically(built, sources, fake_embedder, fake_config):
    out, _ = built
    before = results(out, fake_embedder)
    build_index([sources], out, fake_config, embedder=fake_embedder)
    assert results(out, fake_embedder) == before


def test_changed_file_reembeds_only_its_chunks(built, sources, fake_embedder, fake_config):
    out, _ = built
    (sources / "ships.txt").write_text(SHIPS + "\n\nFerries also use the harbour at night.", encoding="utf-8")
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    assert report.changed == ("ships",)
    ships_chunks = sum(c.doc_id == "ships" for c in store.load(out).chunks)
    assert (report.embedded, report.reused) == (ships_chunks, 1)


def test_changed_file_is_searchable(built, sources, fake_embedder, fake_config):
    out, _ = built
    (sources / "ships.txt").write_text("Ferries cross the fjord at dawn.", encoding="utf-8")
    build_index([sources], out, fake_config, embedder=fake_embedder)
    r = Retriever.load(out, config=Config(model="fake"), embedder=fake_embedder)
    assert "fjord" in r.search("ferries fjord dawn", k=1)[0].text


def test_removed_file_dropped(built, sources, fake_embedder, fake_config):
    out, _ = built
    (sources / "ships.txt").unlink()
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    assert report.removed == ("ships",)
    assert report.embedded == 0
    assert {c.doc_id for c in store.load(out).chunks} == {"cats"}


def test_added_file_embeds_only_new_chunks(built, sources, fake_embedder, fake_config):
    out, _ = built
    (sources / "birds.txt").write_text("Birds migrate south in autumn.", encoding="utf-8")
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    assert (report.added, report.embedded, report.reused) == (("birds",), 1, 2)


def test_changed_chunking_settings_reembed_everything(built, sources, fake_embedder):
    out, _ = built
    report = build_index([sources], out, Config(model="fake", min_tokens=0), embedder=fake_embedder)
    assert report.reused == 0 and report.embedded == 6


def test_duplicate_documents_indexed_once(sources, tmp_path, fake_embedder, fake_config):
    (sources / "cats-copy.txt").write_text(CATS, encoding="utf-8")
    report = build_index([sources], tmp_path / "idx", fake_config, embedder=fake_embedder)
    assert report.documents == 2
    assert [r for _, r in report.skipped if r.startswith("duplicate of")]
    assert sum(c.text.startswith("Cats are small") for c in store.load(tmp_path / "idx").chunks) == 1


def test_same_stem_in_two_folders_kept_apart(tmp_path, fake_embedder, fake_config):
    for sub, text in (("a", CATS), ("b", SHIPS)):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "notes.txt").write_text(text, encoding="utf-8")
    report = build_index([tmp_path / "a", tmp_path / "b"], tmp_path / "idx", fake_config, embedder=fake_embedder)
    assert sorted(d["doc_id"] for d in report.manifest["documents"]) == ["notes", "notes-2"]


# -- permissions and locking ----------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory_refused(sources, tmp_path, fake_embedder, fake_config):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(RagError, match="not writable"):
            build_index([sources], out, fake_config, embedder=fake_embedder)
    finally:
        out.chmod(0o755)


def test_unwritable_directory_message(sources, tmp_path, fake_embedder, fake_config, monkeypatch):
    """The same check as above, runnable as root: os.access is what write_lock consults."""
    monkeypatch.setattr(store.os, "access", lambda path, mode: False)
    with pytest.raises(RagError, match=r"index directory .*ro is not writable; choose another with --out"):
        build_index([sources], tmp_path / "ro", fake_config, embedder=fake_embedder)


def test_lock_times_out_with_index_locked_error(tmp_path):
    with store.write_lock(tmp_path / "idx", notify=None):
        t0 = time.monotonic()
        with pytest.raises(IndexLockedError, match="another ragqa process is writing the index"):
            with store.write_lock(tmp_path / "idx", wait=0.5, notify=None):
                pass
        assert 0.4 < time.monotonic() - t0 < 5


def test_lock_free_again_after_release(tmp_path):
    with store.write_lock(tmp_path / "idx", notify=None):
        pass
    with store.write_lock(tmp_path / "idx", wait=0, notify=None):
        pass


def test_build_waits_for_lock_holder(sources, tmp_path, fake_embedder, fake_config, capsys):
    out = tmp_path / "idx"
    held, release = threading.Event(), threading.Event()

    def holder():
        with store.write_lock(out, notify=None):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    threading.Timer(0.6, release.set).start()
    t0 = time.monotonic()
    report = build_index([sources], out, fake_config, embedder=fake_embedder)
    t.join()
    assert time.monotonic() - t0 >= 0.5
    assert report.documents == 2
    assert "waiting for another ragqa process" in capsys.readouterr().out


# -- the bundled index's self-repair --------------------------------------------------------------

def test_ensure_bundled_rebuilds_stale_index(tmp_path, monkeypatch, fake_embedder):
    from rag import config as config_mod
    from rag.ingest.formats import load_bundled
    from rag.store.indexer import ensure_bundled_index as ensure_bundled

    monkeypatch.setattr(config_mod, "default_index_dir", lambda: tmp_path / "bundled")
    cfg = Config(model="fake")
    first = ensure_bundled(cfg, fake_embedder)
    assert first.path == tmp_path / "bundled"
    write_manifest(first.path, first.manifest | {"content_hash": "stale"})
    again = ensure_bundled(cfg, fake_embedder)
    assert again.manifest["content_hash"] == store.sources_hash([load_bundled()])
    assert again.manifest["generation"] != first.manifest["generation"]


def test_ensure_bundled_reuses_fresh_index(tmp_path, monkeypatch, fake_embedder):
    from rag import config as config_mod
    from rag.store.indexer import ensure_bundled_index as ensure_bundled

    monkeypatch.setattr(config_mod, "default_index_dir", lambda: tmp_path / "bundled")
    cfg = Config(model="fake")
    first = ensure_bundled(cfg, fake_embedder)
    assert ensure_bundled(cfg, fake_embedder).manifest["generation"] == first.manifest["generation"]


def test_ensure_bundled_rebuilds_corrupted_index(tmp_path, monkeypatch, fake_embedder):
    from rag import config as config_mod
    from rag.store.indexer import ensure_bundled_index as ensure_bundled

    monkeypatch.setattr(config_mod, "default_index_dir", lambda: tmp_path / "bundled")
    first = ensure_bundled(Config(model="fake"), fake_embedder)
    (first.path / first.manifest["files"]["text"]["name"]).unlink()
    assert len(ensure_bundled(Config(model="fake"), fake_embedder).chunks) == len(first.chunks)


def test_damaged_text_store_is_a_clear_error(built):
    """Same size, not a database: caught by the checksum, and by SQLite when hashing is skipped."""
    out, _ = built
    f = out / manifest_of(out)["files"]["text"]["name"]
    f.write_bytes(b"\x00" * f.stat().st_size)
    with pytest.raises(IndexCorruptedError, match="checksum"):
        store.load(out)
    with pytest.raises(IndexCorruptedError, match="cannot be read"):
        store.load(out, verify_hashes=False)


def test_text_store_reads_rows_on_demand(built):
    data = store.load(built[0])
    assert type(data.chunks).__name__ == "ChunkTable" and len(data.chunks) == 2
    for c in data.chunks:
        assert c.text == data.documents[c.doc_id].text[c.start : c.end] and c.text
    assert data.chunks[-1] == list(data.chunks)[-1]
    assert list(data.documents) == ["cats", "ships"] and "cats" in data.documents and "dogs" not in data.documents
    with pytest.raises(IndexError):
        data.chunks[2]


def test_interrupted_build_resumes_without_re_embedding(tmp_path, fake_embedder, fake_config, monkeypatch):
    """Killed after the first checkpoint slice: the re-run embeds only the texts not yet embedded,
    and the result equals an uninterrupted build."""
    from rag.store import checkpoint

    monkeypatch.setattr(checkpoint, "SLICE", 4)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"d{i}.txt").write_text(f"Document {i} talks about topic{i} and subject{i}.\n\nIt has a second "
                                       f"paragraph about matter{i}.", encoding="utf-8")
    cfg = fake_config.replace(min_tokens=0, max_tokens=12, sentence_vectors="query")  # chunks only: easy counts

    class Dies:
        name, dim, calls = "fake", 64, []

        def embed_many(self, texts, batch_size=32, progress=None):
            self.calls.append(len(texts))
            if len(self.calls) == 2:
                raise KeyboardInterrupt  # the user pressed Ctrl-C during the second slice
            return fake_embedder.embed_batch(texts)

    out = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build_index([src], out, cfg, embedder=Dies())
    assert not (out / "manifest.json").exists() and Dies.calls == [4, 4]  # one slice kept, the second lost

    class Counts:
        name, dim, texts = "fake", 64, 0

        def embed_many(self, texts, batch_size=32, progress=None):
            Counts.texts += len(texts)
            return fake_embedder.embed_batch(texts)

    report = build_index([src], out, cfg, embedder=Counts())
    assert report.chunks > 8 and Counts.texts == report.chunks - 4
    assert not list(out.glob(".embed-checkpoint-*")), "checkpoint removed once committed"
    whole = build_index([src], tmp_path / "whole", cfg, embedder=fake_embedder, incremental=False)
    a, b = store.load(out), store.load(whole.path)
    from rag.store.vectorstore import open_store

    rows = np.arange(len(a.chunks))
    assert [c.text for c in a.chunks] == [c.text for c in b.chunks]
    assert np.allclose(open_store(a).get(rows), open_store(b).get(rows))


def test_interrupted_stored_sentence_build_resumes(tmp_path, fake_embedder, fake_config, monkeypatch):
    """Interrupted while embedding sentences: the re-run embeds no chunk again and only the
    sentences not yet checkpointed; its sentence vectors equal an uninterrupted build's."""
    from rag.store import checkpoint

    monkeypatch.setattr(checkpoint, "SLICE", 3)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"d{i}.txt").write_text(f"Topic{i} is one thing. Subject{i} is another. Matter{i} is a third.",
                                       encoding="utf-8")
    cfg = fake_config.replace(min_tokens=0, max_tokens=40)
    seen = []

    class Dies:
        name, dim = "fake", 64

        def embed_many(self, texts, batch_size=32, progress=None):
            seen.append(list(texts))
            if len(seen) == 3:
                raise KeyboardInterrupt  # the first sentence slice went through, not the second
            return fake_embedder.embed_batch(texts)

    out = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build_index([src], out, cfg, embedder=Dies())
    done = {t for batch in seen[:2] for t in batch}
    again = []

    class Counts:
        name, dim = "fake", 64

        def embed_many(self, texts, batch_size=32, progress=None):
            again.extend(texts)
            return fake_embedder.embed_batch(texts)

    build_index([src], out, cfg, embedder=Counts())
    assert again and not done & set(again), "nothing embedded twice"
    whole = build_index([src], tmp_path / "whole", cfg, embedder=fake_embedder)
    a, b = store.load(out), store.load(whole.path)
    np.testing.assert_array_equal(np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors))
    np.testing.assert_array_equal(np.asarray(a.sentence_offsets), np.asarray(b.sentence_offsets))
