"""The document viewer (ui/viewer.py: /view/{doc_id}) against a real uvicorn server."""

from __future__ import annotations

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio (and its client) from phoning home

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations in Gradio


def test_viewer_shows_the_document_with_the_cited_span(api_client, api_assistant):
    a = api_client.post("/api/ask", json={"question": "How many participants attended the forum?"}).json()
    c = a["citations"][0]
    page = api_client.get(f"/view/{c['doc_id']}", params={"start": c["start"], "end": c["end"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    marked = page.text.split('<mark id="qa-cited">')[1].split("</mark>")[0]
    assert "150" in marked and len(marked) >= len(c["sentence"]) - 5  # escaped text of the cited sentence
    assert "http" not in page.text.split("<main>")[0]  # nothing loaded from elsewhere
    assert api_client.get("/view/0000000000000000").status_code == 404
    stale = api_client.get(f"/view/{c['doc_id']}", params={"start": 10**9, "end": 10**9 + 5})
    assert stale.status_code == 200 and "not in this document" in stale.text
