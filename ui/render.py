"""HTML for the web chat: messages and the sources panel (the document list is in ``documents``).

Every piece of text that comes from a user or a document goes through ``esc`` (``html.escape``):
a document that contains ``<script>`` shows it as text. Every element that holds such text carries
``dir="auto"``, so Arabic lines run right-to-left and English ones left-to-right, each on its own.
A citation ``[n]`` of turn ``t`` links to ``#qa-src-t-n``, the id of its entry in the sources panel;
``SCRIPT`` makes the click bring that entry into view. Out of scope: the Gradio layout (``app``).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

MAX_TURNS_SHOWN = 20
_MARKER = re.compile(r"\[(\d+)\]")
_STRONG = re.compile(r"[A-Za-z\u00c0-\u024f\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def direction(text: str) -> str:
    """``rtl`` or ``ltr`` by the first strong letter, as ``dir="auto"`` decides (Hebrew/Arabic are rtl)."""
    m = _STRONG.search(str(text))
    return "rtl" if m and m.group(0) >= "\u0590" else "ltr"


def lines(text: str) -> str:
    """Each non-empty line of ``text`` as an escaped paragraph with its own direction.

    Every kind of line break goes, carriage returns included: the chat renders a message as Markdown and
    an HTML block ends at a blank line, so two carriage returns left in a document's sentence would let
    the rest of it be read as Markdown (links, images, emphasis)."""
    return "".join(f'<p dir="auto">{esc(line)}</p>' for line in str(text).splitlines() if line.strip())


def question_html(question: str) -> str:
    return f'<div class="qa-msg qa-user" dir="{direction(question)}">{lines(question)}</div>'


def answer_html(answer: dict[str, Any], turn: int) -> str:
    """The answer with each ``[n]`` linked to its source entry; abstentions say where to look."""
    cited = {c["n"] for c in answer["citations"]}

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        return (f'<a class="qa-cite" href="#qa-src-{turn}-{n}" title="show source {n}">[{n}]</a>'
                if n in cited else m.group(0))

    body = _MARKER.sub(link, lines(answer["text"]))
    if answer["abstained"]:
        note = ("أقرب المقاطع معروضة في المصادر، لكنها لا تكفي للإجابة." if answer["language"] == "ar"
                else "The closest passages are shown under Sources, marked as not sufficient.")
        body += f'<p class="qa-note" dir="auto">{esc(note)}</p>'
    kind = "qa-abstained" if answer["abstained"] else "qa-answered"
    return f'<div class="qa-msg qa-bot {kind}" dir="{direction(answer["text"])}">{body}</div>'


def messages(conversation: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The chatbot value for a conversation (a list of ``{"question", "answer"}`` turns)."""
    out = []
    for turn, t in enumerate(conversation, 1):
        out.append({"role": "user", "content": question_html(t["question"])})
        out.append({"role": "assistant", "content": answer_html(t["answer"], turn)})
    return out


def _passage(text: str, start: int, end: int) -> str:
    """The passage with ``text[start:end]`` (offsets into the passage) highlighted."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def _entry(entry_id: str, label: str, title: str, path: str, score: float, passage: str, text: str,
           classes: str = "") -> str:
    return (
        f'<article class="qa-src {classes}" id="{esc(entry_id)}" dir="{direction(text)}" tabindex="0">'
        f'<header><span class="qa-n">{esc(label)}</span> <span class="qa-title" dir="auto">{esc(title)}</span></header>'
        f'<blockquote class="qa-passage" dir="auto">{passage}</blockquote>'
        f'<footer><span class="qa-score">score {score:.3f}</span> · '
        f'<span class="qa-file" dir="auto" title="{esc(path)}">{esc(Path(path).name)}</span></footer>'
        "</article>"
    )


def _turn_sources(answer: dict[str, Any], turn: int) -> str:
    chunks = {h["chunk"]["id"]: h["chunk"] for h in answer["passages"]}
    if answer["abstained"]:
        note = ("لا تكفي هذه المقاطع للإجابة: إنها الأقرب فقط." if answer["language"] == "ar"
                else "Not sufficient to answer: these are only the closest passages.")
        if not answer["passages"]:
            note = "لم يطابق السؤالَ أيُّ مقطع." if answer["language"] == "ar" else "No passage matched the question."
        items = [f'<p class="qa-insufficient-note" dir="auto">{esc(note)}</p>']
        for h in answer["passages"][:3]:
            c = h["chunk"]
            items.append(_entry(f"qa-src-{turn}-p{h['rank']}", f"#{h['rank']}", c["title"], c["path"],
                                h["score"], esc(c["text"]), c["text"], "qa-insufficient"))
    else:
        items = []
        for cit in answer["citations"]:
            chunk = chunks.get(cit["chunk_id"])
            text = chunk["text"] if chunk else cit["sentence"]
            if chunk is None:  # not among the passages: show the sentence alone
                passage = f"<mark>{esc(cit['sentence'])}</mark>"
            else:
                offset = cit["passage_start"]
                passage = _passage(chunk["text"], cit["start"] - offset, cit["end"] - offset)
            items.append(_entry(f"qa-src-{turn}-{cit['n']}", f"[{cit['n']}]", cit["title"], cit["path"],
                                cit["score"], passage, text))
    return "".join(items)


def sources_html(conversation: list[dict[str, Any]]) -> str:
    """One section per turn (the newest shown); a citation click shows its own turn's section."""
    if not conversation:
        return ('<div class="qa-sources-empty" dir="auto">Sources of each answer appear here. '
                "مصادر كل إجابة تظهر هنا.</div>")
    first = max(1, len(conversation) - MAX_TURNS_SHOWN + 1)
    sections = []
    for turn in range(first, len(conversation) + 1):
        t = conversation[turn - 1]
        active = " qa-active" if turn == len(conversation) else ""
        ms = t["answer"].get("timings", {}).get("total_ms")
        meta = f"{t['settings']}" + (f" · {ms:.0f} ms" if ms is not None else "")
        sections.append(
            f'<section class="qa-turn{active}" id="qa-turn-{turn}">'
            f'<h4 class="qa-turn-q" dir="auto">{esc(t["question"])}</h4>'
            f'<div class="qa-meta">{esc(meta)}</div>{_turn_sources(t["answer"], turn)}</section>')
    return f'<div class="qa-sources">{"".join(sections)}</div>'


