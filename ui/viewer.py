"""The document viewer: ``GET /view/{doc_id}?start=&end=`` shows a document's text with the cited
span highlighted, and the link's ``#qa-cited`` fragment scrolls it into view (no script needed).

The text is the document's own, rebuilt from its indexed passages (they cover it, with overlap;
a gap between two passages, whitespace in practice, is kept as line breaks so offsets stay exact),
so the viewer shows what was indexed even when the file has moved. For a PDF the page of the
span is named (``Citation.page``, from the reader's page offsets). Everything is escaped; the page
loads nothing from elsewhere. With a server token it needs the token (``Authorization: Bearer``)
or the web page's sign-in cookie. Out of scope: editing, and formats' layout (tables, images).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from qa.pdf import page_at

from .markup import direction, esc

router = APIRouter()
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; line-height: 1.6; color: #1f2328; background: #fff; }
header { position: sticky; top: 0; background: #f6f8fa; border-bottom: 1px solid #d0d7de; padding: .6em 1em; }
header h1 { font-size: 1.15em; margin: 0; unicode-bidi: plaintext; }
header p { margin: .2em 0 0 0; font-size: .85em; color: #57606a; }
main { padding: 1em; max-width: 52em; margin: 0 auto; }
.qa-doc { white-space: pre-wrap; unicode-bidi: plaintext; text-align: start; }
mark { background: #ffe066; color: #111; scroll-margin-top: 35vh; padding: 0 .1em; }
.qa-warn { color: #b91c1c; }
"""


def _authorised(request: Request) -> None:
    """Without a server token: anyone who may reach the server. With one: the Bearer token, or the
    cookie Gradio sets when the web page signs in (the viewer is opened from that page)."""
    token = getattr(request.app.state, "token", None)
    if token is None:
        return
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(bearer[7:].encode(), token.encode()):
        return
    signed_in = getattr(request.app.state, "signed_in", None)
    if signed_in is not None and signed_in(request.cookies):
        return
    raise HTTPException(401, "sign in on the chat page first (user qa, the server's token as the password)")


def gradio_sign_in(app: Any):
    """A check of request cookies against the sign-ins of the Gradio app mounted on ``app``."""
    from starlette.routing import Mount

    gradio_app = next((r.app for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "tokens")), None)
    if gradio_app is None:
        return None

    def signed_in(cookies: dict[str, str]) -> bool:
        ids = (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}")
        return any(cookies.get(name) in gradio_app.tokens for name in ids if cookies.get(name))

    return signed_in


def document_text(snapshot: Any, doc_id: str) -> tuple[dict[str, Any], str]:
    """The document's record and its text rebuilt from its passages (``KeyError`` if unknown)."""
    doc = next((d for d in snapshot.documents if d["id"] == doc_id), None)
    if doc is None:
        raise KeyError(doc_id)
    chunks = snapshot.document_chunks(doc_id)  # store-neutral: a local or a Milvus snapshot
    parts, pos = [], chunks[0].start if chunks else 0
    parts.append("\n" * pos)
    for c in chunks:
        if c.start > pos:
            parts.append("\n" * (c.start - pos))
            pos = c.start
        if c.end > pos:
            parts.append(c.text[pos - c.start:])
            pos = c.end
    return doc, "".join(parts)


def page_html(doc: dict[str, Any], text: str, start: int | None, end: int | None) -> str:
    """The viewer page: a header (title, file, page) and the text with ``text[start:end]`` marked."""
    marked = start is not None and end is not None and 0 <= start < end <= len(text)
    pages = (doc.get("metadata") or {}).get("page_starts")
    where = ""
    if marked and pages:
        where = f" · page {page_at(pages, start)}"
    warn = "" if marked or start is None else '<p class="qa-warn">The cited span is not in this document any more.</p>'
    body = (f"{esc(text[:start])}<mark id=\"qa-cited\">{esc(text[start:end])}</mark>{esc(text[end:])}" if marked
            else esc(text))
    path = str(doc.get("path", ""))
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{esc(doc["title"])}</title>'
            f'<link rel="icon" href="data:,"><style>{STYLE}</style></head><body>'
            f'<header><h1 dir="auto">{esc(doc["title"])}</h1><p dir="auto">{esc(path.rsplit("/", 1)[-1])} · '
            f'{esc(doc.get("lang", ""))}{esc(where)} · <a href="/">back to the chat</a></p>{warn}</header>'
            f'<main><div class="qa-doc" dir="{direction(text)}" lang="{esc(doc.get("lang", ""))}">{body}</div></main>'
            "</body></html>")


@router.get("/view/{doc_id}", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(_authorised)])
def view(request: Request, doc_id: str, start: int | None = Query(None, ge=0),  # noqa: B008
         end: int | None = Query(None, ge=0)) -> HTMLResponse:  # noqa: B008
    """The document ``doc_id`` with ``[start, end)`` (document offsets, as in a citation) highlighted."""
    snapshot = request.app.state.library.assistant.index.snapshot
    try:
        doc, text = document_text(snapshot, doc_id)
    except KeyError as e:
        raise HTTPException(404, f"no document with id {doc_id!r}; it may have been removed") from e
    return HTMLResponse(page_html(doc, text, start, end))
