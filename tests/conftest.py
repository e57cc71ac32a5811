"""Shared fixtures: the real e5-small embedder and small indexes built once per test session."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests import netguard
from tests.browsing import DESKTOP, PHONE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PARALLEL = FIXTURES / "parallel"
SEEDS = ROOT / "seeds"


def parallel_documents(n: int, sep: str = " ") -> list[tuple[str, list[int], list[str]]]:
    """(text, where its sentences start, the sentences) for each parallel document, en and ar: its first ``n``
    sentences (split at "." and "؟", each ending in ".") joined by ``sep``."""
    out = []
    for f in sorted(PARALLEL.glob("*/*.txt")):
        parts = f.read_text("utf-8").replace("\n", " ").replace("؟", ".").split(".")
        sentences = [p.strip() + "." for p in parts if len(p.strip()) > 3][:n]
        text = sep.join(sentences)
        starts, at = [], 0
        for sentence in sentences:
            at = text.index(sentence, at)
            starts.append(at)
            at += len(sentence)
        out.append((text, starts, sentences))
    return out


@pytest.fixture(scope="session")
def questions() -> list[dict]:
    return [json.loads(line) for line in (PARALLEL / "questions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def one_pass_e5():
    """The e5-small embedder on qa's one-pass engine (qa/e5engine); the test skips where it is not built,
    or fails with QA_REQUIRE_ENGINE=1 (CI, where `pip install -e .` builds it)."""
    from qa.embed import get_embedder

    e5 = get_embedder()
    if not e5.one_pass:
        if os.environ.get("QA_REQUIRE_ENGINE"):
            pytest.fail("QA_REQUIRE_ENGINE is set but the one-pass engine is not built: pip install -e .")
        pytest.skip("the one-pass engine is not built (python setup.py build_ext --inplace)")
    return e5


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory):
    from qa import Assistant

    return Assistant.build([SEEDS], tmp_path_factory.mktemp("seed") / "index")


@pytest.fixture(scope="session")
def mixed_corpus(tmp_path_factory) -> Path:
    """Three topics only in English, three only in Arabic."""
    folder = tmp_path_factory.mktemp("mixed")
    for name in ("library", "bridge", "festival"):
        shutil.copy(PARALLEL / "en" / f"{name}.txt", folder / f"{name}.txt")
    for name in ("hospital", "solar", "football"):
        shutil.copy(PARALLEL / "ar" / f"{name}.txt", folder / f"{name}.txt")
    return folder


@pytest.fixture(scope="session")
def mixed_assistant(tmp_path_factory, mixed_corpus):
    from qa import Assistant

    return Assistant.build([mixed_corpus], tmp_path_factory.mktemp("mixed-index") / "index")


# --- Nothing phones home (issue 6): outbound network is blocked for the whole suite, loopback only. ---
# Installed at import, before any test module is collected, in this process and (through a
# sitecustomize on PYTHONPATH) in every Python subprocess the tests start; Chromium runs with its
# background networking off and test_ui_browser checks the hosts the page contacts.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.pop("QA_GENERATOR", None)  # a developer's model must not answer the tests' questions
os.environ.pop("QA_LLM_API_KEY", None)
_NETGUARD = Path(tempfile.mkdtemp(prefix="qa-netguard-"))
atexit.register(shutil.rmtree, _NETGUARD, ignore_errors=True)
os.environ[netguard.LOG_ENV] = str(_NETGUARD / "blocked.log")
os.environ.update(netguard.child_env(_NETGUARD / "site"))
netguard.install()
_netguard_seen = 0


@pytest.fixture(autouse=True)
def _no_outbound_network():
    """Fail the test during which anything (even a library that swallows the error) tried to go out."""
    global _netguard_seen
    yield
    log = Path(os.environ[netguard.LOG_ENV])
    lines = log.read_text("utf-8").splitlines() if log.exists() else []
    new, _netguard_seen = lines[_netguard_seen:], len(lines)
    if new:
        pytest.fail("outbound network attempts were blocked during this test:\n" + "\n".join(new[:20]))


@pytest.fixture(scope="module")
def api_assistant(tmp_path_factory):
    """An Assistant over a copy of the seed index (one per test module: uploads and removals stay in it)."""
    from tests.serving import seed_index

    return seed_index(tmp_path_factory.mktemp("ui-api"))


@pytest.fixture(scope="module")
def api_base(api_assistant):
    """The URL of a real uvicorn server of ui.server.create_app over ``api_assistant``."""
    from tests.serving import MAX_UPLOAD, running_server
    from ui.server import create_app

    with running_server(create_app(api_assistant, max_upload_bytes=MAX_UPLOAD)) as url:
        yield url


@pytest.fixture(scope="module")
def seed_base(tmp_path_factory):
    """The URL of a real server over a copy of the seed index with default settings (one per module)."""
    from tests.serving import running_server, seed_index
    from ui.server import create_app

    with running_server(create_app(seed_index(tmp_path_factory.mktemp("seed-server")))) as url:
        yield url


@pytest.fixture(scope="module")
def api_client(api_base):
    import httpx

    with httpx.Client(base_url=api_base, timeout=60) as c:
        yield c


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def viewport(request) -> dict:
    """Each browser test that takes it runs at a desktop and at a phone size."""
    return request.param


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module. Skipped when it is missing, unless
    QA_REQUIRE_BROWSER=1 (CI), which makes that a failure."""
    from tests.browsing import ARGS, CHROMIUM, TIMEOUT

    if not Path(CHROMIUM).exists():
        if os.environ.get("QA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is required (QA_REQUIRE_BROWSER=1) but {CHROMIUM} is missing")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT)  # its default (5 s) is shorter than a page load at load 18
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
