"""``build_index``, ``add_documents``, ``remove_documents``: sources in, a committed index directory
out. Incremental: documents whose content (and the chunking/model settings) did not change keep
their chunks and vectors."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_MODEL, Config
from rag.errors import DocumentNotFoundError, IndexNotFoundError, IngestError, RagError
from rag.ingest.chunking import (
    chunk_document,
    chunk_sentences,
    indexed_sentences,
    indexed_text,
)
from rag.ingest.document import Document
from rag.ingest.sources import collect, read_sources, renamed, unique_id  # noqa: F401  (collect re-exported)
from rag.store import disk as store
from rag.store import ownership, vectors
from rag.store.vectorstore import open_store, store_class


@dataclass(frozen=True)
class BuildReport:
    path: Path
    documents: int  # in the index now
    chunks: int
    embedded: int  # chunks embedded in this run
    reused: int  # chunks whose vectors were kept from the previous index
    added: tuple = ()
    changed: tuple = ()  # updated: the source changed (or is read differently) since it was indexed
    removed: tuple = ()
    skipped: tuple = ()  # (path, reason) for files that were not indexed
    notes: tuple = ()  # (path, message): how a file was read, e.g. bytes replaced while decoding
    seconds: float = 0.0
    manifest: dict = field(default_factory=dict, repr=False, compare=False)
    unchanged: tuple = ()  # given again, and the same as what the index holds

    def summary(self) -> str:
        """One line: what this run did."""
        return (f"indexed into {self.path} in {self.seconds:.1f} s: {len(self.added)} added, "
                f"{len(self.changed)} updated, {len(self.unchanged)} unchanged, {len(self.skipped)} skipped"
                + (f", {len(self.removed)} removed" if self.removed else "")
                + f"; {self.embedded} chunk(s) embedded, {self.reused} reused; the index holds "
                f"{self.documents} document(s), {self.chunks} chunks")


def index_settings(config: Config) -> dict:
    """What an index's vectors depend on: a change here means re-embedding everything."""
    from rag.ingest.terms import TOKENIZER_ID

    return {"model": config.model, "encoding": config.encoding, "tokenizer": TOKENIZER_ID,
            "sentence_vectors": config.sentence_vectors,
            "chunking": {"max_tokens": config.max_tokens, "min_tokens": config.min_tokens,
                         "overlap": config.overlap}}


def settings_config(manifest: dict, config: Config | None = None) -> Config:
    """``config`` (default: defaults) with the model and chunking an index was built with, and its
    vector store and sentence vectors unless ``config`` asks for other than the defaults."""
    chunking = manifest.get("chunking") or {}
    config = (config or Config()).replace(model=manifest.get("model", DEFAULT_MODEL),
                                          encoding=manifest.get("encoding", "cl100k_base"), **chunking)
    store_rec = manifest.get("vector_store") or {}
    if config.vector_store == Config.vector_store and store_rec.get("name", "faiss") != "faiss":
        from rag.store.milvus import DEFAULT_LITE_FILE

        uri = store_rec.get("uri")  # the default lite file is recorded relative: None finds it again
        config = config.replace(vector_store=store_rec["name"],
                                milvus_uri=config.milvus_uri or (None if uri == DEFAULT_LITE_FILE else uri))
    if config.sentence_vectors == Config.sentence_vectors and manifest.get("sentence_vectors"):
        config = config.replace(sentence_vectors=manifest["sentence_vectors"])
    if config.storage == Config.storage and manifest.get("storage"):
        config = config.replace(storage=manifest["storage"])
    return config


def build_index(sources, out=None, config: Config | None = None, embedder=None, progress=None,
                incremental: bool = True, format: str = "auto", replace: bool = True) -> BuildReport:
    """Index exactly ``sources`` (paths, folders or ``Document``s) into directory ``out``.

    ``build_index(["notes/a.txt", "notes/b.md"], "some/dir")``. Documents already in ``out``
    whose text did not change keep their vectors (``incremental``); documents not in ``sources``
    are dropped (``replace=False``, i.e. ``add_documents``, keeps them). ``progress(done, total)``
    is called while embedding. The previous index stays readable until the new one commits.
    """
    t0 = time.perf_counter()
    out = Path(out) if out is not None else (config or Config()).resolved_index_dir
    ownership.check(out)  # a folder of someone's files is refused before any work
    base = config or Config()
    docs, skipped, notes = read_sources(sources, int(base.max_file_mb * 2**20), format)
    if not docs:
        raise IngestError("nothing to index: " + ("; ".join(r for _, r in skipped) or "no supported files found"))
    with store.write_lock(out):
        old = _existing(out, required=not replace)
        if config is None and old is not None:  # keep the index's model and chunking
            config = settings_config(old.manifest)
        merged, given = _merge(old, docs, replace, skipped)
        return _write(out, config or Config(), merged, given, old, embedder, progress, incremental, t0,
                      skipped, notes)


