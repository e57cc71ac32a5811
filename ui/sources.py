"""HTML for an answer's sources: the side panel (one section per turn) and the copy under a message.

Each passage appears once, with every sentence it supplied highlighted and numbered ``[n]`` (three
citations of one passage make one entry with three marks). Numbers are named: a citation's
``similarity`` is the cosine between the question and the cited sentence; an abstention's closest
passages show their rank only (their fused ranking score means nothing to a reader). Every entry
links to the document viewer (``viewer``) at its cited sentence, with the PDF page when known.
Out of scope: the messages themselves (``render``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from .markup import direction, esc

MAX_TURNS_SHOWN = 50
SIMILARITY_HELP = "cosine similarity of the cited sentence to the question (1 = same meaning)"


def view_url(doc_id: str, start: int, end: int) -> str:
    return f"/view/{quote(str(doc_id), safe='')}?start={int(start)}&end={int(end)}#qa-cited"


def _open(target: dict[str, Any], label: str, title: str = "Open the document here") -> str:
    """A link to the viewer at ``target``'s span (a citation or a chunk); none without a document id."""
    if not target.get("doc_id") or "start" not in target:
        return ""
    return (f'<a class="qa-open" href="{esc(view_url(target["doc_id"], target["start"], target["end"]))}" '
            f'target="_blank" rel="noopener" title="{esc(title)}">{label}</a>')


def _marked(text: str, offset: int, cites: list[dict[str, Any]], turn: int) -> str:
    """``text`` (starting at document offset ``offset``) with each cited sentence in a numbered mark."""
    out, pos = [], 0
    for c in sorted(cites, key=lambda c: c["start"]):
        start, end = max(pos, c["start"] - offset), min(len(text), c["end"] - offset)
        if start >= end:
            continue
        out.append(esc(text[pos:start]))
        out.append(f'<mark data-turn="{turn}" data-n="{c["n"]}" title="[{c["n"]}] {esc(SIMILARITY_HELP)}: '
                   f'{c["score"]:.2f}">{esc(text[start:end])}<sup class="qa-hl-n">[{c["n"]}]</sup></mark>')
        pos = end
    return "".join(out) + esc(text[pos:])


def _page(c: dict[str, Any]) -> str:
    return f' · <span class="qa-page">p. {int(c["page"])}</span>' if c.get("page") else ""


def _entry(entry_id: str, labels: str, chunk: dict[str, Any], passage: str, footer: str, classes: str = "") -> str:
    return (f'<article class="qa-src {classes}" id="{esc(entry_id)}" dir="{direction(chunk["text"])}" tabindex="0">'
            f'<header><span class="qa-n">{labels}</span> <span class="qa-title" dir="auto">{esc(chunk["title"])}'
            f'</span></header><blockquote class="qa-passage" dir="auto">{passage}</blockquote>'
            f'<footer>{footer}</footer></article>')


def _file(path: str) -> str:
    return f'<span class="qa-file" dir="auto" title="{esc(path)}">{esc(Path(path).name)}</span>'


def cited_entries(answer: dict[str, Any], turn: int, prefix: str) -> list[str]:
    """One entry per cited passage, in the order of its first citation."""
    chunks = {h["chunk"]["id"]: h["chunk"] for h in answer.get("passages", ())}
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in answer.get("citations", ()):
        groups.setdefault(c["chunk_id"] if c["chunk_id"] in chunks else f"sentence-{c['n']}", []).append(c)
    items = []
    for key, cites in groups.items():
        first = cites[0]
        chunk = chunks.get(key)
        if chunk is None:  # not among the passages: the sentence alone
            chunk = {"title": first["title"], "text": first["sentence"], "path": first["path"]}
            passage = _marked(first["sentence"], first["start"], cites, turn)
        else:
            passage = _marked(chunk["text"], first["passage_start"], cites, turn)
        labels = "".join(f'<span class="qa-badge">[{c["n"]}]</span>' for c in cites)
        opens = " ".join(_open(c, f'open [{c["n"]}]{_page(c)}', f'Open the document at sentence [{c["n"]}]')
                         for c in cites)
        best = max(c["score"] for c in cites)
        footer = (f'{_file(first["path"])} · <span class="qa-score" title="{esc(SIMILARITY_HELP)}">similarity '
                  f'{best:.2f}</span> · {opens}')
        items.append(_entry(f"{prefix}-{turn}-{first['n']}", labels, chunk, passage, footer))
    return items


