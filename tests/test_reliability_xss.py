"""Security: no HTML or JS from questions, documents, titles or file names, in rendered HTML, the API
and the browser."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.hostile import PAYLOADS
from tests.hostile import hostile_library as build_hostile_library
from tests.serving import running_server, upload
from ui import documents, render, sources

# --- no HTML or JS from questions, documents, titles or file names ---

ALLOWED_TAGS = {"div", "p", "a", "mark", "article", "header", "span", "blockquote", "footer", "section", "h4",
                "table", "thead", "tbody", "tr", "th", "td", "code", "b", "button", "details", "summary", "sup", "nav"}
ALLOWED_ATTRS = {"class", "id", "dir", "href", "title", "tabindex", "lang", "type", "role", "target", "rel",
                 "aria-label", "aria-pressed", "data-copy", "data-turn", "data-n", "data-q"}


class _Parsed(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(html: str, *shown: str, markdown: bool = False) -> None:
    """``html`` has only the renderer's own tags and attributes; each of ``shown`` is in it as text.

    ``markdown``: the HTML is a chat message, which Gradio renders as Markdown, where an HTML block
    ends at a blank line; with no line break at all, nothing in it can be read as Markdown."""
    parsed = _Parsed(html)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, (tag, html[:300])
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name)
            assert name != "href" or (value or "").startswith(("#qa-src-", "/view/")), value
    text = "".join(parsed.text)
    for s in shown:
        assert s in text, (s, text[:300])
    if markdown:
        assert "\n" not in html and "\r" not in html


def test_rendered_html_escapes_every_field():
    p = PAYLOADS
    answer = {"text": f"{p[0]} [1] {p[1]}\r\r![x](http://203.0.113.9/pixel.png)", "abstained": False,
              "language": "en",
              "citations": [{"n": 1, "chunk_id": p[2], "title": p[3], "path": f"/x/{p[4]}", "score": 0.9,
                             "sentence": p[5], "start": 2, "end": 9, "passage_start": 0}],
              "passages": [{"rank": 1, "score": 1.0, "chunk": {"id": p[2], "text": f"{p[6]} {p[7]}", "title": p[3],
                                                               "path": f"/x/{p[4]}"}}],
              "timings": {"total_ms": 5.0}}
    abstained = {**answer, "abstained": True, "citations": [], "language": "ar"}
    conversation = [{"question": f"{p[7]}\n{p[1]}\r\n\r\n[link](javascript:alert(1))", "answer": answer,
                     "settings": {"mode": p[0], "k": p[1]}},
                    {"question": p[2], "answer": abstained, "settings": {"mode": p[3], "doc_ids": [p[4]]}}]
    chat = render.chat_html(conversation)  # a gr.HTML, not Markdown: line breaks in attributes are inert
    assert_inert(chat, p[7], p[1], "[link](javascript:alert(1))", "![x](http://203.0.113.9/pixel.png)")
    assert_inert(sources.panel_html(conversation), p[0], p[2], p[3], p[6])
    docs = [{"id": p[2], "title": p[0], "lang": p[1], "chunks": p[3], "added": p[4], "path": f"/up/{p[5]}"}]
    assert_inert(documents.documents_html(docs), p[0], p[1], p[3])  # the id is not shown: titles name documents

    class Result:
        added, skipped = [p[0], p[1]], [(p[2], p[3]), (p[4], p[5])]

        def summary(self):
            return p[6]

    assert_inert(documents.report_html(Result()), p[0], p[2], p[3], p[4], p[6])




def test_payloads_from_a_real_index_render_as_text(hostile_library):
    a = hostile_library.assistant
    docs = hostile_library.documents()
    assert_inert(documents.documents_html(docs), PAYLOADS[1] + " Lighthouse log")
    turns = []
    for question in ("How many ships did the lighthouse keeper count? " + PAYLOADS[1],
                     "How many fishing boats does the harbour of Asilah have? " + PAYLOADS[0]):
        answer = a.ask(question).to_dict()
        assert answer["citations"], answer["text"]
        turns.append({"question": question, "answer": answer, "settings": {"mode": "hybrid"}})
    assert_inert(render.chat_html(turns))
    assert_inert(sources.panel_html(turns), PAYLOADS[0], PAYLOADS[1] + " Lighthouse log")


def test_the_api_returns_payloads_as_json_data(hostile_library):
    from ui.server import create_app

    with running_server(create_app(hostile_library.assistant, max_upload_bytes=200_000)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        responses = [c.post("/api/ask", json={"question": "How many ships? " + PAYLOADS[0]}),
                     c.post("/api/search", json={"question": PAYLOADS[1]}),
                     c.get("/api/documents"),
                     upload(c, (PAYLOADS[3] + ".txt", b"The medina of Fes has 9400 streets.\n")),
                     c.delete("/api/documents/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"),
                     c.post("/api/ask", json={"question": PAYLOADS[5], "mode": PAYLOADS[0]})]
        for r in responses:
            assert r.headers["content-type"] == "application/json", (r.request.url, r.headers["content-type"])
            r.json()  # parses: the payloads are JSON strings, never markup
        ask, search, documents, uploaded, missing, invalid = responses
        assert ask.json()["question"].endswith(PAYLOADS[0]) and search.json()["question"] == PAYLOADS[1]
        assert PAYLOADS[1] + " Lighthouse log" in {d["title"] for d in documents.json()["documents"]}
        assert uploaded.json()["result"]["added"] == [PAYLOADS[3] + ".txt"]
        assert missing.status_code == 404 and "<img src=x onerror=alert(1)>" in missing.json()["message"]
        assert invalid.status_code == 422



@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory):
    return build_hostile_library(tmp_path_factory.mktemp("hostile"))


# --- in Chromium: a payload file name, and Markdown smuggled into a cited sentence ---

from tests import test_ui_browser as _browser  # noqa: E402 - the browser fixtures, reused as they are

page, base = _browser.page, _browser.base


@pytest.mark.browser
def test_a_payload_file_name_question_and_markdown_in_a_document_stay_text_in_the_browser(page, tmp_path):
    from playwright.sync_api import expect

    name = '"><img src=x onerror="window.__pwned=1">.md'
    doc = tmp_path / name
    # Two carriage returns inside one sentence once ended the chat message's HTML block: the rest of the
    # sentence was rendered as Markdown (bold, and a live link to another site inside the answer).
    doc.write_bytes(b"# Port log\n\nThe port of Agadir counted 413 trawlers in one season\r\r**bold** "
                    b"[click](https://phish.example/) [pixel](http://203.0.113.9/pixel.png) "
                    b"<img src=x onerror=window.__pwned=1> according to the harbour master.\n")
    page.get_by_role("tab", name="Documents").click()
    page.locator("#qa-upload input[type=file]").set_input_files(str(doc))
    shown = "img src=x onerror="  # Gradio percent-encodes the quotes of an uploaded name; the rest is text
    expect(page.locator("#qa-report .qa-report-added")).to_contain_text(shown)
    expect(page.locator("#qa-docs")).to_contain_text("onerror")  # the stored name, cleaned up
    page.get_by_role("tab", name="Chat").click()
    question = 'How many trawlers did the port of Agadir count in one season? <svg onload="window.__pwned=1"> **x**'
    answer = _browser.ask(page, question, 1)
    expect(answer).to_contain_text("413")
    expect(page.locator("#qa-chat .qa-user")).to_contain_text('<svg onload="window.__pwned=1"> **x**')
    expect(page.locator("#qa-turn-1 .qa-turn-q")).to_contain_text("<svg onload")
    expect(answer).to_contain_text("**bold** [click](https://phish.example/)")  # as written, not Markdown
    expect(page.locator("#qa-src-1-1 .qa-file")).to_contain_text("onerror")
    assert page.locator("#qa-chat img, #qa-sources img, #qa-docs img, #qa-report img, svg[onload]").count() == 0
    assert page.locator("#qa-chat strong, #qa-chat a:not(.qa-cite):not(.qa-open)").count() == 0
    opens = page.locator("#qa-chat a.qa-open").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert opens and all(h.startswith("/view/") for h in opens)  # the viewer on this server, nowhere else
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    # The page fixture then checks that no host but 127.0.0.1 was contacted (no pixel was fetched).
