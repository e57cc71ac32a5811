"""The server (ui/server.py): offline /docs, the token, exposure checks, `qa serve`, request logs."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

import ui  # noqa: F401 - first: sets the environment that keeps Gradio (and its client) from phoning home
from tests.conftest import ROOT
from tests.serving import TOKEN, running_server

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations in Gradio


def test_openapi_and_docs(api_client):
    schema = api_client.get("/openapi.json").json()
    paths = {"/api/ask", "/api/search", "/api/documents", "/api/documents/{doc_id}", "/api/health", "/api/jobs",
             "/api/jobs/{job_id}"}
    assert paths <= set(schema["paths"])
    assert "AskRequest" in schema["components"]["schemas"] and "AnswerOut" in schema["components"]["schemas"]
    docs = api_client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text and "tiangolo.com" not in docs.text  # nothing from elsewhere
    assert api_client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert api_client.get("/").status_code == 200  # the web chat


def test_token_protects_the_api_and_the_page(api_assistant):
    from gradio_client import Client

    from ui.server import create_app

    with running_server(create_app(api_assistant, token=TOKEN)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/health", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["documents"] >= 1
        assert c.post("/api/ask", json={"question": "forum"}).status_code == 401
        assert c.get("/config").status_code == 401  # the page needs a sign-in
        assert c.post("/login", data={"username": "qa", "password": "wrong"}).status_code == 400
        doc_id = api_assistant.documents()[0]["id"]
        assert c.get(f"/view/{doc_id}").status_code == 401  # the viewer too: a token or the page's sign-in
        assert c.get(f"/view/{doc_id}", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.post("/login", data={"username": "qa", "password": TOKEN}).status_code == 200
        assert "marrakech_security_forum_ar.txt" in c.get(f"/view/{doc_id}?start=0&end=10").text
        gradio = Client(url, auth=("qa", TOKEN), verbose=False)
        result = gradio.predict("كم عدد المشاركين في المنتدى؟", 5, "hybrid", "all", api_name="/ask")
        gradio.close()
        assert "150" in result["text"]


def test_serve_refuses_a_public_address_without_a_token(api_assistant):
    from qa.cli import main
    from ui.server import check_exposure, serve

    with pytest.raises(ValueError, match="--token"):
        serve(api_assistant, host="0.0.0.0", port=1)
    check_exposure("127.0.0.1", None)
    check_exposure("::1", None)
    check_exposure("0.0.0.0", "t")
    result = CliRunner().invoke(main, ["serve", "--index", str(api_assistant.index.folder), "--host", "192.0.2.1"],
                                env={"QA_TOKEN": ""})
    assert result.exit_code == 1 and "QA_TOKEN" in result.output


def test_qa_serve_starts_and_answers(api_assistant):
    """`qa serve` comes up and answers; how fast is bench/startup.py's business (no timing asserted here)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "QA_TOKEN": ""}
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(api_assistant.index.folder),
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    try:
        while True:
            assert proc.poll() is None, proc.stdout.read()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            # A safety net, not a speed target: a hung server must fail the test, a loaded machine must not.
            assert time.monotonic() - started < 300, "qa serve did not answer within 300 s"
            time.sleep(0.2)
        r = httpx.post(f"http://127.0.0.1:{port}/api/ask", json={"question": "Who organised the forum?"}, timeout=60)
        assert r.status_code == 200 and r.json()["citations"]
    finally:
        proc.terminate()
        proc.wait(15)


def test_one_log_line_per_api_request_without_the_question(api_client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="qa.http")
    question = "How many participants attended the forum?"
    api_client.post("/api/ask", json={"question": question})
    api_client.get("/api/nothing")
    lines = [r.getMessage() for r in caplog.records if r.name == "qa.http"]
    assert any(line.startswith("POST /api/ask 200 ") and line.endswith(" ms") for line in lines), lines
    assert any(line.startswith("GET /api/nothing 404 ") for line in lines)
    assert not any(question in line for line in lines)  # no question text unless log.questions is on
