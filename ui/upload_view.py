"""The upload control's event: check and queue the files, report progress until the index commits,
then refresh the page (header, examples, document list) for the new index. The job itself runs in
``ui.upload.Indexer``'s thread, so closing the tab does not interrupt it."""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402  (gr.Request hints must resolve at module level)

from . import render  # noqa: E402
from .chat import _paths  # noqa: E402

POLL = 0.3  # seconds between progress updates


def status_html(job) -> str:
    """An upload's progress or outcome."""
    if job is None:
        return ""
    names = ", ".join(job.names[:4]) + (f" and {len(job.names) - 4} more" if len(job.names) > 4 else "")
    refused = "".join(f'<li class="rq-refused">{render.escape(n)}: {render.escape(r)}</li>' for n, r in job.refused)
    refused = f"<ul>{refused}</ul>" if refused else ""
    if job.state == "done":
        added = ", ".join(f"{n} (as “{t}”)" for n, t in job.added)
        return (f'<div class="rq-status-line" role="status">✓ Added {render.escape(added)}. Ask about '
                f"{'them' if len(job.added) > 1 else 'it'} now.</div>{refused}")
    if job.state == "failed":
        return (f'<div class="rq-status-line rq-refused" role="alert">Nothing was added: '
                f"{render.escape(job.error or 'failed')}.</div>{refused}")
    pct = int(100 * job.done / job.total) if job.total else 0
    what = {"queued": "waiting for the previous upload", "reading": "reading the files",
            "embedding": f"embedding passages and sentences ({job.done} of {job.total})",
            "saving": "saving the index", "reloading": "loading the new index and checking example questions"}
    bar = f'<div class="rq-progress"><div style="width:{pct}%"></div></div>' if job.state == "embedding" else ""
    return (f'<div class="rq-status-line" role="status">Adding {render.escape(names)}: '
            f"{render.escape(what.get(job.state, job.state))}…</div>{bar}")



class UploadView:
    def __init__(self, chat, indexer, page, n_page_outputs: int):
        self.chat, self.indexer, self.page, self.n = chat, indexer, page, n_page_outputs

    async def upload(self, files, request: gr.Request):
        """Yields [status, *page outputs, document view] while the upload is processed."""
        skip = [gr.skip()] * (self.n + 1)
        try:
            self.chat.check_upload_allowed(request)
        except gr.Error as exc:
            yield [f'<div class="rq-status-line rq-refused" role="alert">{render.escape(exc.message)}</div>', *skip]
            return
        job = self.indexer.submit(_paths(files))
        while not job.finished.is_set():
            yield [status_html(job), *skip]
            await asyncio.sleep(POLL)
        if job.state == "done":
            added = job.doc_ids[0] if job.doc_ids else None
            yield [status_html(job), *self.page(added), self.chat.document(added) if added else gr.skip()]
        else:
            yield [status_html(job), *skip]
