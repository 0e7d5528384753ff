"""``build_index``: sources in, a committed index directory out. Incremental: documents whose
content (and the chunking/model settings) did not change keep their chunks and vectors."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.errors import IngestError, RagError
from rag.ingest.chunking import chunk_document, chunk_sentences
from rag.ingest.document import Document
from rag.ingest.formats import SUPPORTED_SUFFIXES, load_document
from rag.store import disk as store
from rag.store import vectors


@dataclass(frozen=True)
class BuildReport:
    path: Path
    documents: int
    chunks: int
    embedded: int  # chunks embedded in this run
    reused: int  # chunks whose vectors were kept from the previous index
    added: tuple = ()
    changed: tuple = ()
    removed: tuple = ()
    skipped: tuple = ()  # (path, reason) for files in folders that could not be read
    seconds: float = 0.0
    manifest: dict = field(default_factory=dict, repr=False, compare=False)


def collect(sources, max_bytes: int) -> tuple[list[Document], list[tuple[str, str]]]:
    """Documents from files, folders (recursively) and ``Document`` objects.

    A file named explicitly that cannot be read raises ``IngestError``; an unreadable file found
    while walking a folder is skipped and reported. Identical documents are kept once.
    """
    if isinstance(sources, (str, Path, Document)):
        sources = [sources]
    docs, skipped = [], []
    for src in sources:
        if isinstance(src, Document):
            docs.append(src)
            continue
        path = Path(src)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            for f in files:
                try:
                    docs.append(load_document(f, max_bytes))
                except IngestError as exc:
                    skipped.append((str(f), str(exc)))
        elif path.exists():
            docs.append(load_document(path, max_bytes))
        else:
            raise IngestError(f"{path}: no such file or directory")
    unique, seen_hash, seen_id = [], {}, {}
    for d in docs:
        if d.content_hash in seen_hash:
            skipped.append((d.source_path or d.doc_id, f"duplicate of {seen_hash[d.content_hash]}"))
            continue
        if d.doc_id in seen_id:  # same stem in two folders: keep both, with distinct ids
            n = 2
            while f"{d.doc_id}-{n}" in seen_id:
                n += 1
            d = Document(f"{d.doc_id}-{n}", d.title, d.text, d.paragraphs, d.author, d.date, d.tags,
                         d.source_path, d.meta)
        seen_hash[d.content_hash] = d.source_path or d.doc_id
        seen_id[d.doc_id] = True
        unique.append(d)
    return unique, skipped


def index_settings(config: Config) -> dict:
    """What an index's vectors depend on: a change here means re-embedding everything."""
    from rag.ingest.terms import TOKENIZER_ID

    return {"model": config.model, "encoding": config.encoding, "tokenizer": TOKENIZER_ID,
            "chunking": {"max_tokens": config.max_tokens, "min_tokens": config.min_tokens,
                         "overlap": config.overlap}}