def closest_entries(answer: dict[str, Any], turn: int, prefix: str) -> list[str]:
    """An abstention: why, and the three closest passages by rank (no scores)."""
    ar = answer["language"] == "ar"
    note = ("لا تكفي هذه المقاطع للإجابة: إنها الأقرب فقط." if ar
            else "Not sufficient to answer: these are only the closest passages.")
    if not answer.get("passages"):
        note = "لم يطابق السؤالَ أيُّ مقطع." if ar else "No passage matched the question."
    items = [f'<p class="qa-insufficient-note" dir="auto">{esc(note)}</p>']
    for h in answer.get("passages", ())[:3]:
        c = h["chunk"]
        link = _open(c, "open")
        label = f'<span class="qa-badge" title="rank among the retrieved passages">#{h["rank"]} closest</span>'
        items.append(_entry(f"{prefix}-{turn}-p{h['rank']}", label, c, esc(c["text"]),
                            f"{_file(c['path'])}{' · ' + link if link else ''}", "qa-insufficient"))
    return items


def entries(answer: dict[str, Any], turn: int, prefix: str = "qa-src") -> str:
    items = closest_entries(answer, turn, prefix) if answer["abstained"] else cited_entries(answer, turn, prefix)
    return "".join(items)


def inline_html(answer: dict[str, Any], turn: int) -> str:
    """The sources folded under a message (shown on narrow screens, where the side panel is hidden)."""
    count = len({c["chunk_id"] for c in answer.get("citations", ())}) or min(3, len(answer.get("passages", ())))
    label = "المصادر" if answer["language"] == "ar" else "Sources"
    return (f'<details class="qa-inline-sources" data-turn="{turn}"><summary dir="auto">{label} ({count})</summary>'
            f'{entries(answer, turn, "qa-isrc")}</details>')


def _meta(turn: dict[str, Any]) -> str:
    s = turn.get("settings") if isinstance(turn.get("settings"), dict) else {}
    scope = f" · {len(s['doc_ids'])} documents" if s.get("doc_ids") else ""
    lang = s.get("lang") if s.get("lang") not in (None, "", "all") else "all languages"
    ms = (turn["answer"].get("timings") or {}).get("total_ms")
    return f"{s.get('mode', '')} · k={s.get('k', '')} · {lang}{scope}" + (f" · {ms:.0f} ms" if ms is not None else "")


def panel_html(turns: list[dict[str, Any]]) -> str:
    """The side panel: a list of the turns (any one can be shown) and one section per turn, newest shown."""
    if not turns:
        return ('<div class="qa-sources-empty" dir="auto">Sources of each answer appear here. '
                "مصادر كل إجابة تظهر هنا.</div>")
    first = max(1, len(turns) - MAX_TURNS_SHOWN + 1)
    tabs, sections = [], []
    for n in range(first, len(turns) + 1):
        t = turns[n - 1]
        active = n == len(turns)
        tabs.append(f'<button type="button" class="qa-turn-tab{" qa-active" if active else ""}" data-turn="{n}" '
                    f'title="{esc(t["question"])}" aria-pressed="{str(active).lower()}">{n}</button>')
        sections.append(
            f'<section class="qa-turn{" qa-active" if active else ""}" id="qa-turn-{n}" data-turn="{n}">'
            f'<h4 class="qa-turn-q" dir="auto">{esc(t["question"])}</h4>'
            f'<div class="qa-meta">{esc(_meta(t))}</div>{entries(t["answer"], n)}</section>')
    nav = (f'<nav class="qa-turn-tabs" aria-label="Sources of question">Question {"".join(tabs)}</nav>'
           if len(tabs) > 1 else "")
    return f'<div class="qa-sources">{nav}{"".join(sections)}</div>'
