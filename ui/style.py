"""The chat window's CSS (a Python string, so a plain wheel install needs no package data).

Class names ``rq-*`` come from ``ui/render.py`` and ``ui/app.py``: ``launch(demo)`` passes ``CSS``
to Gradio.
"""

CSS = """
.rq-header h1 { font-size: 1.45rem; margin: 0.1rem 0 0.1rem; line-height: 1.25; }
.rq-header .rq-sub { color: var(--body-text-color); opacity: 0.7; font-size: 0.92rem; }

#rq-chat { height: calc(100vh - 420px) !important; min-height: 340px; }  /* leaves room for the examples and Add documents */
#rq-chat .rq-answer { line-height: 1.55; }
.rq-text, .rq-abstain { margin-bottom: 0.4rem; }
.rq-abstain { font-weight: 600; color: #9a3412; }
.dark .rq-abstain { color: #fdba74; }
.rq-pending { color: var(--body-text-color-subdued); font-style: italic; }
.rq-elapsed { font-variant-numeric: tabular-nums; }
.rq-draft { color: var(--body-text-color); opacity: 0.8; margin-top: 0.3rem; }
.rq-draft-note { font-size: 0.8rem; color: var(--body-text-color-subdued); margin-top: 0.2rem; }
.rq-cite { color: #1d4ed8; font-weight: 600; white-space: nowrap; text-decoration: none; }
a.rq-cite:hover, a.rq-src:hover { text-decoration: underline; }
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
a.rq-src { color: #1d4ed8; text-decoration: none; display: inline-block; }
.dark a.rq-src { color: #93c5fd; }
.rq-para { font-size: 0.93rem; }
.rq-answer mark { background: #fde68a; color: inherit; padding: 0 0.1rem; border-radius: 2px; }
.dark .rq-answer mark { background: #854d0e; }
.rq-answer details { margin-top: 0.4rem; font-size: 0.92rem; }
.rq-answer summary { cursor: pointer; color: var(--body-text-color); opacity: 0.8; font-weight: 600; }
.rq-passages { margin: 0.3rem 0 0 1.2rem; padding: 0; }
.rq-passage { margin-bottom: 0.5rem; }

.rq-why ul { margin: 0.3rem 0 0.3rem 1.1rem; padding: 0; }
.rq-support { display: inline-block; min-width: 3.6rem; font-size: 0.75rem; font-weight: 700; text-transform: uppercase;
              border-radius: 3px; padding: 0 0.3rem; margin-right: 0.3rem; text-align: center; }
.rq-strong { background: #dcfce7; color: #14532d; }
.rq-partial { background: #fef3c7; color: #78350f; }
.rq-weak { background: #fee2e2; color: #7f1d1d; }
.rq-where, .rq-legend, .rq-checked { color: var(--body-text-color-subdued); font-size: 0.85rem; }
.rq-try-instead a { font-weight: 600; }

.rq-tools { margin-top: 0.4rem; }
button.rq-copy { font-size: 0.8rem; padding: 0.1rem 0.6rem; border: 1px solid var(--border-color-primary);
                 border-radius: 4px; background: var(--background-fill-secondary); cursor: pointer; }
pre.rq-md { display: none !important; }

#rq-input-row { align-items: stretch; }
/* Gradio repeats each rule under a more specific container prefix, which a body class cannot
   match: the busy rules need !important to win. */
#rq-stop { display: none; }
body.rq-busy #rq-stop { display: inline-flex !important; }
body.rq-busy #rq-ask { display: none !important; }
#rq-hint { min-height: 0; font-size: 0.85rem; color: #9a3412; padding: 0 0.2rem; display: none; }
#rq-hint.rq-show { display: block; }

.rq-examples { align-items: center; gap: 0.4rem; flex-wrap: wrap; }
.rq-examples .rq-try { color: var(--body-text-color-subdued); font-size: 0.9rem; }
.rq-examples button.rq-example { flex: 0 1 auto !important; min-width: 0 !important; }
.rq-actions { align-items: center; gap: 0.5rem; flex-wrap: wrap; }
.rq-actions button { flex: 0 1 auto !important; min-width: 0 !important; }
#rq-upload-status { font-size: 0.9rem; }
.rq-status-line { padding: 0.2rem 0.1rem; }
.rq-progress { height: 6px; background: var(--border-color-primary); border-radius: 3px; overflow: hidden;
               max-width: 28rem; margin: 0.2rem 0; }
.rq-progress > div { height: 100%; background: #2563eb; }
.rq-refused { color: #7f1d1d; }
.rq-gen-help { font-size: 0.88rem; color: var(--body-text-color-subdued); margin: 0; padding-left: 1.1rem; }

.rq-article { max-width: 52rem; line-height: 1.6; }
.rq-article h2 { margin-bottom: 0.1rem; }
.rq-article .rq-meta, .rq-article .rq-source { color: var(--body-text-color-subdued); margin-bottom: 0.6rem; }
.rq-article-p { margin: 0 0 0.8rem; scroll-margin-top: 5rem; }
.rq-pn { font-weight: 700; color: #1d4ed8; text-decoration: none; margin-right: 0.3rem; }
.rq-article-p:target, .rq-article-p.rq-target { background: #fef9c3; outline: 2px solid #facc15;
                                                 border-radius: 3px; padding: 0.2rem 0.3rem; }
.rq-article mark { background: #fde68a; color: inherit; }
.dark .rq-article-p.rq-target { background: #422006; }
.rq-hidden { display: none !important; }

#rq-hint-wrap, #rq-hint-wrap .html-container { padding: 0 !important; min-height: 0 !important; }
#rq-doc-back { position: sticky; top: 0.3rem; z-index: 5; align-self: flex-start; }

/* Outside any media query: Gradio scopes rules inside media queries to its content area. */
.main.fillable { padding-left: clamp(6px, 2.5vw, 32px) !important; padding-right: clamp(6px, 2.5vw, 32px) !important; }

@media (max-width: 640px) {
  #rq-ask, #rq-stop { min-width: 64px !important; flex-grow: 0 !important; }
  .rq-header h1 { font-size: 1.15rem; }
  .rq-header .rq-sub { font-size: 0.8rem; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
                       overflow: hidden; }
  #rq-chat { height: calc(100dvh - 300px) !important; min-height: 260px; }
  .rq-examples { flex-wrap: nowrap !important; overflow-x: auto; }  /* one swipeable row */
  #rq-try-wrap { display: none !important; }
  .rq-examples button.rq-example { font-size: 0.8rem; white-space: nowrap; flex-shrink: 0 !important; }
}
"""
