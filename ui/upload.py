"""Adding documents from the chat window: server-side checks, then the incremental indexer in one
background thread, then the chat switches to the new index.

``add_files`` is the one place that writes an index; everything else here prepares its input and
reports progress. The index on disk changes only when ``build_index`` commits its manifest, so a
failed or interrupted upload loses nothing. Uploaded files are copied (never overwriting anything)
into ``uploads/`` inside the index directory, so citations can link to them.

Where uploads go: with ``ragqa chat --index DIR``, into DIR. With the bundled article (which ragqa
rebuilds from its own copy whenever it changes), into a separate index (``--upload-index``, by
default ``~/.local/share/ragqa/uploads-index``) that starts as a copy of the article.
"""

from __future__ import annotations

import itertools
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_FILES = 20  # per upload


def default_upload_index() -> Path:
    """Where the bundled article's chat puts uploads: ``$XDG_DATA_HOME/ragqa/uploads-index``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ragqa" / "uploads-index"


def add_files(existing, files, index_dir, config, embedder=None, progress=None):
    """Add ``files`` (paths or Documents) to the index in ``index_dir`` with ``rag.add_documents``:
    documents already there stay and keep their vectors; ``existing`` (the served documents) seeds a
    new index, e.g. the uploads copy of the bundled article. Returns the ``BuildReport``."""
    from rag import add_documents

    return add_documents([*existing, *files], index_dir, config, embedder=embedder, progress=progress)


def refusal(path, name: str, max_mb: float) -> str | None:
    """Why the uploaded file ``path`` (shown to the user as ``name``) is refused, or None.

    ``refusal("/tmp/x", "run.exe", 25) == ".exe files are not accepted (use .txt, .md, .html, .pdf or .docx)"``
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED:
        kind = f"{suffix} files are" if suffix else "files without an extension are"
        return f"{kind} not accepted (use .txt, .md, .html, .pdf or .docx)"
    try:
        size = os.path.getsize(path)
    except OSError:
        return "the upload did not arrive"
    if size == 0:
        return "the file is empty"
    if size > max_mb * 2**20:
        return f"the file is {size / 2**20:.1f} MB, over the {max_mb:g} MB limit"
    return None