def add_documents(sources, index_dir, config: Config | None = None, embedder=None, progress=None,
                  format: str = "auto") -> BuildReport:
    """Add ``sources`` to the index in ``index_dir`` (created if missing): new files are added,
    files already in it are updated if they changed; other documents stay. ``config=None`` keeps
    the index's model and chunking. ``progress(done, total)`` is called while embedding."""
    return build_index(sources, index_dir, config, embedder, progress, format=format, replace=False)


def remove_documents(doc_ids, index_dir, config: Config | None = None) -> BuildReport:
    """Drop the documents ``doc_ids`` from the index in ``index_dir``; nothing is re-embedded."""
    t0 = time.perf_counter()
    doc_ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
    index_dir = Path(index_dir)
    with store.write_lock(index_dir):
        old = _existing(index_dir, required=True)
        if old is None:
            raise IndexNotFoundError(f"no index at {index_dir}")
        unknown = [d for d in doc_ids if d not in old.documents]
        if unknown:
            raise DocumentNotFoundError(
                f"no document {', '.join(map(repr, unknown))} in {index_dir}; it holds "
                f"{', '.join(old.documents)} (ragqa docs --index {index_dir})")
        keep = [d for d in old.documents.values() if d.doc_id not in doc_ids]
        if not keep:
            raise RagError(f"removing {', '.join(doc_ids)} would leave the index empty; "
                           f"delete the folder {index_dir} to delete the index")
        config = settings_config(old.manifest, config)
        return _write(index_dir, config, keep, {}, old, None, None, True, t0, [], [])


def _existing(out: Path, required: bool) -> store.IndexData | None:
    """The index in ``out``, None if there is none. One that cannot be read is an error when its
    documents must be kept (``required``), else it is simply rebuilt."""
    if not (Path(out) / store.MANIFEST).exists():
        return None
    try:
        return store.load(out)
    except RagError as exc:
        if required:
            raise RagError(f"{exc}. Its documents cannot be kept: rebuild it from your files with "
                           f"ragqa index PATH... --out {out} --replace") from None
        return None


def _source(d: Document) -> str | None:
    return str(Path(d.source_path).resolve()) if d.source_path else None


def _merge(old, docs: list[Document], replace: bool, skipped: list) -> tuple[list[Document], dict]:
    """The documents the new index holds, in order, and ``given``: doc_id -> True for those read
    from ``docs`` this run. A source already in the index (same file, or a ``Document`` with the
    same id) keeps its id; a new one with a taken id gets ``-2``, ``-3``..."""
    old_docs = list(old.documents.values()) if old is not None else []
    by_source = {_source(d): d.doc_id for d in old_docs if d.source_path}
    old_ids = {d.doc_id for d in old_docs}
    by_hash = {d.content_hash: d.doc_id for d in old_docs}
    merged: dict[str, Document] = {} if replace else {d.doc_id: d for d in old_docs}
    given: dict[str, bool] = {}
    for d in docs:
        target = by_source.get(_source(d)) if d.source_path else (d.doc_id if d.doc_id in old_ids else None)
        if target is not None and target not in given:
            doc_id = target
        elif not replace and d.content_hash in by_hash:
            skipped.append((d.source_path or d.doc_id, f"duplicate of {by_hash[d.content_hash]}, already indexed"))
            continue
        else:
            doc_id = unique_id(d.doc_id, set(merged) | set(given) | (set() if replace else old_ids))
        merged[doc_id] = d if doc_id == d.doc_id else renamed(d, doc_id)
        given[doc_id] = True
    return list(merged.values()), given


