"""Resumable embedding: a build that is interrupted (Ctrl-C, a crash, a kill) and re-run does
not embed again what it had already embedded.

``Checkpointed(embedder, folder)`` embeds in slices of ``SLICE`` texts and appends each slice's
vectors, keyed by a hash of the text, to ``folder`` (``.embed-checkpoint/`` inside the index
folder, named for the model and chunking settings). A re-run finds them there and embeds only the
rest. The build deletes the folder once its manifest is committed. A slice file is written to a
temporary name and renamed, so a kill mid-write leaves no half file behind.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
from pathlib import Path

import numpy as np

SLICE = 2048  # texts per checkpoint file: ~40 s of real-model embedding here, 3 MB of vectors


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class Checkpointed:
    """An embedder wrapper: ``Checkpointed(e, dir).embed_many(texts, progress=cb)``."""

    def __init__(self, embedder, folder: Path):
        self.inner, self.folder = embedder, Path(folder)
        self.name, self.dim = getattr(embedder, "name", "?"), getattr(embedder, "dim", 0)
        self.reused = 0

    def _stored(self):
        """(key, vector) of every slice earlier runs wrote, in slice order."""
        for f in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(f, allow_pickle=False) as z:
                    keys, vecs = z["keys"], z["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a damaged part is embedded again
            for k, v in zip(keys, vecs):
                yield k.tobytes(), v

    def _write_part(self, n: int, keys: list[bytes], vectors: np.ndarray) -> None:
        """Slice ``n``'s keys and vectors, written to a temporary name and renamed into place."""
        tmp = self.folder / f".part-{n:06d}.tmp.npz"
        np.savez(tmp, keys=np.array([np.frombuffer(k, np.uint8) for k in keys]), vectors=vectors)
        os.replace(tmp, self.folder / f"part-{n:06d}.npz")

    def _load(self, wanted: dict[bytes, list[int]], out, rows, seen: set) -> None:
        """Copy vectors of earlier runs' slices into ``out`` for the texts that have them."""
        for k, v in self._stored():
            for i in wanted.get(k, ()):
                out[rows[i]] = v
                seen.add(i)

    def embed_many(self, texts: list[str], batch_size: int = 32, progress=None, out=None, rows=None) -> np.ndarray:
        """Vectors of ``texts``. ``out``/``rows``: write text i's vector into ``out[rows[i]]`` (e.g. a
        preallocated float16 array) instead of returning a new float32 array: memory stays one copy."""
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = [_key(t) for t in texts]
        wanted: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            wanted.setdefault(k, []).append(i)
        if rows is None:
            rows = range(len(texts))
        seen: set[int] = set()
        if out is not None:
            self._load(wanted, out, rows, seen)
        else:  # the width is known once something is embedded or found
            probe = {}
            self._load(wanted, _Sink(probe), rows, seen)
            dim = next((len(v) for v in probe.values()), 0) or self.dim
            out = np.zeros((len(texts), dim), np.float32) if dim else None
            for i, v in probe.items():
                out[i] = v
        todo = [i for i in range(len(texts)) if i not in seen]
        self.reused = len(texts) - len(todo)
        n_parts = len(list(self.folder.glob("part-*.npz")))
        finished = self.reused
        if progress and finished:
            progress(finished)
        for s in range(0, len(todo), SLICE):
            idx = todo[s : s + SLICE]
            vecs = np.asarray(self.inner.embed_many([texts[i] for i in idx], batch_size), dtype=np.float32)
            self._write_part(n_parts, [keys[i] for i in idx], vecs)
            n_parts += 1
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), np.float32)
            for i, v in zip(idx, vecs):
                out[rows[i]] = v
            release_pages(out)
            finished += len(idx)
            if progress:
                progress(finished)
        if out is None:
            return np.zeros((0, self.dim), np.float32)
        return out

    def embed_spans(self, texts: list[str], spans: list[list[tuple[int, int]]], span_out: np.ndarray,
                    span_rows: list[int], batch_size: int = 32, progress=None) -> np.ndarray:
        """Vectors of ``texts`` (returned, float32) and of their character ``spans`` (written into
        ``span_out``: text i's spans at rows ``span_rows[i]``, ``span_rows[i] + 1``...), from the
        inner embedder's ``embed_spans``; both kinds are checkpointed, a span keyed by its text and
        position."""
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = [_key(t) for t in texts]
        wanted: dict[bytes, list[tuple[str, int]]] = {}
        for i, (k, t) in enumerate(zip(keys, texts)):
            wanted.setdefault(k, []).append(("t", i))
            for s, (a, b) in enumerate(spans[i]):
                wanted.setdefault(_span_key(t, a, b), []).append(("s", span_rows[i] + s))
        out = None
        got_t, got_s = set(), set()
        for k, v in self._stored():
            for kind, r in wanted.get(k, ()):
                if kind == "t":
                    if out is None:
                        out = np.zeros((len(texts), len(v)), np.float32)
                    out[r] = v
                    got_t.add(r)
                else:
                    span_out[r] = v
                    got_s.add(r)
        todo = [i for i in range(len(texts))
                if i not in got_t or any(span_rows[i] + s not in got_s for s in range(len(spans[i])))]
        self.reused = len(texts) - len(todo)
        n_parts = len(list(self.folder.glob("part-*.npz")))
        finished = self.reused
        if progress and finished:
            progress(finished)
        embed_spans = getattr(self.inner, "embed_spans", None)
        if embed_spans is None:  # a duck-typed embedder (e.g. bench/standin.py): the generic version
            from rag.embed.base import Embedder

            def embed_spans(t, sp, bs):
                return Embedder.embed_spans(self.inner, t, sp, bs)
        for s0 in range(0, len(todo), SLICE):
            idx = todo[s0 : s0 + SLICE]
            vecs, span_vecs = embed_spans([texts[i] for i in idx], [spans[i] for i in idx], batch_size)
            vecs = np.asarray(vecs, dtype=np.float32)
            part_keys = [keys[i] for i in idx]
            part_vecs = [vecs]
            for i, sv in zip(idx, span_vecs):
                part_keys += [_span_key(texts[i], a, b) for a, b in spans[i]]
                part_vecs.append(np.asarray(sv, dtype=np.float32).reshape(-1, vecs.shape[1]))
            self._write_part(n_parts, part_keys, np.vstack(part_vecs))
            n_parts += 1
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), np.float32)
            out[idx] = vecs
            for i, sv in zip(idx, span_vecs):
                span_out[span_rows[i] : span_rows[i] + len(sv)] = sv
            release_pages(span_out)
            finished += len(idx)
            if progress:
                progress(finished)
        if out is None:
            return np.zeros((0, self.dim), np.float32)
        return out

    def embed_batch(self, texts):
        return self.inner.embed_batch(texts)

    def embed(self, text):
        return self.inner.embed(text)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def release_pages(out) -> None:
    """When ``out`` is a memory-mapped file (the build's sentence vectors), write its pages out and
    drop them from this process's memory: at 100k paragraphs the build's peak RSS fell from 1,428
    to 1,191 MB in this step (the whole build: 1,227 MB; bench/scale.py --sizes 100000 --embedder standin)."""
    mm = getattr(out, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        out.flush()
        mm.madvise(mmap.MADV_DONTNEED)


def _span_key(text: str, start: int, end: int) -> bytes:
    return _key(f"\x00span {start} {end}\x00{text}")


class _Sink(dict):
    """Stands in for an output array while the width is not yet known: ``sink[i] = v``."""

    def __init__(self, target: dict):
        super().__init__()
        self.target = target

    def __setitem__(self, i, v):
        self.target[i] = v


def folder_for(out: Path, settings: dict) -> Path:
    """``out/.embed-checkpoint-<hash of the settings>``: vectors of other settings are never mixed in."""
    import json

    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    return Path(out) / f".embed-checkpoint-{h}"