def build_index(sources, out=None, config: Config | None = None, embedder=None, progress=None,
                incremental: bool = True) -> BuildReport:
    """Index ``sources`` (paths, folders or ``Document``s) into directory ``out``.

    ``build_index(["notes/a.txt", "notes/b.md"], "some/dir")``. ``progress(done, total)`` is
    called while embedding. The previous index in ``out`` stays readable until the new one commits.
    """
    t0 = time.perf_counter()
    config = config or Config()
    out = Path(out) if out is not None else config.resolved_index_dir
    docs, skipped = collect(sources, int(config.max_file_mb * 2**20))
    if not docs:
        raise IngestError("nothing to index: " + ("; ".join(r for _, r in skipped) or "no supported files found"))
    settings = index_settings(config)
    if embedder is None:
        # ONNX when exported (length-sorted batches, same vectors as torch, ~3.6x faster; see BENCHMARKS.md)
        from rag.embed.registry import make_query_embedder

        embedder = make_query_embedder(config)

    with store.write_lock(out):
        old = _previous(out, settings) if incremental else None
        old_by_doc: dict[str, tuple] = {}  # doc_id -> (content hash, chunks, vectors, sentence vectors per chunk)
        if old is not None:
            hashes = {d["doc_id"]: d["content_hash"] for d in old.manifest["documents"]}
            rows: dict[str, list[int]] = {}
            for i, c in enumerate(old.chunks):
                rows.setdefault(c.doc_id, []).append(i)
            off = old.sentence_offsets
            for doc_id, idx in rows.items():
                sents = [old.sentence_vectors[off[i]:off[i + 1]] for i in idx]
                old_by_doc[doc_id] = (hashes.get(doc_id), [old.chunks[i] for i in idx], old.vectors[idx], sents)
        all_chunks, parts, todo, added, changed = [], [], [], [], []
        for d in docs:
            prev = old_by_doc.get(d.doc_id)
            if prev and prev[0] == d.content_hash:
                all_chunks += prev[1]
                parts.append((prev[2], prev[3]))
                continue
            (changed if prev else added).append(d.doc_id)
            chunks = chunk_document(d, config.max_tokens, config.overlap, config.encoding, config.min_tokens)
            todo.append((len(parts), chunks))
            all_chunks += chunks
            parts.append(None)
        # Chunks and their sentences are embedded in one pass: sentence vectors let retrieval and the
        # extractive generator score single sentences without embedding anything at query time.
        texts, plan = [], []
        by_id = {d.doc_id: d for d in docs}
        for slot, chunks in todo:
            for c in chunks:
                doc = by_id[c.doc_id]
                spans = chunk_sentences(doc, c)
                plan.append((slot, len(texts), len(spans)))
                texts.append(c.text)
                texts += [doc.text[s:e] for s, e, _ in spans]
        total = len(texts)
        new_vecs = embedder.embed_many(texts, progress=(lambda n: progress(n, total)) if progress else None) \
            if texts else np.zeros((0, 0), np.float32)
        fresh: dict[int, tuple[list, list]] = {}
        for slot, at, n_sent in plan:
            vecs, sents = fresh.setdefault(slot, ([], []))
            vecs.append(new_vecs[at])
            sents.append(new_vecs[at + 1 : at + 1 + n_sent])
        for slot, (vecs, sents) in fresh.items():
            parts[slot] = (np.vstack(vecs), sents)
        dim = next((p[0].shape[1] for p in parts if p is not None and p[0].size), 0)
        if dim == 0:
            raise RagError("no text to embed in the given documents")
        matrix = np.vstack([p[0].reshape(-1, dim) for p in parts]).astype(np.float32)
        sentence_list = [sv for p in parts for sv in p[1]]
        offsets = np.concatenate([[0], np.cumsum([len(sv) for sv in sentence_list])]).astype(np.int64)
        sentence_matrix = np.vstack(sentence_list).astype(np.float32)
        removed = sorted(set(old_by_doc) - {d.doc_id for d in docs})
        index = vectors.build(matrix)
        n_embedded = sum(len(chunks) for _, chunks in todo)

        from rag.store.lexical import LexicalIndex

        lexical = LexicalIndex.build([c.text for c in all_chunks])
        manifest = {
            **settings,
            "dim": dim,
            "normalized": True,
            "metric": "inner_product",
            "faiss_kind": vectors.choose_kind(len(matrix)),
            "content_hash": store.sources_hash(docs),
            "documents": [{"doc_id": d.doc_id, "title": d.title, "content_hash": d.content_hash,
                           "source_path": d.source_path, "paragraphs": len(d.paragraphs)} for d in docs],
            "counts": {"documents": len(docs), "paragraphs": sum(len(d.paragraphs) for d in docs),
                       "chunks": len(all_chunks)},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        manifest = store.save(out, manifest, all_chunks, docs, matrix, sentence_matrix, offsets,
                              faiss_writer=lambda fn: vectors.write(index, fn), lexical_writer=lexical.save)
    return BuildReport(out, len(docs), len(all_chunks), n_embedded, len(all_chunks) - n_embedded, tuple(added),
                       tuple(changed), tuple(removed), tuple(skipped), time.perf_counter() - t0, manifest)


def _previous(out: Path, settings: dict):
    """The current index in ``out`` if its vectors can be reused with ``settings``, else None."""
    try:
        data = store.load(out)
    except RagError:
        return None
    m = data.manifest
    same = all(m.get(k) == v for k, v in settings.items())
    return data if same else None


def ensure_bundled_index(config: Config, embedder=None) -> store.IndexData:
    """Load the bundled article's index, (re)building it when missing, stale, damaged or built
    with other settings: it is ours to rebuild, unlike a user's index."""
    from rag.ingest.formats import load_bundled

    path = config.resolved_index_dir
    doc = load_bundled()
    try:
        data = store.load(path)
        fresh = data.manifest.get("content_hash") == store.sources_hash([doc]) and all(
            data.manifest.get(k) == v for k, v in index_settings(config).items())
        if fresh:
            return data
    except RagError:
        pass
    build_index([doc], path, config, embedder=embedder, incremental=False)
    return store.load(path)

