"""The offline /docs page (ui/apidocs.py) in Chromium at desktop and phone sizes, every request to another
host blocked: Swagger UI lists the endpoints and loads nothing from elsewhere."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import LOCAL, open_context

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]


def test_docs_page_lists_the_endpoints_with_nothing_from_outside(browser, seed_base, viewport):
    from playwright.sync_api import expect

    context = open_context(browser, viewport)
    page = context.new_page()
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(seed_base + "/docs")
    for path in ("/api/ask", "/api/search", "/api/documents", "/api/health"):
        expect(page.locator(".opblock-summary-path", has_text=re.compile(f"^{re.escape(path)}$")).first).to_be_visible()
    icon = page.evaluate("() => document.querySelector('link[rel*=icon]').href")
    assert urlparse(icon).hostname in LOCAL
    assert not context.blocked and not failed, (context.blocked, failed)
    context.close()
