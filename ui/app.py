"""The Gradio chat window: ``demo = build(Assistant.load()); launch(demo, port=7860)``."""

from __future__ import annotations

import os
from pathlib import Path

from . import render
from .chat import Chat
from .feedback import FeedbackLog, default_path
from .style import CSS

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

EXAMPLES = (
    "Why might Antonov's appointment matter?",
    "Who is the Russian ambassador with whom Flynn discussed sanctions?",
    "What did Sean Spicer say Trump expects of the Russian government?",
    "Who is Leonid Slutsky?",
)
# Two CPU cores: two answers at a time keeps both busy; more only adds contention.
CONCURRENCY = 2
QUEUE_MAX = 64


def generator_choices(config) -> list[str]:
    """``["extractive", "local"]``, plus ``"openai"`` when a base URL is configured."""
    return ["extractive", "local"] + (["openai"] if getattr(config, "openai_base_url", None) else [])


def theme():
    """Gradio's default look with system fonts: nothing is fetched from a font CDN."""
    import gradio as gr

    return gr.themes.Default(primary_hue="blue", font=["ui-sans-serif", "system-ui", "Segoe UI", "sans-serif"],
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def build(assistant, config=None, feedback_path=None):
    """The Blocks app around ``assistant`` (a loaded ``rag.Assistant``)."""
    import gradio as gr

    config = config or assistant.config
    chat = Chat(assistant, FeedbackLog(Path(feedback_path) if feedback_path else default_path(config)))
    docs = list(assistant.documents.values())
    first = docs[0] if docs else None
    title = first.title if len(docs) == 1 else f"{len(docs)} documents"
    choices = generator_choices(config)

    with gr.Blocks(title="ragqa — ask the article") as demo:
        gr.HTML(f'<div class="rq-header"><h1>Ask the article</h1><div class="rq-sub">{render.escape(title)}'
                " — every answer cites its paragraphs [¶N]; if the article doesn't say, neither do we.</div></div>")
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    label="Conversation", height="68vh", min_height=420, elem_id="rq-chat", sanitize_html=True,
                    render_markdown=True, latex_delimiters=[], allow_tags=False, buttons=["copy"],
                    feedback_options=("Like", "Dislike"), layout="bubble",
                    placeholder="Ask a question about the article. Answers stream in with the cited "
                                "paragraphs underneath, the supporting sentence highlighted.")
                with gr.Row(equal_height=True):
                    box = gr.Textbox(show_label=False, placeholder="Ask a question about the article…",
                                     scale=8, autofocus=True, elem_id="rq-question", max_lines=4)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="rq-ask")
                with gr.Row(elem_classes="rq-examples"):
                    gr.HTML('<span class="rq-try">Try:</span>', padding=False)
                    example_buttons = [gr.Button(q, size="sm", variant="secondary", elem_classes="rq-example")
                                       for q in EXAMPLES]
                with gr.Accordion("Settings", open=False):
                    with gr.Row():
                        k = gr.Slider(1, 10, value=min(max(config.k, 1), 10), step=1,
                                      label="Number of passages")
                        generator = gr.Dropdown(choices, value=config.generator if config.generator in choices
                                                else "extractive", label="Generator")
            with gr.Tab("Article", id="article"):
                picker = gr.Dropdown([(d.title or d.doc_id, d.doc_id) for d in docs],
                                     value=first.doc_id if first else None, label="Document",
                                     interactive=len(docs) > 1, elem_id="rq-doc")
                article = gr.HTML(render.document_html(first) if first else "", elem_id="rq-article")

        chat_io = dict(inputs=[box, chatbot, turns, k, generator], outputs=[box, chatbot, turns],
                       api_visibility="private", concurrency_id="answer")
        box.submit(chat.respond, **chat_io)
        send.click(chat.respond, **chat_io)
        for b in example_buttons:
            b.click(chat.respond, inputs=[b, chatbot, turns, k, generator], outputs=[box, chatbot, turns],
                    api_visibility="private", concurrency_id="answer")
        chatbot.retry(chat.retry, [chatbot, turns, k, generator], [box, chatbot, turns],
                      api_visibility="private", concurrency_id="answer")
        chatbot.undo(chat.undo, [chatbot, turns], [box, chatbot, turns], api_visibility="private", queue=False)
        chatbot.clear(lambda: [], None, turns, api_visibility="private", queue=False)
        chatbot.like(chat.like, [chatbot, turns], None, api_visibility="private", concurrency_limit=None)
        picker.change(chat.document, picker, article, api_visibility="private", queue=False)
        gr.api(chat.ask_api, api_name="ask", concurrency_id="answer")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX)
    return demo


def launch(demo, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False, auth=None,
           prevent_thread_lock: bool = False, quiet: bool = False):
    """Serve ``demo`` (see ``build``) with our theme and CSS; returns what ``Blocks.launch`` returns."""
    return demo.launch(server_name=host, server_port=port, share=share, auth=auth, ssr_mode=False,
                       prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=True,
                       theme=theme(), css=CSS, footer_links=["api"])


def warm(assistant, question: str = EXAMPLES[0]) -> float:
    """Answer one question so models and indexes are loaded before the first user; returns seconds."""
    import time

    t0 = time.perf_counter()
    assistant.ask(question)
    return time.perf_counter() - t0
