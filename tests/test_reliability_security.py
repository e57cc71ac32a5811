"""Security: no outbound network, no HTML/JS injection, no path escape, loopback by default, clear limits.

What ``tests/test_ui_server.py`` and ``tests/test_ui_app.py`` already cover is not repeated here: the
token on the API and the page, ``serve`` refusing a public address without a token, the JSON body and
upload size limits, the question length limit, and the basic ``safe_name`` cases.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import socket
import subprocess
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests import netguard
from tests.test_ui_server import running_server, seed_index, upload
from ui import render
from ui.library import MAX_NAME_BYTES, MAX_NAME_CHARS, Library, safe_name

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

# --- the suite itself runs with outbound network blocked ---


def test_outbound_network_is_blocked_and_loopback_is_not():
    with netguard.expected():
        with pytest.raises(netguard.NetworkBlocked, match="203.0.113.1"):
            socket.create_connection(("203.0.113.1", 80), timeout=2)
        for call in ("connect", "connect_ex"):
            with socket.socket() as s, pytest.raises(netguard.NetworkBlocked):
                getattr(s, call)(("203.0.113.1", 443))
        with socket.socket(socket.AF_INET6) as s, pytest.raises(netguard.NetworkBlocked):
            s.connect(("2001:db8::1", 443))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, pytest.raises(netguard.NetworkBlocked):
            s.sendto(b"x", ("198.51.100.7", 53))
        for lookup in (socket.getaddrinfo, socket.gethostbyname):
            with pytest.raises(netguard.NetworkBlocked, match="huggingface.co"):
                lookup("huggingface.co", *([443] if lookup is socket.getaddrinfo else []))
        with pytest.raises(httpx.ConnectError, match="outbound network blocked"):
            httpx.get("http://203.0.113.1/", timeout=2)
    with socket.socket() as server:  # loopback is untouched: the API and browser tests need it
        server.bind(("127.0.0.1", 0))
        server.listen()
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, server.getsockname()[1]), timeout=5).close()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE


def test_python_subprocesses_are_guarded_and_swallowed_attempts_are_logged(tmp_path):
    log = tmp_path / "blocked.log"
    code = ("import socket\ntry:\n    socket.create_connection(('203.0.113.1', 80), timeout=2)\n"
            "except OSError as e:\n    print(type(e).__name__)\n")  # a library that swallows the error
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, netguard.LOG_ENV: str(log)})
    assert done.returncode == 0 and done.stdout.strip() == "NetworkBlocked", done.stderr
    assert "203.0.113.1:80" in log.read_text()  # the conftest check fails the test that did this


# --- no HTML or JS from questions, documents, titles or file names ---

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=window.__pwned=1>',
    "'><iframe srcdoc='<script>parent.__pwned=1</script>'></iframe>",
    '<a href="javascript:window.__pwned=1">click</a>',
    "</textarea></p></div><style>*{display:none}</style>",
    "{{constructor.constructor('window.__pwned=1')()}} ${window.__pwned=1}",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
]
ALLOWED_TAGS = {"div", "p", "a", "mark", "article", "header", "span", "blockquote", "footer", "section", "h4",
                "table", "thead", "tbody", "tr", "th", "td", "code", "b"}
ALLOWED_ATTRS = {"class", "id", "dir", "href", "title", "tabindex"}


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
            assert name != "href" or (value or "").startswith("#qa-src-"), value
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
                     "settings": p[0]},
                    {"question": p[2], "answer": abstained, "settings": p[3]}]
    for message in render.messages(conversation):
        assert_inert(message["content"], markdown=True)
    assert_inert(render.messages(conversation)[0]["content"], p[7], p[1], "[link](javascript:alert(1))",
                 markdown=True)
    assert_inert(render.messages(conversation)[1]["content"], "![x](http://203.0.113.9/pixel.png)", markdown=True)
    assert_inert(render.sources_html(conversation), p[0], p[2], p[3], p[6])
    docs = [{"id": p[2], "title": p[0], "lang": p[1], "chunks": p[3], "added": p[4], "path": f"/up/{p[5]}"}]
    assert_inert(render.documents_html(docs), p[0], p[1], p[2])

    class Result:
        added, skipped = [p[0], p[1]], [(p[2], p[3]), (p[4], p[5])]

        def summary(self):
            return p[6]

    assert_inert(render.report_html(Result()), p[0], p[2], p[3], p[4], p[6])


@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory):
    """A real index holding documents whose text, titles and upload names are all payloads."""
    library = Library(seed_index(tmp_path_factory.mktemp("xss")), max_upload_bytes=200_000)
    html_page = (f"<html><head><title>{PAYLOADS[0]}</title></head><body><p>The harbour of Asilah has 120 "
                 f"fishing boats. {PAYLOADS[1]}</p><script>window.__pwned=1</script></body></html>")
    markdown = (f"{PAYLOADS[1]} Lighthouse log\n\nThe lighthouse keeper counted 77 ships in one night\r\r"
                f"{PAYLOADS[0]} {PAYLOADS[4]} **bold** [click](https://phish.example/) at the pier.\n")
    result = library.add([(f"{PAYLOADS[2]}.html", io.BytesIO(html_page.encode())),
                          (f"{PAYLOADS[1]}.md", io.BytesIO(markdown.encode()))])
    assert len(result.added) == 2, result
    return library


def test_payloads_from_a_real_index_render_as_text(hostile_library):
    a = hostile_library.assistant
    docs = hostile_library.documents()
    assert_inert(render.documents_html(docs), PAYLOADS[1] + " Lighthouse log")
    turns = []
    for question in ("How many ships did the lighthouse keeper count? " + PAYLOADS[1],
                     "How many fishing boats does the harbour of Asilah have? " + PAYLOADS[0]):
        answer = a.ask(question).to_dict()
        assert answer["citations"], answer["text"]
        turns.append({"question": question, "answer": answer, "settings": "hybrid"})
    for message in render.messages(turns):
        assert_inert(message["content"], markdown=True)
    assert_inert(render.sources_html(turns), PAYLOADS[0], PAYLOADS[1] + " Lighthouse log")


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
        assert uploaded.json()["added"] == [PAYLOADS[3] + ".txt"]
        assert missing.status_code == 404 and "<img src=x onerror=alert(1)>" in missing.json()["message"]
        assert invalid.status_code == 422


# --- upload names never leave the uploads folder ---

HOSTILE_NAMES = [
    "../../../../etc/cron.d/evil.txt", "/etc/passwd.txt", "/tmp/abs.md", "..\\..\\..\\Windows\\win.ini.txt",
    "C:\\Windows\\System32\\drivers\\etc\\hosts.txt", "\\\\server\\share\\unc.txt", "....txt", "...", "..", ".",
    ". .txt", "nul\x00byte.txt", "evil.txt\x00.exe", "a\x00/../../b.txt", "x" * 5000 + ".txt",
    "%2e%2e%2f%2e%2e%2fencoded.txt", "full\uff0fwidth\uff3cslash.txt", "rtl\u202etxt.md", "new\nline.txt",
    "ا" * 300 + ".md", "中" * 300 + ".md", "\U0001d400" * 300 + ".txt",  # 2, 3 and 4 bytes a character
    "~/home.txt", "-rf.txt", "con.txt", ".bashrc.txt", "sp ace/ .txt",
]


def _check_stored(folder: Path, name: str) -> None:
    assert name and name not in (".", "..") and not name.startswith(".")
    assert "/" not in name and "\\" not in name and "\x00" not in name and len(name) <= MAX_NAME_CHARS
    assert len(name.encode()) <= MAX_NAME_BYTES and not any(unicodedata.category(c)[0] == "C" for c in name)
    assert (folder / name).resolve().parent == folder


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(["..", ".", "/", "\\", "\x00", "a", "ب", ".txt",
                                                                   " ", "\u202e", "\uff0f", "~"]), max_size=40)
                 .map("".join)))
@example("")
def test_safe_name_never_escapes(tmp_path_factory, name):
    folder = tmp_path_factory.getbasetemp().resolve()
    _check_stored(folder, safe_name(name))


def test_hostile_upload_names_through_the_library_and_the_api(tmp_path):
    from ui.server import create_app

    root = tmp_path / "root"
    library = Library(seed_index(root), max_upload_bytes=200_000)
    before = {p for p in tmp_path.rglob("*")}
    named = [(n, io.BytesIO(f"Upload {i}: the tram line {i} has {i + 10} stations.\n".encode()))
             for i, n in enumerate(HOSTILE_NAMES)]
    result = library.add(named)
    via_api = []
    with running_server(create_app(library.assistant, max_upload_bytes=200_000)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        for i, n in enumerate(HOSTILE_NAMES):
            r = upload(c, (n, f"Uploaded over HTTP {i}: the bus line {i} has {i + 20} stops.\n".encode()))
            assert r.status_code in (200, 400, 415), (n, r.status_code, r.text)  # stored, or refused
            assert r.headers["content-type"] == "application/json" and (r.status_code == 200 or r.json()["message"])
            via_api.append(r)
    created = {p for p in tmp_path.rglob("*")} - before
    index = (root / "index").resolve()
    escaped = [p for p in created if not p.resolve().is_relative_to(index)]
    assert not escaped, escaped
    stored = [p for p in created if p.resolve().parent == library.folder]
    for p in stored:
        _check_stored(library.folder, p.name)
    # Every name with a supported suffix was stored and indexed, under the name the user gave.
    accepted = {n for n in HOSTILE_NAMES if Path(safe_name(n)).suffix in (".txt", ".md")}
    assert set(result.added) == accepted, set(result.skipped)
    assert {n for n, _ in result.skipped} == set(HOSTILE_NAMES) - accepted
    over_http = {n for n, r in zip(HOSTILE_NAMES, via_api) if r.status_code == 200}
    # The multipart parser refuses a 5,000-character name (400) before it reaches us; all others go in.
    assert over_http <= accepted and accepted - over_http <= {"x" * 5000 + ".txt"}
    assert len(stored) == len(accepted) + len(over_http)


# --- binding and access ---


def test_binds_to_loopback_by_default_and_the_token_comes_from_the_environment(monkeypatch, tmp_path):
    from click.testing import CliRunner

    import ui.server
    from qa.cli import main
    from qa.cli import serve as serve_command

    assert inspect.signature(ui.server.serve).parameters["host"].default == "127.0.0.1"
    assert next(p for p in serve_command.params if p.name == "host").default == "127.0.0.1"
    seen = []
    monkeypatch.setattr(ui.server, "serve", lambda assistant, **kw: seen.append(kw))
    monkeypatch.setattr("qa.cli.open_assistant", lambda *a, **k: None)
    runner = CliRunner()
    assert runner.invoke(main, ["serve", "--index", str(tmp_path)], env={"QA_TOKEN": ""}).exit_code == 0
    assert runner.invoke(main, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path)],
                         env={"QA_TOKEN": "from-env"}).exit_code == 0
    assert [(s["host"], s["token"] or None) for s in seen] == [("127.0.0.1", None), ("0.0.0.0", "from-env")]
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        ui.server.check_exposure(host, None)
    for host in ("0.0.0.0", "::", "", "192.168.1.10", "example.com", "localhost.evil.example", "::ffff:10.0.0.1"):
        with pytest.raises(ValueError, match="token"):
            ui.server.check_exposure(host, None)


def test_the_token_is_needed_on_every_api_route_and_only_as_a_bearer_header(hostile_library):
    from ui.server import create_app

    token = "t0ken-for-tests"
    with running_server(create_app(hostile_library.assistant, token=token)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        calls = [("GET", "/api/health", None), ("GET", "/api/documents", None),
                 ("POST", "/api/ask", {"question": "forum"}), ("POST", "/api/search", {"question": "forum"}),
                 ("DELETE", "/api/documents/0000000000000000", None)]
        for method, path, body in calls:
            for headers in ({}, {"Authorization": f"Basic {token}"}, {"Authorization": "Bearer wrong"},
                            {"Authorization": f"Bearer {token}x"}, {"Cookie": f"token={token}"}):
                r = c.request(method, path, json=body, headers=headers, params={"token": token})
                assert r.status_code == 401 and r.headers["content-type"] == "application/json", (path, headers)
        assert upload(c, ("a.txt", b"text")).status_code == 401
        ok = c.get("/api/health", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


# --- a web page elsewhere cannot use the local server (no token on loopback) ---


@contextlib.contextmanager
def _local_server(library):
    from ui.server import create_app

    with running_server(create_app(library.assistant, max_upload_bytes=200_000)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        yield c


def test_other_sites_cannot_write_through_the_browser(hostile_library):
    """CSRF: a page on another site can send a form upload (no preflight) to 127.0.0.1; it is refused."""
    with _local_server(hostile_library) as c:
        before = len(c.get("/api/documents").json()["documents"])
        for origin in ("http://evil.example", "https://attacker.example:7860", "null"):
            r = c.post("/api/documents", files=[("files", ("csrf.txt", b"The sky over Fes is green.", "text/plain"))],
                       headers={"Origin": origin})
            assert r.status_code == 403 and "origin" in r.json()["message"].lower(), (origin, r.text)
            r = c.delete(f"/api/documents/{hostile_library.documents()[0]['id']}", headers={"Origin": origin})
            assert r.status_code == 403
        assert len(c.get("/api/documents").json()["documents"]) == before
        same = c.post("/api/search", json={"question": "forum"}, headers={"Origin": str(c.base_url).rstrip("/")})
        assert same.status_code == 200  # the page itself, and local tools, still work
        assert c.post("/api/search", json={"question": "forum"}, headers={"Origin": "http://localhost:3000"}
                      ).status_code == 200


def test_dns_rebinding_is_refused(hostile_library):
    """A site whose name re-resolves to 127.0.0.1 reaches the server with its own Host header: refused."""
    with _local_server(hostile_library) as c:
        port = c.base_url.port
        for host in (f"evil.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}"):
            for method, path in (("GET", "/api/documents"), ("GET", "/api/health"), ("GET", "/config")):
                r = c.request(method, path, headers={"Host": host})
                assert r.status_code == 403, (host, path, r.status_code)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
            assert c.get("/api/health", headers={"Host": host}).status_code == 200, host


# --- limits: what test_ui_server does not already check ---


def test_more_limits_give_clear_4xx_json(hostile_library):
    with _local_server(hostile_library) as c:
        many = [("files", (f"f{i}.txt", b"hello there", "text/plain")) for i in range(21)]
        checks = [
            (c.post("/api/documents", files=many), 413, "at most 20"),
            (c.post("/api/ask", json={"question": "x", "history": [{"role": "user", "content": "a"}] * 51}), 422,
             "history"),
            (c.post("/api/ask", json={"question": "x", "history": [{"role": "user", "content": "a" * 20_001}]}), 422,
             "history"),
            (c.post("/api/search", json={"question": "x", "k": 51}), 422, "k"),
            (c.post("/api/search", json={"question": "x", "doc_ids": ["a"] * 101}), 422, "doc_ids"),
            (c.post("/api/ask", content='{"question": "x", "k": ' + "[" * 50_000 + "]" * 50_000 + "}",
                    headers={"content-type": "application/json"}), 400, "pars"),
            (c.post("/api/ask", content='{"question": "\\ud800 forum"}', headers={"content-type": "application/json"}),
             422, "question"),
            (c.post("/api/ask", content=b"\xff\xfe{}", headers={"content-type": "application/json"}), 422, "JSON"),
        ]
        for r, status, word in checks:
            assert r.status_code == status and word in r.json()["message"], (status, r.status_code, r.text[:300])
        assert c.get("/api/health").status_code == 200


def test_the_chat_refuses_an_over_long_question_with_a_message(hostile_library):
    from gradio_client import Client

    with _local_server(hostile_library) as c:
        client = Client(str(c.base_url), verbose=False)
        try:
            with pytest.raises(Exception, match="characters long"):
                client.predict("x" * 2001, 5, "hybrid", "all", api_name="/ask")
        finally:
            client.close()


# --- in Chromium: a payload file name, and Markdown smuggled into a cited sentence ---

from tests import test_ui_browser as _browser  # noqa: E402 - the browser fixtures, reused as they are

browser, page, base = _browser.browser, _browser.page, _browser.base


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
    assert page.locator("#qa-chat strong, #qa-chat a:not(.qa-cite)").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    # The page fixture then checks that no host but 127.0.0.1 was contacted (no pixel was fetched).