CSS = """
.qa-msg p { margin: 0 0 .4em 0; unicode-bidi: plaintext; }
.qa-msg p:last-child { margin-bottom: 0; }
a.qa-cite { font-weight: 600; text-decoration: none; padding: 0 .15em; border-radius: 3px;
            background: var(--color-accent-soft); cursor: pointer; }
a.qa-cite.qa-flash { outline: 2px solid var(--color-accent); }
.qa-abstained { font-style: italic; }
.qa-note { opacity: .75; font-size: .9em; }
#qa-sources { max-height: 640px; overflow-y: auto; }
.qa-turn { display: none; }
.qa-turn.qa-active { display: block; }
.qa-turn-q { margin: 0 0 .2em 0; font-size: 1em; }
.qa-meta { font-size: .8em; opacity: .7; margin-bottom: .5em; }
.qa-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5em .7em;
          margin: 0 0 .6em 0; cursor: pointer; scroll-margin: 12px; }
.qa-src.qa-flash { outline: 3px solid var(--color-accent); }
.qa-src header { font-weight: 600; margin-bottom: .3em; }
.qa-src blockquote { margin: 0; white-space: pre-wrap; unicode-bidi: plaintext; font-size: .92em; }
.qa-src mark { background: #ffe066; color: #111; padding: 0 .1em; }
.qa-src footer { font-size: .8em; opacity: .75; margin-top: .3em; }
.qa-insufficient { border-style: dashed; opacity: .85; }
.qa-insufficient-note { font-weight: 600; color: var(--error-text-color, #b91c1c); }
.qa-docs { width: 100%; border-collapse: collapse; }
.qa-docs td, .qa-docs th { border-bottom: 1px solid var(--border-color-primary); padding: .3em .5em;
                            text-align: start; }
.qa-report-error { color: var(--error-text-color, #b91c1c); }
"""

# Runs once when the page loads: the input box takes its direction from what is typed, and a click
# on [n] (or on a source entry) brings the source (or the citation) into view and flashes it.
SCRIPT = """
() => {
  const autoDir = () => document.querySelectorAll('#qa-input textarea').forEach(t => t.setAttribute('dir', 'auto'));
  autoDir();
  new MutationObserver(autoDir).observe(document.body, {childList: true, subtree: true});
  const flash = (el) => { el.classList.add('qa-flash'); setTimeout(() => el.classList.remove('qa-flash'), 1600); };
  document.addEventListener('click', (ev) => {
    const cite = ev.target.closest && ev.target.closest('a.qa-cite');
    if (cite) {
      ev.preventDefault(); ev.stopPropagation();
      const entry = document.getElementById(cite.getAttribute('href').slice(1));
      if (!entry) return;
      const turn = entry.closest('.qa-turn');
      document.querySelectorAll('.qa-turn').forEach(t => t.classList.toggle('qa-active', t === turn));
      entry.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      flash(entry);
      return;
    }
    const entry = ev.target.closest && ev.target.closest('.qa-src');
    if (entry && entry.id) {
      entry.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      flash(entry);
      const link = document.querySelector(`a.qa-cite[href="#${entry.id}"]`);
      if (link) { link.scrollIntoView({block: 'nearest', behavior: 'smooth'}); flash(link); }
    }
  }, true);
}
"""
