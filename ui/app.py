"""The Gradio chat window: ``demo = build(Assistant.load()); launch(demo, port=7860)``."""

from __future__ import annotations

import os
from pathlib import Path

from rag.store.textstore import titles

from . import render
from .chat import Chat
from .examples import CURATED, SHOWN
from .feedback import FeedbackLog, default_path
from .live import Live
from .script import BUSY, HEAD, IDLE, SCROLL_TO_TARGET, SEND
from .style import CSS
from .upload import ALLOWED, Indexer
from .upload_view import UploadView

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

EXAMPLES = CURATED  # the bundled article's examples (kept for callers of ui.app.EXAMPLES)
# Two CPU cores: two answers at a time keeps both busy; more only adds contention.
CONCURRENCY = 2
QUEUE_MAX = 64


def generator_choices(config) -> list[str]:
    """The registered generators (``rag.answer.registry``); ``"openai"`` only when a base URL is set."""
    from rag.answer.registry import GENERATORS

    return [n for n in GENERATORS.names() if n != "openai" or getattr(config, "openai_base_url", None)]


def generator_help(config, labels) -> str:
    """One line per generator the user can pick, as an HTML list."""
    model = getattr(config, "model_path", None)
    local = (f"the GGUF model {Path(model).name}" if model else
             "SmolLM2-135M, a tiny demo model (name a better GGUF with --model-path)")
    lines = {
        "extractive": f"quotes the sentences of {labels.name} that best answer the question: instant, and it "
                      "never says anything the text doesn't.",
        "local": f"{local}, running inside this server, writes the answer in its own words; slow on a CPU. "
                 "Sentences it cannot tie to a paragraph are removed.",
        "openai": f"the model at {getattr(config, 'openai_base_url', '')} writes the answer, shown as it arrives; "
                  "the same citation checks apply.",
    }
    from rag.answer.registry import GENERATORS

    helps = {e.name: e.help for e in GENERATORS}
    items = "".join(f"<li><b>{g}</b> — {render.escape(lines.get(g) or helps.get(g, ''))}</li>"
                    for g in generator_choices(config))
    return f'<ul class="rq-gen-help">{items}</ul>'


def header_html(labels) -> str:
    return (f'<div class="rq-header"><h1>{render.escape(labels.header)}</h1>'
            f'<div class="rq-sub">{render.escape(labels.subtitle)}</div></div>')


def _example_updates(examples):
    import gradio as gr

    padded = list(examples)[:SHOWN] + [""] * (SHOWN - len(examples[:SHOWN]))
    return [gr.update(value=q, visible=bool(q)) for q in padded]