def safe_name(name: str) -> str:
    """A file name that is safe to create: ``safe_name("../a b?.md") == "a b_.md"``."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).lstrip(".") or "upload"
    stem, suffix = os.path.splitext(base)
    return stem[:80] + suffix.lower()


@dataclass
class Job:
    """One upload: its files, where it is, and what came of it."""

    id: int
    files: list  # (path on disk, name the user gave it)
    state: str = "queued"  # queued, reading, embedding, saving, reloading, done, failed
    done: int = 0
    total: int = 0
    added: list = field(default_factory=list)  # (file name, document title)
    doc_ids: list = field(default_factory=list)  # of the added documents
    refused: list = field(default_factory=list)  # (file name, reason)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def names(self) -> list[str]:
        return [n for _, n in self.files]

    def summary(self) -> str:
        """What happened, in plain text, one line per file."""
        lines = [f"added {n} as “{t}”" for n, t in self.added]
        lines += [f"refused {n}: {r}" for n, r in self.refused]
        if self.error:
            lines.append(f"nothing was added: {self.error}")
        return "\n".join(lines) or "nothing to add"


class Indexer:
    """Runs uploads one at a time in a background thread (a closed tab does not stop it)."""

    def __init__(self, live, target: Path, config, max_mb: float | None = None):
        self.live = live
        self.target = Path(target)
        self.config = config.replace(index_dir=self.target)
        self.max_mb = max_mb if max_mb is not None else config.max_file_mb
        self._jobs: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self.current: Job | None = None
        threading.Thread(target=self._run, daemon=True, name="ragqa-upload").start()

    def submit(self, files) -> Job:
        """Queue ``files`` ((path, name) pairs) for indexing; returns the job to watch."""
        job = Job(next(self._ids), list(files))
        self._jobs.put(job)
        return job

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            self.current = job
            try:
                self._process(job)
            except Exception as exc:  # never let one bad upload kill the worker
                job.error = job.error or f"unexpected error: {exc}"
                job.state = "failed"
            finally:
                job.finished.set()
                self.current = None

    def _existing(self, assistant) -> dict:
        """The documents the new index must keep: the ones being served, plus (bundled mode) those
        already in the upload index from earlier sessions."""
        from rag import RagError, Retriever

        docs = dict(assistant.documents)
        served = Path(assistant.config.resolved_index_dir).resolve()
        if served != self.target.resolve() and self.target.exists():
            if not (self.target / "manifest.json").exists():
                if any(self.target.iterdir()):
                    raise RagError(f"{self.target} exists and is not a ragqa index; choose another --upload-index")
                return docs
            earlier = Retriever.load(self.target, self.config, embedder=assistant.retriever.embedder).documents
            for doc_id, doc in earlier.items():
                docs.setdefault(doc_id, doc)
        return docs

    def _process(self, job: Job) -> None:
        from rag import Assistant, IngestError, RagError, Retriever, load_document

        job.state = "reading"
        assistant = self.live.snapshot()[0]
        accepted = []
        for i, (path, name) in enumerate(job.files):
            name = Path(str(name)).name or "upload"
            reason = "more than {MAX_FILES} files at once".format(MAX_FILES=MAX_FILES) if i >= MAX_FILES \
                else refusal(path, name, self.max_mb)
            (job.refused.append((name, reason)) if reason else accepted.append((path, name)))
        if not accepted:
            job.state, job.error = "failed", "no file was accepted"
            return
        try:
            existing = self._existing(assistant)
        except RagError as exc:
            job.state, job.error = "failed", str(exc)
            return
        uploads = self.target / "uploads"
        by_hash = {d.content_hash: d for d in existing.values()}
        ids = set(existing)
        created, docs = [], []
        try:
            from rag.store.ownership import claim

            claim(self.target)  # a new or empty folder becomes an index first; a folder of someone's files is refused
            uploads.mkdir(parents=True, exist_ok=True)
            for path, name in accepted:
                dest = _unique(uploads, safe_name(name), ids)
                with open(path, "rb") as src, open(dest, "xb") as out:  # "x": never overwrite
                    out.write(src.read())
                created.append(dest)
                try:
                    doc = load_document(dest, int(self.max_mb * 2**20))
                except IngestError as exc:
                    job.refused.append((name, str(exc).replace(str(dest), "").lstrip(": ") or str(exc)))
                    dest.unlink()
                    created.remove(dest)
                    continue
                if doc.content_hash in by_hash:
                    twin = by_hash[doc.content_hash]
                    job.refused.append((name, f"already in the index as “{twin.title or twin.doc_id}”"))
                    dest.unlink()
                    created.remove(dest)
                    continue
                by_hash[doc.content_hash] = doc
                ids.add(doc.doc_id)
                docs.append(doc)
                job.added.append((name, doc.title or doc.doc_id))
                job.doc_ids.append(doc.doc_id)
            if not docs:
                job.state, job.error = "failed", "no readable new document"
                return
            job.state = "embedding"

            def progress(done, total):
                job.done, job.total = done, total
                if total and done >= total:
                    job.state = "saving"

            embedder = assistant.retriever.embedder
            add_files(existing.values(), docs, self.target, self.config, embedder, progress)
        except (RagError, OSError) as exc:
            for f in created:  # files this upload made; the index never pointed at them
                f.unlink(missing_ok=True)
            job.added.clear()
            job.doc_ids.clear()
            job.state, job.error = "failed", getattr(exc, "strerror", None) or str(exc)
            return
        job.state = "reloading"
        try:
            fresh = Assistant(Retriever.load(self.target, self.config, embedder=embedder),
                              assistant.generator_name, self.config)
            self.live.swap(fresh, bundled=False)
        except RagError as exc:
            job.state, job.error = "failed", f"the index was updated but could not be reloaded: {exc}"
            return
        job.state = "done"


def _unique(folder: Path, name: str, ids: set) -> Path:
    """``folder/name``, or ``folder/stem-2.ext`` ... when that file exists or ``stem`` is already a
    document id (a new document never replaces an indexed one)."""
    stem, suffix = os.path.splitext(name)
    candidate, n = stem, 1
    while (folder / f"{candidate}{suffix}").exists() or candidate in ids:
        n += 1
        candidate = f"{stem}-{n}"
    return folder / f"{candidate}{suffix}"
