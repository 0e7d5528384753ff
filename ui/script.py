"""The page's JavaScript (added to ``<head>`` by ``ui.app.launch``) and the small ``js=`` snippets
run before and after the asking events.

- While an answer runs (``body.rq-busy``), the question box stays editable but Enter, Ask, the
  examples and suggestions do nothing except say so: text typed meanwhile is never sent, cleared
  or changed. The box is cleared only when a question is actually sent, in the browser, at once.
- Citation links (``#rq-cite-T-I``) open the document view through a hidden textbox and button;
  suggestion links (``#rq-suggest-T``) ask the suggested question the same way.
- Copy puts the answer's Markdown (a hidden ``pre.rq-md`` in the message) on the clipboard.
- A new answer scrolls the chat to its first line (Gradio would scroll to its last).
"""

HEAD = r"""
<script>
(() => {
  if (window.__ragqa) return;
  window.__ragqa = true;
  const $ = (s, r = document) => r.querySelector(s);
  const busy = () => document.body.classList.contains("rq-busy");
  let busySince = 0, sawRunning = false, hintTimer = null;
  window.rqSetBusy = (on) => {
    document.body.classList.toggle("rq-busy", !!on);
    busySince = on ? Date.now() : 0;
    sawRunning = false;
  };
  // Busy ends when the answer that was running is gone (its final message replaced it), or, if
  // none ever showed (a blank question, a lost connection), after 3 s.
  const checkIdle = () => {
    if (!busy()) return;
    const running = !!$("#rq-chat .rq-running");
    if (running) { sawRunning = true; return; }
    if (sawRunning || Date.now() - busySince > 3000) window.rqSetBusy(false);
  };
  const hint = (text) => {
    const el = $("#rq-hint");
    if (!el) return;
    el.textContent = text;
    el.classList.add("rq-show");
    clearTimeout(hintTimer);
    hintTimer = setTimeout(() => el.classList.remove("rq-show"), 4000);
  };
  const BUSY_HINT = "An answer is still being written: your text stays in the box. " +
                    "Press Stop, or send it when the answer is done.";
  const send = (boxSel, btnSel, value) => {
    const box = $(boxSel + " textarea") || $(boxSel + " input");
    const btn = $(btnSel);
    if (!box || !btn) return;
    box.value = value;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => btn.click(), 0);
  };
  // Enter in the question box while an answer runs: keep the text, do not send.
  const guardKey = (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    if (!e.target.closest || !e.target.closest("#rq-question")) return;
    if (busy()) { e.preventDefault(); e.stopImmediatePropagation(); if (e.type === "keydown") hint(BUSY_HINT); }
  };
  window.addEventListener("keydown", guardKey, true);
  window.addEventListener("keypress", guardKey, true);
  document.addEventListener("click", (e) => {
    const t = e.target.closest ? e.target : e.target.parentElement;
    if (!t) return;
    const a = t.closest("a.rq-cite, a.rq-src, a.rq-suggest");
    if (a) {
      e.preventDefault();
      const ref = (a.getAttribute("href") || "").replace(/^#/, "");
      if (a.classList.contains("rq-suggest")) {
        if (busy()) { hint(BUSY_HINT); return; }
        send("#rq-suggest-box", "#rq-suggest-go", ref);
      } else {
        send("#rq-nav-box", "#rq-nav-go", ref);
      }
      return;
    }
    if (busy() && t.closest("#rq-ask, .rq-example")) {
      e.preventDefault(); e.stopImmediatePropagation(); hint(BUSY_HINT); return;
    }
    const copy = t.closest("button.rq-copy");
    if (copy) {
      e.preventDefault();
      const md = copy.closest(".rq-answer")?.querySelector("pre.rq-md")?.textContent || "";
      const done = () => { copy.textContent = "Copied ✓"; setTimeout(() => (copy.textContent = "Copy"), 1500); };
      const fallback = () => {
        const ta = document.createElement("textarea");
        ta.value = md; ta.style.position = "fixed"; ta.style.opacity = "0";
        document.body.appendChild(ta); ta.select();
        try { document.execCommand("copy"); done(); } catch (_) { hint("Copy failed: select the text instead."); }
        ta.remove();
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(md).then(done, fallback);
      else fallback();
    }
  }, true);
  // A new answer: scroll the chat so its first line is at the top (not its last line).
  let lastTurn = null;
  const scrollToAnswer = () => {
    const answers = document.querySelectorAll("#rq-chat .rq-answer[id^='rq-a-']");
    const el = answers[answers.length - 1];
    if (!el) return;
    const key = el.id + (el.classList.contains("rq-final") ? ":final" : ":pending");
    if (key === lastTurn) return;
    lastTurn = key;
    let box = el.parentElement;  // the chat's scrolling container
    while (box && !(box.scrollHeight > box.clientHeight + 4 && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
      box = box.parentElement;
    }
    if (box) box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 48;
    const r = el.getBoundingClientRect();  // and the page, when the answer is out of view
    if (r.top < 0 || r.top > window.innerHeight - 120) el.scrollIntoView({ block: "start", behavior: "instant" });
  };
  new MutationObserver(() => { scrollToAnswer(); checkIdle(); })
    .observe(document.documentElement, { childList: true, subtree: true });
  setInterval(checkIdle, 1000);
})();
</script>
"""

# Before a question is sent: mark the page busy and empty the box at once, in the browser, so
# nothing typed after Enter can be wiped by a late server update (the server never writes the box).
SEND = """(...args) => {
  window.rqSetBusy && window.rqSetBusy(true);
  const ta = document.querySelector('#rq-question textarea');
  if (ta) { ta.value = ''; ta.dispatchEvent(new Event('input', { bubbles: true })); }
  return args;
}"""

# Before an example, retry or suggestion is asked (the box is left alone).
BUSY = """(...args) => { window.rqSetBusy && window.rqSetBusy(true); return args; }"""

# After the answer event ends, whatever way it ended.
IDLE = """() => { window.rqSetBusy && window.rqSetBusy(false); }"""

# After the document view opened at a citation: bring the highlighted paragraph into view.
SCROLL_TO_TARGET = """() => {
  const go = (tries) => {
    const t = document.querySelector('#rq-article .rq-target');
    if (t && t.offsetParent !== null) { t.scrollIntoView({ block: 'center', behavior: 'instant' }); return; }
    if (tries > 0) setTimeout(() => go(tries - 1), 100);
  };
  go(20);
}"""