def build(assistant, config=None, feedback_path=None, *, name: str | None = None, uploads_to=None,
          upload_note: str = "", auth: bool = False):
    """The Blocks app around ``assistant`` (a loaded ``rag.Assistant``, or a ``Live``).

    ``uploads_to``: the index directory uploads are committed to (None: no upload control, and
    ``upload_note`` says why). ``auth``: a login is configured, and uploads require it.
    """
    import gradio as gr

    live = assistant if isinstance(assistant, Live) else Live(assistant, name=name)
    config = config or live.assistant.config
    indexer = Indexer(live, uploads_to, config) if uploads_to is not None else None
    chat = Chat(live, FeedbackLog(Path(feedback_path) if feedback_path else default_path(config)), indexer, auth)
    assistant, labels, examples = live.snapshot()
    docs = titles(assistant.documents)  # doc_id -> title: no document text is read for the picker
    first = next(iter(docs), None)
    choices = generator_choices(config)

    with gr.Blocks(title=f"ragqa — {labels.header}") as demo:
        header = gr.HTML(header_html(labels), padding=False)
        turns = gr.State([])
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    show_label=False, elem_id="rq-chat", autoscroll=False, sanitize_html=True,
                    render_markdown=True, latex_delimiters=[], allow_tags=False, buttons=[],
                    feedback_options=("Like", "Dislike"), layout="bubble",
                    placeholder="Answers appear here with the cited paragraphs underneath, the supporting sentence "
                                "highlighted. Click a citation to read it in context.")
                with gr.Row(equal_height=True, elem_id="rq-input-row"):
                    box = gr.Textbox(show_label=False, placeholder=labels.placeholder, scale=8, autofocus=True,
                                     elem_id="rq-question", max_lines=4)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="rq-ask")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="rq-stop")
                gr.HTML('<div id="rq-hint" role="status" aria-live="polite"></div>', padding=False,
                        elem_id="rq-hint-wrap")
                with gr.Row(elem_classes="rq-examples"):
                    gr.HTML('<span class="rq-try">Try:</span>', padding=False, elem_id="rq-try-wrap")
                    padded = list(examples)[:SHOWN] + [""] * (SHOWN - len(examples[:SHOWN]))
                    example_buttons = [gr.Button(q or " ", size="sm", variant="secondary", elem_classes="rq-example",
                                                 visible=bool(q)) for q in padded]
                with gr.Row(elem_classes="rq-actions"):
                    upload_btn = (gr.UploadButton("Add documents…", file_count="multiple", file_types=list(ALLOWED),
                                                  size="sm", elem_id="rq-upload") if indexer else None)
                    export_btn = gr.DownloadButton("Export conversation (.md)", size="sm", elem_id="rq-export")
                upload_status = gr.HTML(f'<div class="rq-status-line">{render.escape(upload_note)}</div>'
                                        if upload_note else "", elem_id="rq-upload-status", padding=False)
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 10, value=min(max(config.k, 1), 10), step=1, label="Number of passages",
                                  info="How many passages are retrieved for each question and given to the generator.")
                    generator = gr.Radio(choices, value=config.generator if config.generator in choices
                                         else "extractive", label="Generator")
                    gr.HTML(generator_help(config, labels), padding=False)
            with gr.Tab(labels.tab, id="doc") as doc_tab:
                back = gr.Button("← Back to the chat", size="sm", variant="secondary", elem_id="rq-doc-back")
                picker = gr.Dropdown([(t or d, d) for d, t in docs.items()],
                                     value=first, label="Document",
                                     interactive=len(docs) > 1, elem_id="rq-doc")
                article = gr.HTML(chat.document(first) if first else "", elem_id="rq-article")
        with gr.Row(elem_classes="rq-hidden"):
            nav_box = gr.Textbox(elem_id="rq-nav-box", show_label=False, container=False)
            nav_go = gr.Button("open", elem_id="rq-nav-go")
            sugg_box = gr.Textbox(elem_id="rq-suggest-box", show_label=False, container=False)
            sugg_go = gr.Button("ask", elem_id="rq-suggest-go")
            if indexer:
                api_files = gr.File(file_count="multiple", show_label=False)
                api_go = gr.Button("add")
                api_out = gr.Textbox(show_label=False, container=False)

        private = dict(api_visibility="private", show_progress="hidden")

        def chain(event):
            """After a question is shown: answer it, refresh the export file, mark the page idle."""
            return (event.then(chat.answer, [chatbot, turns, k, generator], [chatbot, turns],
                               concurrency_id="answer", **private)
                    .then(chat.export_file, [turns], [export_btn], queue=False, **private)
                    .then(None, None, None, js=IDLE, **private))

        chain(box.submit(chat.start, [box, chatbot, turns], [chatbot, turns], js=SEND, queue=False, **private))
        chain(send.click(chat.start, [box, chatbot, turns], [chatbot, turns], js=SEND, queue=False, **private))
        for b in example_buttons:
            chain(b.click(chat.start, [b, chatbot, turns], [chatbot, turns], js=BUSY, queue=False, **private))
        chain(chatbot.retry(chat.start_retry, [chatbot, turns], [chatbot, turns], js=BUSY, queue=False, **private))
        chain(sugg_go.click(chat.start_suggestion, [sugg_box, chatbot, turns], [chatbot, turns], js=BUSY,
                            queue=False, **private))
        stop.click(chat.stop, None, None, queue=False, **private)
        chatbot.undo(chat.undo, [chatbot, turns], [box, chatbot, turns], queue=False, **private)
        chatbot.clear(lambda: [], None, turns, queue=False, **private)
        chatbot.like(chat.like, [chatbot, turns], None, concurrency_limit=None, **private)
        picker.input(chat.document, picker, article, queue=False, **private)
        nav_go.click(chat.open_citation, [nav_box, turns], [tabs, picker, article], queue=False, **private) \
            .then(None, None, None, js=SCROLL_TO_TARGET, **private)
        back.click(lambda: gr.Tabs(selected="chat"), None, tabs, queue=False, **private)
        demo.unload(chat.forget)
        gr.api(chat.ask_api, api_name="ask", concurrency_id="answer")

        page_outputs = [header, *example_buttons, picker, doc_tab, box]

        def page(selected: str | None = None):
            """Header, examples, document picker, tab and placeholder for the index served now."""
            a, lab, ex = live.snapshot()
            ds = titles(a.documents)
            value = selected if selected in ds else next(iter(ds), None)
            return [header_html(lab), *_example_updates(ex),
                    gr.update(choices=[(t or d, d) for d, t in ds.items()], value=value,
                              interactive=len(ds) > 1),
                    gr.Tab(label=lab.tab), gr.update(placeholder=lab.placeholder)]

        if indexer:
            upload = UploadView(chat, indexer, page, len(page_outputs)).upload
            upload_btn.upload(upload, [upload_btn], [upload_status, *page_outputs, article],
                              concurrency_id="upload", concurrency_limit=4, **private)
            api_go.click(chat.add_files_api, [api_files], [api_out], api_name="add_files",
                         concurrency_id="upload", show_progress="hidden")
            demo.load(lambda: page(), None, page_outputs, queue=False, **private)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX)
    demo.ragqa_chat = chat  # for tests and the CLI (allowed file paths)
    return demo


def allowed_paths(demo) -> list[str]:
    """Files the server may serve: uploaded originals (linked from the document view)."""
    chat = getattr(demo, "ragqa_chat", None)
    target = getattr(getattr(chat, "indexer", None), "target", None)
    return [str((Path(target) / "uploads").resolve())] if target is not None else []


def launch(demo, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False, auth=None,
           prevent_thread_lock: bool = False, quiet: bool = False, max_file_mb: float = 25.0):
    """Serve ``demo`` (see ``build``) with our theme, CSS and script; returns what ``Blocks.launch`` returns.

    Gradio refuses uploads over twice ``max_file_mb`` outright (so a huge upload never fills the
    disk); smaller oversized files reach our own check, which names the file and the limit.
    """
    return demo.launch(server_name=host, server_port=port, share=share, auth=auth, ssr_mode=False,
                       prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=True,
                       theme=theme(), css=CSS, head=HEAD, footer_links=["api"], allowed_paths=allowed_paths(demo),
                       max_file_size=int(2 * max_file_mb * 2**20) + 2**20)


def theme():
    """Gradio's default look with system fonts: nothing is fetched from a font CDN."""
    import gradio as gr

    return gr.themes.Default(primary_hue="blue", font=["ui-sans-serif", "system-ui", "Segoe UI", "sans-serif"],
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def warm(assistant, question: str = EXAMPLES[0]) -> float:
    """Answer one question so models and indexes are loaded before the first user; returns seconds."""
    import time

    t0 = time.perf_counter()
    assistant.ask(question)
    return time.perf_counter() - t0
