"""The chat window's CSS (a Python string, so a plain wheel install needs no package data).

Class names ``rq-*`` come from ``ui/render.py``: ``launch(demo)`` passes ``CSS`` to Gradio.
"""

CSS = """
.rq-header h1 { font-size: 1.5rem; margin: 0.2rem 0 0.1rem; }
.rq-header .rq-sub { color: var(--body-text-color); opacity: 0.7; font-size: 0.95rem; }

.rq-answer { line-height: 1.55; }
.rq-text, .rq-abstain { margin-bottom: 0.4rem; }
.rq-abstain { font-weight: 600; color: #9a3412; }
.dark .rq-abstain { color: #fdba74; }
.rq-pending { color: var(--body-text-color-subdued); font-style: italic; }
.rq-cite { color: #1d4ed8; font-weight: 600; white-space: nowrap; }
.dark .rq-cite { color: #93c5fd; }
.rq-cursor { opacity: 0.6; }

.rq-notice { border-left: 4px solid #d97706; background: #fffbeb; color: #78350f;
             padding: 0.35rem 0.6rem; margin: 0 0 0.5rem; border-radius: 4px; font-size: 0.92rem; }
.rq-error { border-left-color: #dc2626; background: #fef2f2; color: #7f1d1d; }

.rq-sources { border-top: 1px solid var(--border-color-primary); margin-top: 0.5rem; padding-top: 0.4rem; }
.rq-heading { font-size: 0.8rem; font-weight: 700; letter-spacing: 0.04em; text-transform: uppercase;
              color: var(--body-text-color); opacity: 0.65; margin-bottom: 0.3rem; }
.rq-cited { border-left: 3px solid #2563eb; padding: 0.2rem 0 0.2rem 0.6rem; margin: 0.3rem 0 0.5rem; }
.rq-label { font-weight: 700; font-size: 0.85rem; }
.rq-score { color: var(--body-text-color); opacity: 0.7; font-size: 0.8rem; margin-left: 0.3rem; }
.rq-para { font-size: 0.93rem; }
.rq-answer mark { background: #fde68a; color: inherit; padding: 0 0.1rem; border-radius: 2px; }
.dark .rq-answer mark { background: #854d0e; }
.rq-answer details { margin-top: 0.4rem; font-size: 0.92rem; }
.rq-answer summary { cursor: pointer; color: var(--body-text-color); opacity: 0.8; font-weight: 600; }
.rq-passages { margin: 0.3rem 0 0 1.2rem; padding: 0; }
.rq-passage { margin-bottom: 0.5rem; }

.rq-examples { align-items: center; gap: 0.4rem; flex-wrap: wrap; }
.rq-examples .rq-try { color: var(--body-text-color-subdued); font-size: 0.9rem; }
.rq-examples button.rq-example { flex: 0 1 auto !important; min-width: 0 !important; }

.rq-article { max-width: 52rem; line-height: 1.6; }
.rq-article h2 { margin-bottom: 0.1rem; }
.rq-article .rq-meta { color: var(--body-text-color-subdued); margin-bottom: 1rem; }
.rq-article-p { margin: 0 0 0.8rem; }
.rq-pn { font-weight: 700; color: #1d4ed8; text-decoration: none; margin-right: 0.3rem; }
.rq-article-p:target { background: #fef9c3; }
"""
