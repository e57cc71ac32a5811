"""A scripted OpenAI-compatible chat-completions server on a free loopback port, for unit tests.

Each request pops the next behaviour from ``script`` (the last one repeats; a callable gets the
request body and returns the behaviour): a reply text (streamed
as Server-Sent Events, or one JSON body when the request did not ask for a stream), or one of the
failures ``CLOSE`` (drops the connection), ``HANG`` (never answers, until the server stops),
``ERROR_500``, ``GARBAGE`` (a stream of non-events), ``OVERFLOW`` (llama.cpp's context error).
Every request body is kept in ``requests``. Only for tests of our side: the real server is
llama.cpp's (tests/test_llm_real.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLOSE, HANG, ERROR_500, GARBAGE, OVERFLOW = "<close>", "<hang>", "<500>", "<garbage>", "<overflow>"


class FakeLLM:
    def __init__(self, *script: str | Callable[[dict], str], piece_seconds: float = 0.0):
        self.script = list(script) or ["NOT_IN_DOCUMENTS"]
        self.piece_seconds = piece_seconds  # a slow model: each streamed piece waits this long
        self.requests: list[dict] = []
        self.stopped = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
                step = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                step = step(body) if callable(step) else step
                fake.respond(self, step, bool(body.get("stream")))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def spec(self, model: str = "fake") -> str:
        return f"openai:{model}@{self.url}"

    def respond(self, h: BaseHTTPRequestHandler, step: str, stream: bool) -> None:
        if step == CLOSE:
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if step == HANG:
            self.stopped.wait(30)
            return
        if step in (ERROR_500, OVERFLOW):
            status, text = (500, "internal failure") if step == ERROR_500 else (
                400, json.dumps({"error": {"message": "the request exceeds the available context size"}}))
            h.send_response(status)
            h.send_header("content-type", "application/json")
            h.end_headers()
            h.wfile.write(text.encode())
            return
        if not stream:
            self._send(h, "application/json", json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": step}, "finish_reason": "stop"}]}))
            return
        if step == GARBAGE:
            self._send(h, "text/event-stream", "<html>not an event stream</html>\n\n")
            return
        events = [{"choices": [{"delta": {"content": piece}, "finish_reason": None}]} for piece in _pieces(step)]
        events.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
        blocks = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("content-length", str(sum(map(len, blocks))))
        h.end_headers()
        for block in blocks:
            h.wfile.write(block)
            h.wfile.flush()
            if self.piece_seconds:
                self.stopped.wait(self.piece_seconds)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, kind: str, text: str) -> None:
        data = text.encode("utf-8")
        h.send_response(200)
        h.send_header("content-type", kind)
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def _pieces(text: str) -> list[str]:
    """The reply cut into word-sized pieces, as a model streams tokens."""
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


class Relay(FakeLLM):
    """Forwards every request to a real server at ``upstream`` (its base URL) and keeps the bodies,
    so a test of a real model can check what was sent; the answer streams back unchanged."""

    def __init__(self, upstream: str):
        super().__init__()
        self.upstream = upstream

    def respond(self, h: BaseHTTPRequestHandler, step: str, stream: bool) -> None:
        import httpx

        body = self.requests[-1]["body"]
        path = h.path.removeprefix("/v1")
        with httpx.stream("POST", self.upstream + path, json=body, timeout=900) as r:
            h.send_response(r.status_code)
            h.send_header("content-type", r.headers.get("content-type", "application/json"))
            h.send_header("connection", "close")
            h.end_headers()
            for block in r.iter_raw():
                h.wfile.write(block)
                h.wfile.flush()
        h.close_connection = True