def _write(out: Path, config: Config, docs: list[Document], given: dict, old, embedder, progress,
           incremental: bool, t0: float, skipped: list, notes: list) -> BuildReport:
    """Embed what changed, reuse the rest, and commit the index of ``docs``. Call under the lock."""
    settings = index_settings(config)
    reusable = old is not None and incremental and all(old.manifest.get(k) == v for k, v in settings.items())
    if old is not None and incremental and not reusable:
        notes.append((str(out), "built with another model or chunking: every document re-embedded"))
    old_docs = old.documents if old is not None else {}
    old_by_doc: dict[str, tuple] = {}  # doc_id -> (chunks, vectors)
    old_sentences: dict[int, tuple[int, int]] = {}  # id(reused chunk) -> its rows in old.sentence_vectors
    if reusable:
        try:
            old_vectors = _old_vectors(old)
        except RagError as exc:  # e.g. its Milvus collection is gone: embed everything again
            reusable = False
            notes.append((str(out), f"vectors of the previous index cannot be read ({exc}): every document "
                                    "re-embedded"))
    if reusable:
        rows: dict[str, list[int]] = {}
        old_chunks: dict[str, list] = {}
        for i, c in enumerate(old.chunks):  # one streamed pass (rows are read from the text store)
            rows.setdefault(c.doc_id, []).append(i)
            old_chunks.setdefault(c.doc_id, []).append(c)
        off = old.sentence_offsets
        for doc_id, idx in rows.items():
            old_by_doc[doc_id] = (old_chunks[doc_id], old_vectors[idx])
            if old.sentence_vectors is not None:
                old_sentences.update((id(c), (int(off[i]), int(off[i + 1])))
                                     for c, i in zip(old_chunks[doc_id], idx))
    all_chunks, parts, todo, added, changed, unchanged = [], [], [], [], [], []
    for d in docs:
        before = old_docs.get(d.doc_id)
        same = before is not None and before.content_hash == d.content_hash and before.paragraphs == d.paragraphs
        if d.doc_id in given:
            (unchanged if same else changed if before is not None else added).append(d.doc_id)
        prev = old_by_doc.get(d.doc_id) if same else None
        if prev:
            all_chunks += prev[0]
            parts.append(prev[1])
            continue
        chunks = chunk_document(d, config.max_tokens, config.overlap, config.encoding, config.min_tokens)
        todo.append((len(parts), chunks))
        all_chunks += chunks
        parts.append(None)
    # Chunks, and with sentence_vectors="stored" their sentences, embedded in checkpointed slices (an
    # interrupted build resumes); with "query" sentences are embedded when a search needs them
    # (rag.retrieve.sentences).
    by_id = {d.doc_id: d for d in docs}
    texts, plan = [], []
    for slot, chunks in todo:
        plan.append((slot, len(texts), len(chunks)))
        texts += [indexed_text(by_id[c.doc_id], c) for c in chunks]
    stored = config.sentence_vectors in ("stored", "pooled")
    pooled = config.sentence_vectors == "pooled"
    spans = {id(c): chunk_sentences(by_id[c.doc_id], c) for _, chunks in todo for c in chunks} if stored else {}
    total = len(texts) + (0 if pooled else sum(map(len, spans.values())))
    new_vecs = np.zeros((0, 0), np.float32)
    from rag.store.checkpoint import Checkpointed, folder_for

    checkpoint = None
    build_dir = folder_for(out, settings)  # the checkpoint and the sentence-vector file being written
    sentences = offsets = None
    if texts:
        if progress:
            progress(0, total)  # before the model loads: the user sees work has started
        if embedder is None:
            # ONNX when exported (length-sorted batches, same vectors as torch, ~3.6x faster; see BENCHMARKS.md)
            from rag.embed.registry import make_query_embedder

            embedder = make_query_embedder(config)
        checkpoint = Checkpointed(embedder, build_dir)
        tick = (lambda n: progress(n, total)) if progress else None
        if pooled:  # sentence vectors pooled from each chunk's own pass, straight into place
            new_vecs, sentences, offsets = _pooled(all_chunks, todo, texts, spans, old_sentences, old, by_id,
                                                   checkpoint, tick, config.storage)
        else:
            new_vecs = checkpoint.embed_many(texts, progress=tick)
    for slot, at, n in plan:
        parts[slot] = new_vecs[at : at + n]
    dim = next((p.shape[1] for p in parts if p is not None and p.size), 0)
    if dim == 0:
        raise RagError("no text to embed in the given documents")
    if len(plan) == len(parts) and len(new_vecs) == sum(len(p) for p in parts):  # all new: no copy needed
        matrix = np.ascontiguousarray(new_vecs, dtype=np.float32)
    else:
        matrix = np.vstack([p.reshape(-1, dim) for p in parts]).astype(np.float32)
    n_texts = len(texts)
    del parts, new_vecs, texts  # peak memory: the chunk texts and vectors are not needed twice
    if stored and sentences is None:  # straight into one preallocated float16 array, in chunk order
        sentences, offsets = _sentence_matrix(all_chunks, spans, old_sentences, old, by_id, dim, checkpoint,
                                              build_dir, (lambda n: progress(n_texts + n, total)) if progress else None,
                                              config.storage)
    del spans
    removed = sorted(set(old_docs) - set(by_id))
    vector_store = store_class(config.vector_store)
    record, faiss_writer = vector_store.write(matrix, out, config)
    n_embedded = sum(len(chunks) for _, chunks in todo)
    n_vectors = len(matrix)
    del matrix  # the vector store (FAISS index or Milvus) holds them now

    from rag.store.lexical import LexicalIndex

    lexical = LexicalIndex.build(indexed_text(by_id[c.doc_id], c) for c in all_chunks)  # streamed: no text list
    manifest = {
        **settings,
        "dim": dim,
        "normalized": True,
        "metric": "inner_product",
        "faiss_kind": vectors.choose_kind(n_vectors),
        "storage": config.storage,
        "vector_store": record,
        "previous_vector_store": _current_record(out),
        "content_hash": store.sources_hash(docs),
        "documents": [{"doc_id": d.doc_id, "title": d.title, "content_hash": d.content_hash,
                       "source_path": _source(d), "paragraphs": len(d.paragraphs)} for d in docs],
        "counts": {"documents": len(docs), "paragraphs": sum(len(d.paragraphs) for d in docs),
                   "chunks": len(all_chunks)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    manifest = store.save(out, manifest, all_chunks, docs, None, sentences, offsets,
                          faiss_writer=faiss_writer, lexical_writer=lexical.save)
    vector_store.cleanup(manifest, out)
    import shutil

    shutil.rmtree(build_dir, ignore_errors=True)  # the checkpoint, once committed
    return BuildReport(out, len(docs), len(all_chunks), n_embedded, len(all_chunks) - n_embedded, tuple(added),
                       tuple(changed), tuple(removed), tuple(skipped), tuple(notes), time.perf_counter() - t0,
                       manifest, tuple(unchanged))


def _sentence_matrix(chunks, spans: dict, old_sentences, old, by_id, dim, checkpoint, folder: Path, progress,
                     storage: str = "exact"):
    """Sentence vectors of every chunk in row order, as the path of an ``.npy`` in ``folder`` (float16,
    or with ``storage="compact"`` packed rows, ``rag.store.quant``), and the offsets: chunk i's are rows
    offsets[i]:offsets[i+1]. New chunks' sentences are embedded straight into place in a float16 file;
    reused chunks' rows are copied from the previous index (``_finish``)."""
    counts = [len(spans[id(c)]) if id(c) in spans else _n(old_sentences[id(c)]) for c in chunks]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out = _sentence_file(folder, (int(offsets[-1]), dim))
    texts, rows, reused = [], [], []
    for i, c in enumerate(chunks):
        if id(c) in spans:
            texts += indexed_sentences(by_id[c.doc_id], c)
            rows += range(offsets[i], offsets[i + 1])
        else:
            a, b = old_sentences[id(c)]
            reused.append((int(offsets[i]), a, b - a))
    if texts:
        checkpoint.embed_many(texts, progress=progress, out=out, rows=rows)
    return _finish(out, reused, old, storage), offsets


def _n(rows: tuple[int, int]) -> int:
    return rows[1] - rows[0]


# Build peak RSS at 100k paragraphs (bench/scale.py --sizes 100000 --embedder standin): 1,557 MB with the
# sentence vectors (345 MB of float16) held in memory through the FAISS and BM25 builds; 1,428 MB when they
# go to a file in the build folder, written out slice by slice (checkpoint.release_pages): 1,227 MB.
# Schema 5 packs that file into 6-bit rows (rag.store.quant.pack_file): 1,401 MB while the float16 file's
# pages stayed mapped as it was read, 1,190 MB releasing them block by block (same command, 3988662).
def _sentence_file(folder: Path, shape: tuple[int, int]) -> np.ndarray:
    """A float16 ``.npy`` of ``shape`` in the build's own folder, memory-mapped for writing."""
    folder.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(folder / "sentences.npy", mode="w+", dtype=np.float16, shape=shape)


def _finish(out: np.ndarray, reused=(), old=None, storage: str = "exact") -> Path:
    """Copy the ``reused`` rows ``(row, old row, n)`` of the previous index ``old`` into a
    ``_sentence_file``, flush and unmap it (its pages leave this process's memory), and return its
    path; ``storage="compact"`` packs it first (``rag.store.quant.pack_file``: the float16 file is
    deleted, reused packed rows are copied byte for byte)."""
    from rag.store import quant

    source = old.sentence_vectors if old is not None else None
    name = Path(out.filename)
    if storage == "compact":
        out.flush()
        del out
        return quant.pack_file(name, name.with_name("sentences-packed.npy"), reused, source)
    quant.copy_rows(out, reused, source)  # float16 rows (a compact source is dequantized)
    out.flush()
    del out
    return name


def _pooled(chunks, todo, texts, spans: dict, old_sentences, old, by_id, checkpoint, progress, storage="exact"):
    """``sentence_vectors="pooled"``: the new chunks' vectors (float32, in ``texts`` order) and every
    chunk's sentence vectors (a file) with their offsets (as ``_sentence_matrix``), the new chunks'
    sentences mean-pooled from their chunk's forward pass (``Embedder.embed_spans``)."""
    counts = [len(spans[id(c)]) if id(c) in spans else _n(old_sentences[id(c)]) for c in chunks]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    dim = int(checkpoint.dim or getattr(checkpoint.inner, "dim", 0))
    out = _sentence_file(checkpoint.folder, (int(offsets[-1]), dim))
    first, reused = {}, []
    for i, c in enumerate(chunks):
        if id(c) in spans:
            first[id(c)] = int(offsets[i])
        else:
            a, b = old_sentences[id(c)]
            reused.append((int(offsets[i]), a, b - a))
    text_spans, rows = [], []
    for _, new in todo:
        for c in new:
            pre = len(indexed_text(by_id[c.doc_id], c)) - len(c.text)  # section headings before the text
            text_spans.append([(pre + s - c.start, pre + e - c.start) for s, e, _ in spans[id(c)]])
            rows.append(first[id(c)])
    vecs = checkpoint.embed_spans(texts, text_spans, out, rows, progress=progress)
    return vecs, _finish(out, reused, old, storage), offsets


def _old_vectors(old: store.IndexData) -> np.ndarray:
    """Every chunk vector of a loaded index (schema 3 kept a copy; since, the vector store has them)."""
    if old.vectors is not None:
        return old.vectors
    return open_store(old).get(np.arange(len(old.chunks)))


def _current_record(out: Path) -> dict | None:
    """The vector-store record of the index now committed in ``out`` (kept one more round)."""
    try:
        from rag.store.vectorstore import record_of

        return record_of(store.read_manifest(out))
    except RagError:
        return None


def ensure_bundled_index(config: Config, embedder=None) -> store.IndexData:
    """Load the bundled article's index, (re)building it when missing, stale, damaged or built
    with other settings: it is ours to rebuild, unlike a user's index."""
    from rag.ingest.formats import load_bundled

    path = config.resolved_index_dir
    doc = load_bundled()
    try:
        data = store.load(path)
        fresh = data.manifest.get("content_hash") == store.sources_hash([doc]) and all(
            data.manifest.get(k) == v for k, v in index_settings(config).items()) and \
            data.manifest.get("schema_version") == store.SCHEMA_VERSION and \
            data.manifest.get("storage") == config.storage  # another format: rebuilt in this one
        if fresh:
            return data
    except RagError:
        pass
    build_index([doc], path, config, embedder=embedder, incremental=False)
    return store.load(path)

