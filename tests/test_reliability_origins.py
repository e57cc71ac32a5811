"""Security: a web page elsewhere cannot use the local server (no token on loopback): cross-site
writes, pages on other local ports, CORS and the sign-in cookie with a token, DNS rebinding."""

from __future__ import annotations

import httpx
import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.hostile import hostile_library as build_hostile_library
from tests.serving import library_server, running_server


@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory):
    return build_hostile_library(tmp_path_factory.mktemp("hostile"))


def test_other_sites_cannot_write_through_the_browser(hostile_library):
    """CSRF: a page on another site can send a form upload (no preflight) to 127.0.0.1; it is refused."""
    with library_server(hostile_library) as c:
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
    with library_server(hostile_library) as c:
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
    with library_server(hostile_library) as c:
        port = c.base_url.port
        for host in (f"evil.example:{port}", "attacker.example", f"127.0.0.1.nip.io:{port}"):
            for method, path in (("GET", "/api/documents"), ("GET", "/api/health"), ("GET", "/config")):
                r = c.request(method, path, headers={"Host": host})
                assert r.status_code == 403, (host, path, r.status_code)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
            assert c.get("/api/health", headers={"Host": host}).status_code == 200, host
