"""Browser helpers for tests: Debian's Chromium through Playwright (``npx playwright install`` cannot work
offline), contexts that abort every request to another host, and the chat page opened and ready. The
``browser`` fixture over them is in conftest.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
TIMEOUT = 20_000
ANSWER_TIMEOUT = 60_000  # a realistic margin on two cores shared by six test runs
DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
LOCAL = {"127.0.0.1", "localhost"}


def shot(page, name: str) -> None:
    """Save a screenshot under docs/screenshots/ when QA_SCREENSHOTS=1 (for the README)."""
    if os.environ.get("QA_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name))


def open_context(browser, viewport):
    """A context that aborts every request not to this machine (and records it)."""
    context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
    context.blocked = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            return route.continue_()
        context.blocked.append(route.request.url)
        return route.abort()

    context.route("**/*", guard)
    return context


def chat_page(browser, base, viewport):
    """A blocking context and its page on the chat at ``base``, ready for a question."""
    context = open_context(browser, viewport)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(base)
    page.locator("#qa-input textarea:not([disabled])").wait_for()  # enabled once the saved chat is restored
    return context, page


def ask(page, question: str, turn: int):
    """Send ``question`` from the box; returns the locator of answer number ``turn`` once it shows."""
    box = page.locator("#qa-input textarea:not([disabled])")
    box.fill(question)
    box.press("Enter")
    answer = page.locator(f"#qa-answer-{turn}")
    answer.wait_for(timeout=ANSWER_TIMEOUT)
    return answer


def offline_chat(browser, base, viewport):
    """For a fixture to ``yield from``: the chat page at ``base``, then (after the test) the check that
    it asked no other host, and the context closed."""
    context, page = chat_page(browser, base, viewport)
    yield page
    assert not context.blocked, f"the page asked other hosts: {context.blocked}"
    context.close()


def read_clipboard(page) -> str:
    return page.evaluate("() => navigator.clipboard.readText()")
