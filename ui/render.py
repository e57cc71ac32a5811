"""HTML for the web chat's conversation: messages, their sentences and their inline sources.

Every piece of text that comes from a user or a document goes through ``esc`` (``html.escape``):
a document that contains ``<script>`` shows it as text. Direction: each answer sentence, with its
``[n]`` marker, is its own bidi-isolated block (``<span dir="auto" class="qa-sent">``), so an
Arabic sentence runs right-to-left and is aligned right, an English one left, and a mixed answer
keeps its order and its markers beside their sentences. A citation ``[n]`` of turn ``t`` carries
``data-turn``/``data-n``; ``static/chat.js`` brings its source into view (the panel on a wide
screen, the sources folded under the message on a phone). Rendering is split into small named
functions so a streaming answer can re-render just its message (``answer_html`` with a partial
answer). Out of scope: the sources panel (``sources``), plain text for copying (``plain``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import plain, sources
from .markup import direction, esc

MAX_TURNS_SHOWN = 50
_MARKER = re.compile(r"\[(\d+)\]")
# A sentence ends after its markers ("... [1]" or "... [1][2]"), with any closing punctuation after them.
_SENTENCE = re.compile(r"\S.*?(?:\[\d+\](?:\s*\[\d+\])*[.!?؟۔،,;:]*(?=\s|$)|$)", re.S)
STATIC = Path(__file__).resolve().parent / "static"
CSS = (STATIC / "chat.css").read_text("utf-8")
SCRIPT = (STATIC / "chat.js").read_text("utf-8")
EXAMPLES = ["How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟",
            "ما هو شعار المنتدى؟", "Who organised the forum?"]


def sentences(line: str) -> list[str]:
    """``line`` cut after each sentence's ``[n]`` markers (and the punctuation that follows them)."""
    return [m.group(0).strip() for m in _SENTENCE.finditer(line) if m.group(0).strip()]


def lines(text: str) -> str:
    """Each non-empty line of ``text`` as an escaped paragraph with its own direction.

    Every kind of line break goes, carriage returns included, so no document text can end an HTML
    block early."""
    return "".join(f'<p dir="auto">{esc(line)}</p>' for line in str(text).splitlines() if line.strip())


def question_html(question: str) -> str:
    return f'<div class="qa-msg qa-user" dir="{direction(question)}">{lines(question)}</div>'


def sentence_html(sentence: str, turn: int, cited: set[int], short: tuple[int, int] | None = None) -> str:
    """One sentence as an isolated block; each ``[n]`` it cites links to its source, and ``short``
    (offsets in ``sentence``) is the short answer, in bold."""

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        return (f'<a class="qa-cite" href="#qa-src-{turn}-{n}" data-turn="{turn}" data-n="{n}" role="button" '
                f'title="show source {n}">[{n}]</a>')

    if short:
        a, b = short
        html = f'{esc(sentence[:a])}<b class="qa-short">{esc(sentence[a:b])}</b>{esc(sentence[b:])}'
    else:
        html = esc(sentence)
    return f'<span class="qa-sent" dir="auto">{_MARKER.sub(link, html)}</span>'


def short_answer(piece: str, citations: list[dict[str, Any]]) -> tuple[int, int] | None:
    """Offsets in ``piece`` (an answer sentence and its ``[n]``) of the short answer its citation
    marks (``answer_start``/``answer_end``, document offsets), when the piece shows that cited
    sentence as it is (a generated sentence is the model's words: nothing to mark)."""
    marker = _MARKER.search(piece)
    c = next((c for c in citations if marker and c["n"] == int(marker.group(1))), None)
    if c is None or c.get("answer_start") is None or c.get("answer_end") is None:
        return None
    shown = str(c["sentence"]).replace("\r", " ").replace("\n", " ")  # line wraps are spaces in the answer
    a, b = c["answer_start"] - c["start"], c["answer_end"] - c["start"]
    return (a, b) if piece.startswith(shown) and 0 <= a < b <= len(shown) else None


def body_html(answer: dict[str, Any], turn: int) -> str:
    """The answer text: one paragraph per line, one isolated block per sentence."""
    citations = list(answer.get("citations", ()))
    cited = {c["n"] for c in citations}
    paragraphs = []
    for line in str(answer["text"]).splitlines():
        parts = "".join(sentence_html(s, turn, cited, short_answer(s, citations)) for s in sentences(line))
        if parts:
            paragraphs.append(f'<p class="qa-para">{parts}</p>')
    return "".join(paragraphs)


