"""Security: upload names never leave the uploads folder; loopback by default and the token; other
sites and DNS rebinding refused; clear 4xx limits beyond what tests/test_ui_api.py checks."""

from __future__ import annotations

import contextlib
import inspect
import io
import unicodedata
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.hostile import hostile_library as build_hostile_library
from tests.serving import running_server, seed_index, upload
from ui import job_journal
from ui.library import MAX_NAME_BYTES, MAX_NAME_CHARS, Library, safe_name


@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory):
    return build_hostile_library(tmp_path_factory.mktemp("hostile"))


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
            assert r.status_code != 200 or r.json()["state"] == "done"
            via_api.append(r)
    created = {p for p in tmp_path.rglob("*")} - before
    index = (root / "index").resolve()
    escaped = [p for p in created if not p.resolve().is_relative_to(index)]
    assert not escaped, escaped
    stored = [p for p in created if p.resolve().parent == library.folder and p.name != job_journal.FILE]
    for p in stored:
        _check_stored(library.folder, p.name)
    # Every name with a supported suffix was stored and indexed, under the name the user gave.
    accepted = {n for n in HOSTILE_NAMES if Path(safe_name(n)).suffix in (".txt", ".md")}
    assert set(result.added) == accepted, set(result.skipped)
    assert {n for n, _ in result.skipped} == set(HOSTILE_NAMES) - accepted
    over_http = {n for n, r in zip(HOSTILE_NAMES, via_api) if r.status_code == 200}
    # The multipart parser refuses a 5,000-character name (400) before it reaches us; all others go in.
    assert over_http <= accepted and accepted - over_http <= {"x" * 5000 + ".txt"}
    # A name stored twice is one file, the second upload its new version (replace on re-upload).
    names = {Path(d["path"]).name for d in result.documents}
    names |= {Path(d["path"]).name for r in via_api if r.status_code == 200 for d in r.json()["result"]["documents"]}
    assert {p.name for p in stored} == names and len(names) >= len(accepted)
    replaced = [r for r in via_api if r.status_code == 200 and r.json()["result"]["replaced"]]
    assert len(replaced) >= len(over_http) - (len(names) - len(accepted))


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
        assert c.post("/api/search", json={"question": "forum"}).status_code == 200  # no Origin: curl, scripts


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:1", "http://[::1]:8080", "null",
                                    "http://127.0.0.1.evil.example", "file://", "http://localhost"])
def test_a_page_on_another_local_port_cannot_write_either(hostile_library, origin):
    """Issue 9: any loopback origin on any port was accepted; the Origin must be this server's own."""
    with _local_server(hostile_library) as c:
        before = len(c.get("/api/documents").json()["documents"])
        upload_body = {"files": [("files", ("x.txt", b"Other port.", "text/plain"))]}
        for method, path, kw in (("POST", "/api/documents", upload_body),
                                 ("POST", "/api/ask", {"json": {"question": "forum"}}),
                                 ("DELETE", f"/api/documents/{hostile_library.documents()[0]['id']}", {}),
                                 ("POST", "/gradio_api/queue/join", {"json": {}})):
            r = c.request(method, path, headers={"Origin": origin}, **kw)
            assert r.status_code == 403 and "another origin" in r.json()["message"], (method, path, r.text)
        assert len(c.get("/api/documents").json()["documents"]) == before
        preflight = c.options("/api/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers


def test_with_a_token_no_other_origin_gets_cors_and_the_cookie_is_same_site(hostile_library):
    """Gradio reflects any Origin with credentials when the host is not localhost; its sign-in cookie had no
    SameSite. Both are fixed in front of Gradio."""
    from ui.server import create_app

    token = "t0ken-for-tests"
    with running_server(create_app(hostile_library.assistant, token=token)) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        port = c.base_url.port
        public = {"Host": f"qa.example:{port}"}  # as when listening on a public address with a token
        login = c.post("/login", data={"username": "qa", "password": token}, headers=public)
        assert login.status_code == 200
        cookies = login.headers.get_list("set-cookie")
        assert cookies and all("samesite=strict" in v.lower() and "samesite=none" not in v.lower() for v in cookies)
        for path in ("/config", "/gradio_api/info"):
            r = c.get(path, headers={**public, "Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in r.headers, (path, r.headers)
        own = c.get("/config", headers={**public, "Origin": f"http://qa.example:{port}"})
        assert own.status_code == 200
        r = c.post("/api/ask", json={"question": "forum"}, headers={**public, "Origin": "https://evil.example",
                                                                  "Authorization": f"Bearer {token}"})
        assert r.status_code == 403  # the token does not make another site's page welcome


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


# --- limits: what test_ui_api does not already check ---


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
