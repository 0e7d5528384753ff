"""The Milvus vector store against milvus-lite, the real embedded engine (no mock): index,
search, incremental update, removal, a missing or damaged collection, an unreachable server.
Skipped only when pymilvus / milvus-lite are not installed (``pip install 'ragqa[milvus]'``)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag.config import Config  # noqa: E402
from rag.errors import IndexCorruptedError, RagError  # noqa: E402
from rag.retrieve.retriever import Retriever  # noqa: E402
from rag.store.indexer import build_index  # noqa: E402
from rag.store.milvus import connect  # noqa: E402

CATS = """Cats are small domesticated carnivores that purr when content.

A cat sleeps for most of the day, often in warm sunny spots."""
SHIPS = """The harbour hosts container ships from many countries every week.

A container ship carries thousands of standard steel boxes across the ocean."""
BIRDS = """Swallows migrate south in autumn and return to the same nests in spring.

A swallow catches insects in flight over fields and rivers."""


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "cats.txt").write_text(CATS, encoding="utf-8")
    (d / "ships.txt").write_text(SHIPS, encoding="utf-8")
    return d


@pytest.fixture
def milvus_config(fake_config):
    return fake_config.replace(vector_store="milvus", min_tokens=0, max_tokens=30)


def manifest(out):
    return json.loads((out / "manifest.json").read_text())


def collections(out):
    rec = manifest(out)["vector_store"]
    client = connect(str(out / "milvus.db"))
    return sorted(c for c in client.list_collections() if c.startswith(rec["prefix"]))


def test_index_and_search_match_faiss(src, tmp_path, fake_embedder, milvus_config):
    out_m, out_f = tmp_path / "m", tmp_path / "f"
    build_index([src], out_m, milvus_config, embedder=fake_embedder)
    build_index([src], out_f, milvus_config.replace(vector_store="faiss"), embedder=fake_embedder)
    m = manifest(out_m)
    assert m["vector_store"]["name"] == "milvus" and m["vector_store"]["uri"] == "milvus.db"
    assert "faiss" not in m["files"] and (out_m / "milvus.db").exists()
    rm = Retriever.load(out_m, config=milvus_config, embedder=fake_embedder)  # store read from the manifest
    rf = Retriever.load(out_f, config=milvus_config, embedder=fake_embedder)
    assert type(rm.vector_store).__name__ == "MilvusStore" and type(rf.vector_store).__name__ == "FaissStore"
    for mode in ("dense", "hybrid"):
        for q in ("container ships in the harbour", "cats purr", "sleeping in the sun"):
            hm, hf = rm.search(q, k=3, mode=mode), rf.search(q, k=3, mode=mode)
            assert [p.chunk_id for p in hm] == [p.chunk_id for p in hf]
            assert np.allclose([p.score for p in hm], [p.score for p in hf], atol=1e-5)
    assert rm.search("container ships", k=1)[0].doc_id == "ships"


def test_incremental_update_and_removal(src, tmp_path, fake_embedder, milvus_config):
    out = tmp_path / "idx"
    build_index([src], out, milvus_config, embedder=fake_embedder)
    first = manifest(out)["vector_store"]["collection"]
    (src / "birds.txt").write_text(BIRDS, encoding="utf-8")
    rep = build_index([src], out, milvus_config, embedder=fake_embedder)
    assert rep.added == ("birds",) and rep.reused > 0 and rep.embedded == 2
    r = Retriever.load(out, config=milvus_config, embedder=fake_embedder)
    assert r.search("swallows migrate in autumn", k=1, mode="dense")[0].doc_id == "birds"
    assert r.vector_store.count() == len(r.data.chunks)
    (src / "cats.txt").unlink()
    rep = build_index([src], out, milvus_config, embedder=fake_embedder)
    assert rep.removed == ("cats",) and rep.embedded == 0
    r = Retriever.load(out, config=milvus_config, embedder=fake_embedder)
    assert {p.doc_id for p in r.search("cats purr", k=10, mode="dense")} == {"ships", "birds"}
    # reused vectors came back from Milvus unchanged: same scores as a fresh embedding
    q = fake_embedder.embed("swallows")
    rows = np.arange(len(r.data.chunks))
    want = fake_embedder.embed_batch([c.text for c in r.data.chunks])
    assert np.allclose(r.vector_store.get(rows), want, atol=1e-6)
    assert np.allclose(r.chunk_vectors(rows) @ q, want @ q, atol=1e-6)
    # the first generation's collection is gone; the current and the one it replaced remain
    left = collections(out)
    assert first not in left and manifest(out)["vector_store"]["collection"] in left and len(left) == 2


def test_missing_collection_is_a_clear_error(src, tmp_path, fake_embedder, milvus_config):
    out = tmp_path / "idx"
    build_index([src], out, milvus_config, embedder=fake_embedder)
    name = manifest(out)["vector_store"]["collection"]
    connect(str(out / "milvus.db")).drop_collection(name)
    r = Retriever.load(out, config=milvus_config, embedder=fake_embedder)
    with pytest.raises(IndexCorruptedError, match=f"collection {name} .* is missing.*rebuild"):
        r.search("cats", mode="dense")
    # a rebuild with the store gone re-embeds everything instead of failing
    rep = build_index([src], out, milvus_config, embedder=fake_embedder)
    assert rep.reused == 0 and rep.embedded == rep.chunks
    assert Retriever.load(out, config=milvus_config, embedder=fake_embedder).search("cats", k=1)[0].doc_id == "cats"


def test_collection_with_wrong_row_count_is_refused(src, tmp_path, fake_embedder, milvus_config):
    out = tmp_path / "idx"
    build_index([src], out, milvus_config, embedder=fake_embedder)
    name = manifest(out)["vector_store"]["collection"]
    client = connect(str(out / "milvus.db"))
    client.delete(name, ids=[0])
    client.flush(name)
    r = Retriever.load(out, config=milvus_config, embedder=fake_embedder)
    with pytest.raises(IndexCorruptedError, match="vectors for .* chunks; rebuild"):
        r.search("cats", mode="dense")


def test_unreachable_server_fails_fast_with_a_clear_error(src, tmp_path, fake_embedder, milvus_config):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    t = time.monotonic()
    with pytest.raises(RagError, match=f"cannot reach the Milvus server at {uri}"):
        build_index([src], tmp_path / "idx", milvus_config.replace(milvus_uri=uri), embedder=fake_embedder)
    assert time.monotonic() - t < 15
    assert not (tmp_path / "idx" / "manifest.json").exists()


def test_silent_server_times_out(src, tmp_path, fake_embedder, milvus_config, monkeypatch):
    """A server that accepts the connection and never answers: the error comes within the timeout."""
    import rag.store.milvus as M

    monkeypatch.setattr(M, "TIMEOUT", 2.0)
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        uri = f"http://127.0.0.1:{srv.getsockname()[1]}"
        t = time.monotonic()
        with pytest.raises(RagError, match="Milvus server at"):
            build_index([src], tmp_path / "idx", milvus_config.replace(milvus_uri=uri), embedder=fake_embedder)
        assert time.monotonic() - t < 10


def test_lite_file_in_a_missing_folder_is_a_clear_error(src, tmp_path, fake_embedder, milvus_config):
    cfg = milvus_config.replace(milvus_uri=str(tmp_path / "no" / "such" / "m.db"))
    with pytest.raises(RagError, match="folder .* does not exist"):
        build_index([src], tmp_path / "idx", cfg, embedder=fake_embedder)


def test_vector_store_from_environment():
    cfg = Config.from_env({"RAGQA_VECTOR_STORE": "milvus", "RAGQA_MILVUS_URI": "http://milvus.internal:19530"})
    assert (cfg.vector_store, cfg.milvus_uri) == ("milvus", "http://milvus.internal:19530")
    with pytest.raises(ValueError, match="vector store must be one of 'faiss', 'milvus'"):
        Config.from_env({"RAGQA_VECTOR_STORE": "pinecone"})


@pytest.mark.slow
def test_real_model_on_milvus_lite_cli(tmp_path):
    """The command line end to end with the real model: index into milvus-lite, then search and
    ask with no store flag."""
    import subprocess
    import sys

    from rag.config import PACKAGE_DIR

    article = PACKAGE_DIR / "data" / "rusi-2017-02-22-us-russia-reset.txt"
    out = tmp_path / "idx"
    env = {"RAGQA_VECTOR_STORE": "milvus", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(PACKAGE_DIR.parent)}
    run = subprocess.run([sys.executable, "-m", "rag.cli", "index", str(article), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    assert manifest(out)["vector_store"]["name"] == "milvus"
    env.pop("RAGQA_VECTOR_STORE")
    run = subprocess.run([sys.executable, "-m", "rag.cli", "search", "Who is Antonov?", "--index", str(out),
                          "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    hits = json.loads(run.stdout)
    assert hits and "Antonov" in " ".join(h["text"] for h in hits[:3])


def test_lite_file_held_by_another_process_is_a_clear_error(src, tmp_path, fake_embedder, milvus_config):
    import subprocess
    import sys

    db = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; "
                               f"MilvusClient(uri={str(db)!r}); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(RagError, match="one process at a time"):
            build_index([src], tmp_path / "idx", milvus_config.replace(milvus_uri=str(db)), embedder=fake_embedder)
    finally:
        holder.kill()
        holder.wait()


def test_damaged_lite_database_is_a_clear_error(src, tmp_path, fake_embedder, milvus_config):
    """milvus-lite's data and index files overwritten with garbage (in a fresh process: this one
    may hold the database open)."""
    import subprocess
    import sys

    out = tmp_path / "idx"
    build_index([src], out, milvus_config, embedder=fake_embedder)
    code = ("import sys; from pathlib import Path; from rag.retrieve.retriever import Retriever; "
            "from rag.config import Config; sys.path.insert(0, 'tests'); from conftest import FakeEmbedder; "
            f"db = Path({str(out / 'milvus.db')!r}); "
            "[f.write_bytes(b'x' * f.stat().st_size) for f in db.rglob('*') if f.is_file() and "
            "f.suffix in ('.parquet', '.idx')]; "
            f"r = Retriever.load({str(out)!r}, config=Config(model='fake'), embedder=FakeEmbedder()); "
            "r.search('cats', mode='dense')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(Path(__file__).resolve().parent.parent))
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "RagError" in last or "IndexCorruptedError" in last, run.stderr[-2000:]
    assert "milvus" in last.lower()
