"""Schema 5's compact storage (issue 13, ``Config.storage="compact"``): 6-bit sentence vectors with a
scale per row (rag.store.quant) and 8-bit scalar-quantized FAISS chunk vectors over a fixed range
(rag.store.vectors); the default "exact" storage (float16 sentences, float32 FAISS, as schema 4), and
schema 4 indexes still load, search and grow."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.errors import IndexCorruptedError
from rag.retrieve.retriever import Retriever
from rag.store import disk as store
from rag.store import quant
from rag.store.indexer import add_documents, build_index, remove_documents
from rag.store.vectorstore import open_store
from tests.samples import write_sources

BEES = "Bees make honey in their hives. A queen bee lays the eggs. Worker bees gather nectar from flowers."


def _unit(n, dim, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# -- the sentence format ---------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [384, 64, 7, 1])
def test_round_trip_error_is_at_most_half_a_step(dim):
    v = _unit(200, dim)
    raw = quant.quantize(v)
    assert raw.dtype == np.uint8 and raw.shape == (200, quant.row_bytes(dim))
    back = quant.dequantize(raw, dim)
    step = np.abs(v).max(axis=1, keepdims=True) / quant.MAX_CODE
    assert np.all(np.abs(back - v) <= step / 2 * (1 + 1e-5) + 1e-7)
    np.testing.assert_array_equal(np.abs(back).max(axis=1), np.abs(v).max(axis=1))  # the largest is exact
    if dim == 384:
        assert quant.row_bytes(dim) == 292  # vs 768 bytes as float16
        cos = np.sum(back * v, axis=1) / np.linalg.norm(back, axis=1)
        assert cos.min() > 0.999


def test_requantizing_is_exact_and_zero_rows_stay_zero():
    v = _unit(50, 384, seed=1)
    v[3] = 0.0
    raw = quant.quantize(v)
    np.testing.assert_array_equal(quant.quantize(quant.dequantize(raw, 384)), raw)
    assert not quant.dequantize(raw, 384)[3].any()


def test_packed_sentences_read_like_a_float_array():
    v = _unit(10, 64, seed=2)
    ps = quant.PackedSentences(quant.quantize(v), 64)
    assert ps.shape == (10, 64) and len(ps) == 10 and ps.dtype == np.float32
    np.testing.assert_allclose(ps[2:5], np.asarray(ps)[2:5])
    assert ps[4].shape == (64,)
    np.testing.assert_allclose(np.asarray(ps), v, atol=np.abs(v).max() / quant.MAX_CODE)
    with pytest.raises(ValueError):
        quant.PackedSentences(quant.quantize(v), 32)  # rows of another width


def test_pack_file_packs_in_blocks_and_copies_reused_rows_as_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(quant, "BLOCK_ROWS", 7)  # many blocks, pages released along the way
    v = _unit(300, 16, seed=3)
    np.save(tmp_path / "s.npy", v.astype(np.float16))
    old = quant.PackedSentences(quant.quantize(_unit(40, 16, seed=4)), 16)
    runs = [(10, 2, 3), (13, 5, 4), (200, 0, 1), (250, 10, 20)]
    out = quant.pack_file(tmp_path / "s.npy", tmp_path / "p.npy", runs, old)
    got = np.load(out)
    assert not (tmp_path / "s.npy").exists()
    np.testing.assert_array_equal(got[10:17], old.raw[2:9])  # two runs that continue each other
    np.testing.assert_array_equal(got[200], old.raw[0])
    np.testing.assert_array_equal(got[250:270], old.raw[10:30])  # longer than a block
    f16 = np.asarray(old)[10:30].astype(np.float16)  # a schema 4 source: float16, quantized on the way
    np.save(tmp_path / "s.npy", v.astype(np.float16))
    got16 = np.load(quant.pack_file(tmp_path / "s.npy", tmp_path / "q.npy", [(250, 0, 20)], f16))
    np.testing.assert_array_equal(got16[250:270], quant.quantize(f16.astype(np.float32)))
    keep = np.r_[0:10, 17:200, 201:250, 270:300]
    np.testing.assert_array_equal(got[keep], quant.quantize(v.astype(np.float16).astype(np.float32)[keep]))


# -- indexes ---------------------------------------------------------------------------------------

@pytest.fixture
def sources(tmp_path):
    return write_sources(tmp_path / "src")


@pytest.fixture
def cfg(fake_config):
    # several chunks a file; sentences "stored"; compact storage
    return fake_config.replace(max_tokens=20, min_tokens=0, storage="compact")


def _sentence_texts(data, row):
    from rag.ingest.chunking import indexed_sentences

    c = data.chunks[row]
    return indexed_sentences(data.documents[c.doc_id], c)


def test_new_index_is_schema_5_compact(sources, tmp_path, fake_embedder, cfg):
    import faiss

    out = tmp_path / "idx"
    build_index([sources], out, cfg, embedder=fake_embedder)
    data = store.load(out)
    m = data.manifest
    assert m["schema_version"] == store.SCHEMA_VERSION == 5 and m["sentence_format"] == quant.FORMAT
    assert m["vector_store"] == {"name": "faiss", "kind": "flat", "codec": "sq8"}
    assert isinstance(data.sentence_vectors, quant.PackedSentences)
    assert isinstance(data.sentence_vectors.raw, np.memmap), "memory-mapped, not loaded"
    n = int(data.sentence_offsets[-1])
    assert m["files"]["sentences"]["size"] < n * quant.row_bytes(fake_embedder.dim) + 200  # + the .npy header
    fx = open_store(data).index
    assert isinstance(fx, faiss.IndexScalarQuantizer)
    for row in range(len(data.chunks)):
        want = fake_embedder.embed_batch(_sentence_texts(data, row))
        got = Retriever.load(out, config=cfg, embedder=fake_embedder).sentence_vectors(row)
        np.testing.assert_allclose(got, want, atol=np.abs(want).max() / quant.MAX_CODE / 2 + 1e-6)
    chunk_vecs = open_store(data).get(np.arange(len(data.chunks)))
    assert np.all(np.abs(chunk_vecs) <= 1.0)
    hits = Retriever.load(out, config=cfg, embedder=fake_embedder).search("ships in the harbour", k=2)
    assert hits and hits[0].doc_id == "ships"


def test_incremental_add_and_remove_keep_stored_bytes(sources, tmp_path, fake_embedder, cfg):
    out = tmp_path / "idx"
    build_index([sources], out, cfg, embedder=fake_embedder)
    before = store.load(out)
    n_chunks = len(before.chunks)
    n_sent = int(before.sentence_offsets[-1])
    raw_before = np.array(before.sentence_vectors.raw)
    chunk_before = open_store(before).get(np.arange(n_chunks))
    (tmp_path / "bees.txt").write_text(BEES, encoding="utf-8")
    rep = add_documents([tmp_path / "bees.txt"], out, cfg, embedder=fake_embedder)
    assert rep.reused == n_chunks
    after = store.load(out)
    np.testing.assert_array_equal(np.asarray(after.sentence_vectors.raw[:n_sent]), raw_before)
    np.testing.assert_array_equal(open_store(after).get(np.arange(n_chunks)), chunk_before)  # same codes
    # the same documents built from scratch: the same bytes (fixed range, no trained state)
    fresh = tmp_path / "fresh"
    build_index([sources, tmp_path / "bees.txt"], fresh, cfg, embedder=fake_embedder)
    scratch = store.load(fresh)
    np.testing.assert_array_equal(np.asarray(scratch.sentence_vectors.raw), np.asarray(after.sentence_vectors.raw))
    np.testing.assert_array_equal(open_store(scratch).get(np.arange(len(scratch.chunks))),
                                  open_store(after).get(np.arange(len(after.chunks))))
    remove_documents(["bees"], out, cfg)
    again = store.load(out)
    np.testing.assert_array_equal(np.asarray(again.sentence_vectors.raw), raw_before)
    np.testing.assert_array_equal(open_store(again).get(np.arange(n_chunks)), chunk_before)


def _as_schema_4(out, data):
    """Rewrite a schema 5 index the way schema 4 stored it: float16 sentences, a float32 flat FAISS."""
    import faiss

    m = dict(data.manifest)
    files = dict(m["files"])
    vecs = open_store(data).get(np.arange(len(data.chunks)))
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    faiss.write_index(flat, str(out / files["faiss"]["name"]))
    np.save(out / files["sentences"]["name"], np.asarray(data.sentence_vectors).astype(np.float16))
    for role in ("faiss", "sentences"):
        files[role] = {"name": files[role]["name"]} | store.file_record(out / files[role]["name"])
    m.pop("sentence_format")
    m["files"], m["schema_version"], m["vector_store"] = files, 4, {"name": "faiss", "kind": "flat"}
    (out / store.MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    return vecs


def test_schema_4_index_loads_searches_and_grows(sources, tmp_path, fake_embedder, cfg):
    import faiss

    out = tmp_path / "idx"
    build_index([sources], out, cfg, embedder=fake_embedder)
    vecs = _as_schema_4(out, store.load(out))
    old = store.load(out)
    assert old.manifest["schema_version"] == 4 and old.sentence_vectors.dtype == np.float16
    assert isinstance(open_store(old).index, faiss.IndexFlatIP)
    r = Retriever.load(out, config=cfg, embedder=fake_embedder)
    assert r.search("ships in the harbour", k=2)[0].doc_id == "ships"
    assert r.sentence_vectors(0).dtype == np.float32
    n_sent = int(old.sentence_offsets[-1])
    f16 = np.asarray(old.sentence_vectors, dtype=np.float32)
    (tmp_path / "bees.txt").write_text(BEES, encoding="utf-8")
    rep = add_documents([tmp_path / "bees.txt"], out, cfg, embedder=fake_embedder)
    assert rep.reused == len(old.chunks), "a schema 4 index's vectors are reused, not re-embedded"
    new = store.load(out)
    assert new.manifest["schema_version"] == 5 and isinstance(new.sentence_vectors, quant.PackedSentences)
    np.testing.assert_array_equal(np.asarray(new.sentence_vectors.raw[:n_sent]), quant.quantize(f16))
    np.testing.assert_allclose(open_store(new).get(np.arange(len(old.chunks))), vecs, atol=1 / 255 + 1e-6)


def test_damaged_sentence_file_is_index_corrupted(sources, tmp_path, fake_embedder, cfg):
    out = tmp_path / "idx"
    build_index([sources], out, cfg, embedder=fake_embedder)
    m = store.read_manifest(out)
    f = out / m["files"]["sentences"]["name"]
    good = f.read_bytes()
    f.write_bytes(good[:-5] + b"\xff" * 5)  # same size, other codes
    with pytest.raises(IndexCorruptedError, match="checksum"):
        store.load(out)
    f.write_bytes(b"\x00" * len(good))  # not an .npy at all; hashing skipped: the reader catches it
    with pytest.raises(IndexCorruptedError):
        store.load(out, verify_hashes=False)
    f.write_bytes(good[:-10])
    with pytest.raises(IndexCorruptedError, match="truncated"):
        store.load(out)
    f.write_bytes(good)
    m["dim"] = m["dim"] + 8  # rows no longer match the recorded width
    (out / store.MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexCorruptedError):
        store.load(out)


def test_bundled_index_of_an_older_schema_is_rebuilt(tmp_path, monkeypatch, fake_embedder):
    from rag import config as config_mod
    from rag.config import Config
    from rag.store.indexer import ensure_bundled_index

    monkeypatch.setattr(config_mod, "default_index_dir", lambda: tmp_path / "bundled")
    first = ensure_bundled_index(Config(model="fake"), fake_embedder)
    m = dict(first.manifest, schema_version=4)  # still readable: only the format is older
    (first.path / store.MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    again = ensure_bundled_index(Config(model="fake"), fake_embedder)
    assert again.manifest["schema_version"] == store.SCHEMA_VERSION
    assert again.manifest["generation"] != first.manifest["generation"]


def test_default_storage_is_exact_float16_and_float32(sources, tmp_path, fake_embedder, cfg):
    import faiss

    exact = cfg.replace(storage="exact")
    assert exact == cfg.replace(storage=type(cfg).storage)  # "exact" is the default
    out = tmp_path / "idx"
    build_index([sources], out, exact, embedder=fake_embedder)
    data = store.load(out)
    m = data.manifest
    assert m["storage"] == "exact" and m["sentence_format"] == quant.FLOAT16
    assert m["vector_store"]["codec"] == "float32" and isinstance(open_store(data).index, faiss.IndexFlatIP)
    assert data.sentence_vectors.dtype == np.float16 and isinstance(data.sentence_vectors, np.memmap)
    row0 = fake_embedder.embed_batch(_sentence_texts(data, 0))
    np.testing.assert_array_equal(np.asarray(data.sentence_vectors[: len(row0)]), row0.astype(np.float16))
    raw = np.array(data.sentence_vectors)
    (tmp_path / "bees.txt").write_text(BEES, encoding="utf-8")
    rep = add_documents([tmp_path / "bees.txt"], out, exact, embedder=fake_embedder)
    assert rep.reused == len(data.chunks)
    grown = store.load(out)
    np.testing.assert_array_equal(np.asarray(grown.sentence_vectors[: len(raw)]), raw)  # kept exactly


def test_storage_can_change_on_an_add_either_way(sources, tmp_path, fake_embedder, cfg):
    out = tmp_path / "idx"
    build_index([sources], out, cfg.replace(storage="exact"), embedder=fake_embedder)
    f16 = np.asarray(store.load(out).sentence_vectors, dtype=np.float32)
    (tmp_path / "bees.txt").write_text(BEES, encoding="utf-8")
    rep = add_documents([tmp_path / "bees.txt"], out, cfg, embedder=fake_embedder)  # to compact
    assert rep.reused > 0
    packed = store.load(out)
    assert packed.manifest["storage"] == "compact" and isinstance(packed.sentence_vectors, quant.PackedSentences)
    np.testing.assert_array_equal(np.asarray(packed.sentence_vectors.raw[: len(f16)]), quant.quantize(f16))
    (tmp_path / "more.txt").write_text("Wasps build paper nests.", encoding="utf-8")
    add_documents([tmp_path / "more.txt"], out, cfg.replace(storage="exact"), embedder=fake_embedder)  # and back
    back = store.load(out)  # the packed rows, dequantized
    assert back.manifest["storage"] == "exact" and back.sentence_vectors.dtype == np.float16
    np.testing.assert_allclose(np.asarray(back.sentence_vectors[: len(f16)], dtype=np.float32),
                               np.asarray(packed.sentence_vectors[: len(f16)]), atol=1e-3)


def test_cli_storage_flag_is_recorded_and_kept(sources, tmp_path, fake_models, capsys):
    from rag.cli import main

    out = tmp_path / "idx"
    assert main(["index", str(sources), "--out", str(out), "--model", "fake", "--storage", "compact"]) == 0
    assert store.read_manifest(out)["storage"] == "compact"
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "bees.txt").write_text(BEES, encoding="utf-8")
    assert main(["index", str(tmp_path / "more"), "--out", str(out)]) == 0  # no flags: the index's choices
    m = store.read_manifest(out)
    assert m["storage"] == "compact" and m["sentence_format"] == quant.FORMAT
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse: exit 2 naming the valid choices
        main(["index", str(sources), "--out", str(tmp_path / "x"), "--storage", "tiny"])
    assert exc.value.code == 2 and "'exact', 'compact'" in capsys.readouterr().err
    from rag.config import Config

    with pytest.raises(ValueError, match="storage must be 'exact' or 'compact'"):
        Config(storage="tiny")