def _abstention_note(answer: dict[str, Any], settings: dict[str, Any]) -> str:
    ar = answer["language"] == "ar"
    note = ("أقرب المقاطع معروضة في المصادر، لكنها لا تكفي للإجابة." if ar
            else "The closest passages are shown under Sources, marked as not sufficient.")
    if settings.get("mode") == "bm25":
        note += (" ‏BM25 يطابق كلمات السؤال بلغته فقط: جرّب الوضع hybrid لوثائق بلغة أخرى." if ar
                 else " BM25 matches the question's words in its own language only: try hybrid for documents "
                      "in another language.")
    return f'<p class="qa-note" dir="auto">{esc(note)}</p>'


def generated_note(answer: dict[str, Any]) -> str:
    """Under a model's answer: the draft's "not checked yet", or what the verifier removed and why
    the extractive answer stands in (the sentences removed are listed, as text)."""
    ar = answer.get("language") == "ar"
    if answer.get("streaming"):
        note = ("يكتب النموذج… (لم يُتحقق بعد من المصادر)" if ar
                else "The model is writing… (not yet checked against the sources)")
        return f'<p class="qa-note qa-draft-note" dir="auto">{esc(note)}</p>'
    if not answer.get("notice"):
        return ""
    removed = "".join(f'<li dir="auto">{esc(s)}</li>' for s in answer.get("unsupported") or ())
    label = "الجمل المحذوفة:" if ar else "Removed sentences:"
    return (f'<div class="qa-note qa-gen-note" dir="auto"><p dir="auto">{esc(answer["notice"])}</p>'
            + (f'<p dir="auto">{label}</p><ul class="qa-removed">{removed}</ul>' if removed else "") + "</div>")


def tools_html(turn_data: dict[str, Any], turn: int, last: bool) -> str:
    """The message's buttons: copy (plain text with its sources), and regenerate for the last answer."""
    copy = (f'<button type="button" class="qa-copy" data-copy="{esc(plain.turn_text(turn_data))}" '
            f'aria-label="Copy answer {turn} as text" title="Copy as text (with sources)">Copy</button>')
    regen = ('<button type="button" class="qa-regen" aria-label="Regenerate the last answer" '
             'title="Ask the last question again">Regenerate</button>' if last else "")
    return f'<div class="qa-tools">{copy}{regen}</div>'


def answer_html(turn_data: dict[str, Any], turn: int, last: bool = False) -> str:
    """The answer message: sentences with linked ``[n]``, a note on abstention, tools, inline sources."""
    answer = turn_data["answer"]
    body = body_html(answer, turn)
    if answer["abstained"]:
        settings = turn_data.get("settings")
        body += _abstention_note(answer, settings if isinstance(settings, dict) else {})
    body += generated_note(answer)
    kind = "qa-streaming" if answer.get("streaming") else "qa-abstained" if answer["abstained"] else "qa-answered"
    inline = sources.inline_html(answer, turn)
    return (f'<div class="qa-msg qa-bot {kind}" id="qa-answer-{turn}" data-turn="{turn}" '
            f'dir="{direction(answer["text"])}" lang="{esc(answer["language"])}">{body}'
            f'{tools_html(turn_data, turn, last)}{inline}</div>')


def empty_html() -> str:
    buttons = "".join(f'<button type="button" class="qa-example" dir="auto" data-q="{esc(q)}">{esc(q)}</button>'
                      for q in EXAMPLES)
    return ('<div class="qa-empty"><p dir="auto">Ask a question in Arabic or English · اسأل بالعربية أو '
            f'بالإنجليزية</p><div class="qa-examples" aria-label="Example questions">{buttons}</div></div>')


def chat_html(turns: list[dict[str, Any]]) -> str:
    """The whole conversation log (the newest ``MAX_TURNS_SHOWN`` turns) with its copy-all button."""
    if not turns:
        return f'<div class="qa-log" role="log" aria-label="Conversation">{empty_html()}</div>'
    first = max(1, len(turns) - MAX_TURNS_SHOWN + 1)
    items = []
    for n in range(first, len(turns) + 1):
        t = turns[n - 1]
        items.append(question_html(t["question"]))
        items.append(answer_html(t, n, last=n == len(turns)))
    copy_all = (f'<button type="button" class="qa-copy qa-copy-all" data-copy="{esc(plain.conversation_text(turns))}"'
                ' aria-label="Copy the whole conversation as text">Copy conversation</button>')
    return (f'<div class="qa-log-tools">{copy_all}</div>'
            f'<div class="qa-log" role="log" aria-label="Conversation">{"".join(items)}</div>')
