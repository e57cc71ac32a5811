"""The Documents tab in Chromium (issue 10), at desktop (1366x900) and phone (390x844) sizes, with every
request to another host blocked: a batch with an empty file, one progress bar, documents chosen by title,
file and date, a confirmation before removing, "already indexed (same content)"."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.browsing import TIMEOUT, shot
from tests.serving import running_server, seed_index

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from ui.server import create_app

    with running_server(create_app(seed_index(tmp_path_factory.mktemp("ui-docs-browser")),
                                   max_upload_bytes=200_000)) as url:
        yield url


@pytest.fixture(params=list(SIZES))
def page(request, browser, base):
    context = browser.new_context(viewport=SIZES[request.param])
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    outside: list[str] = []

    def only_loopback(route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in ("127.0.0.1", "") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    pg.route("**/*", only_loopback)
    pg.goto(base)
    pg.locator("#qa-input textarea").wait_for(state="attached")
    pg.size_name = request.param
    yield pg
    context.close()
    assert not outside, f"the page asked other hosts: {outside[:5]}"


def _documents_tab(page) -> None:
    from playwright.sync_api import expect

    if page.viewport_size["width"] < 800:  # the page closes the sidebar on a phone: clicking it too could reopen it
        expect(page.locator("#qa-settings")).not_to_have_class(re.compile(r"\bopen\b"))
    page.get_by_role("tab", name="Documents").click()


_COUNT_BARS = """() => {
  window.qaBars = {report: 0, elsewhere: 0};
  const count = () => {
    const inReport = document.querySelectorAll("#qa-report progress").length;
    const elsewhere = document.querySelectorAll(
      "#qa-docs progress, #qa-docs .eta-bar, #qa-doc-select .eta-bar").length;
    window.qaBars.report = Math.max(window.qaBars.report, inReport);
    window.qaBars.elsewhere = Math.max(window.qaBars.elsewhere, elsewhere);
  };
  new MutationObserver(count).observe(document.body, {childList: true, subtree: true});
}"""


def test_upload_batch_progress_and_remove_with_confirmation(page, tmp_path):
    from playwright.sync_api import expect

    _documents_tab(page)
    empty, good = tmp_path / "empty.txt", tmp_path / f"kasbah_{page.size_name}.txt"
    empty.write_text("")
    good.write_text(f"Kasbah {page.size_name}\n\n" + "".join(
        f"Line {i}: the kasbah gate {i} of Tiznit is {i + 3} metres high.\n\n" for i in range(40)))
    page.evaluate(_COUNT_BARS)
    page.locator("#qa-upload input[type=file]").set_input_files([str(empty), str(good)])
    report = page.locator("#qa-report")
    expect(report.locator(".qa-report-added")).to_contain_text(good.name, timeout=120_000)
    # Counted on every change of the page, not polled: a small job can finish between two polls.
    assert page.evaluate("window.qaBars") == {"report": 1, "elsewhere": 0}  # one bar for the job, in one place
    expect(report.locator(".qa-report-error")).to_contain_text("empty.txt: the file is empty")
    expect(report.locator("progress")).to_have_count(0)
    table = page.locator("#qa-docs")
    expect(table).to_contain_text(f"Kasbah {page.size_name}")
    assert report.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the report runs off its box"
    shot(page, f"documents-upload-{page.size_name}.png")

    page.locator("#qa-upload input[type=file]").set_input_files(str(good))  # the same file again
    expect(report.locator(".qa-report-unchanged").first).to_contain_text(
        f"Already indexed (same content): {good.name}", timeout=60_000)

    page.locator("#qa-doc-select input").click()
    option = page.get_by_role("option", name=re.compile(f"Kasbah {page.size_name} — {good.name} · 20"))
    expect(option).to_be_visible()
    assert not re.search(r"[0-9a-f]{16}", option.inner_text())  # chosen by title, file and date; no hex id
    option.click()
    page.locator("#qa-remove").click()
    confirm = page.locator("#qa-confirm-text")
    expect(confirm).to_contain_text(f"Remove Kasbah {page.size_name} — {good.name}")
    page.locator("#qa-confirm-keep").click()
    expect(confirm).to_be_hidden()
    expect(table).to_contain_text(f"Kasbah {page.size_name}")  # kept: asking removed nothing
    page.locator("#qa-remove").click()
    page.locator("#qa-confirm-remove").click()
    expect(page.locator("#qa-removed")).to_contain_text(f"Removed: Kasbah {page.size_name}")
    expect(table).not_to_contain_text(good.name)
    expect(table).to_contain_text("marrakech_security_forum_ar.txt")
