"""Security: upload names never leave the uploads folder; loopback by default and the token; clear 4xx
limits beyond what tests/test_ui_api.py checks (other sites and DNS rebinding: test_reliability_origins)."""

from __future__ import annotations

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
from tests.serving import library_server, running_server, seed_index, upload
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


# --- limits: what test_ui_api does not already check ---


def test_more_limits_give_clear_4xx_json(hostile_library):
    with library_server(hostile_library) as c:
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

    with library_server(hostile_library) as c:
        client = Client(str(c.base_url), verbose=False)
        try:
            with pytest.raises(Exception, match="characters long"):
                client.predict("x" * 2001, 5, "hybrid", "all", api_name="/ask")
        finally:
            client.close()
