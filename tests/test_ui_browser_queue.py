"""The page's watch over Gradio's queue (ui/static/chat.js): a reply whose event stream closed late still
reaches the page (Gradio's JS client loses it; chat.js opens a stream with a queued no-op)."""

from __future__ import annotations

import asyncio

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import DESKTOP, ask, chat_page
from tests.serving import running_server, seed_index

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]


class LateStreamClose:
    """ASGI wrapper: Gradio's ``close_stream`` message reaches the page ``delay`` seconds late, as on a
    loaded machine where the page reads the reply to its next request first."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, delay

    async def __call__(self, scope, receive, send):
        async def late_send(message):
            if message["type"] == "http.response.body" and b'"close_stream"' in message.get("body", b""):
                await asyncio.sleep(self.delay)
            await send(message)

        return await self.app(scope, receive, late_send)


@pytest.fixture(scope="module")
def late_base(tmp_path_factory):
    from ui.server import create_app

    app = create_app(seed_index(tmp_path_factory.mktemp("ui-late")))
    with running_server(LateStreamClose(app, 1.5)) as url:
        yield url


def test_answers_arrive_when_the_event_stream_closes_late(browser, late_base):
    """Gradio's client lost the reply to a question sent as an earlier event's stream closed: the first
    question while the page's load events ended, a follow-up sent as soon as an answer shows."""
    from playwright.sync_api import expect

    context, page = chat_page(browser, late_base, DESKTOP)
    expect(ask(page, "How many participants attended the forum?", 1)).to_contain_text("150")
    expect(ask(page, "Who organised the forum?", 2)).to_contain_text("[1]")
    context.close()

