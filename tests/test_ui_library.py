"""The upload library without a server: safe file names, upload checks (type, size, empty), storage only
under the index's uploads folder, unreadable uploads reported and not kept, questions answered while
another user ingests."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

import ui  # noqa: F401 - first: sets the environment that keeps Gradio from phoning home
from tests.serving import seed_index
from ui import documents
from ui.library import Library, UploadError, check_upload, safe_name


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return Library(seed_index(tmp_path_factory.mktemp("ui-library")), max_upload_bytes=10_000)


@pytest.mark.parametrize("given, safe", [
    ("report.txt", "report.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\notes.MD", "notes.md"),
    ("/abs/path/a.pdf", "a.pdf"),
    ("nul\x00byte.txt", "nulbyte.txt"),
    ("line\nbreak\t.txt", "linebreak.txt"),
    (".hidden.txt", "hidden.txt"),
    ("..", "upload"),
    ("", "upload"),
    ("a..b.txt", "a_b.txt"),
    ('we<i>rd:|?*".json', "we_i_rd_.json"),
    ("تقرير المنتدى.DOCX", "تقرير المنتدى.docx"),
    ("x" * 300 + ".jsonl", "x" * 94 + ".jsonl"),
    ("con.txt", "con_.txt"),  # Windows device names, from pathvalidate: the uploads folder may be copied there
    ("NUL.md", "NUL_.md"),
    ("lpt9.pdf", "lpt9_.pdf"),
])
def test_safe_names(given, safe):
    assert safe_name(given) == safe
    assert "/" not in safe and "\\" not in safe and len(safe) <= 100


def test_check_upload():
    check_upload("a.txt", 10, 100)
    with pytest.raises(UploadError) as e:
        check_upload("tool.exe", 10, 100)
    assert e.value.status == 415 and "tool.exe" in str(e.value) and ".pdf" in e.value.reason
    with pytest.raises(UploadError) as e:
        check_upload("big.txt", 101, 100)
    assert e.value.status == 413 and "limit" in e.value.reason
    with pytest.raises(UploadError) as e:
        check_upload("empty.md", 0, 100)
    assert e.value.status == 400


def test_library_stores_only_in_uploads_and_a_re_upload_replaces(library):
    uploads = library.folder
    assert uploads == (Path(library.assistant.index.folder) / "uploads").resolve()
    first = library.add([("../../a/notes.txt", io.BytesIO(b"The Rabat tram has 31 stations.\n"))])
    assert first.added == ["../../a/notes.txt"] and first.documents
    same = library.add([("notes.txt", io.BytesIO(b"The Rabat tram has 31 stations.\n"))])
    assert same.unchanged == ["notes.txt"] and not same.added
    other = library.add([("notes.txt", io.BytesIO(b"The Fes medina has 9,400 streets.\n"))])
    assert other.replaced == ["notes.txt"] and Path(other.documents[0]["path"]).name == "notes.txt"
    assert (uploads / "notes.txt").read_bytes() == b"The Fes medina has 9,400 streets.\n"
    assert first.documents[0]["id"] not in {d["id"] for d in library.documents()}  # the old version is gone
    broken = library.add([("notes.txt", io.BytesIO(b"\xff\xfe not UTF-8 \x00"))])
    assert broken.skipped and not broken.replaced  # an unreadable new version leaves the old one in place
    assert (uploads / "notes.txt").read_bytes() == b"The Fes medina has 9,400 streets.\n"
    assert other.documents[0]["id"] in {d["id"] for d in library.documents()}
    refused = library.add([("huge.txt", io.BytesIO(b"x" * 20_000)), ("a.exe", io.BytesIO(b"MZ"))])
    assert [n for n, _ in refused.skipped] == ["huge.txt", "a.exe"] and "limit" in refused.skipped[0][1]
    for d in other.documents:
        assert library.remove(d["id"])[0]["id"] == d["id"]
    assert sorted(p.name for p in uploads.iterdir()) == []  # stored files and partial files are gone
    with pytest.raises(KeyError):
        library.remove(first.documents[0]["id"])
    assert len(library.documents()) == 1  # the seed document only


def test_unreadable_upload_is_reported_and_not_kept(library):
    result = library.add([("scan.pdf", io.BytesIO(b"%PDF-1.4 garbage"))])
    assert result.skipped and result.skipped[0][0] == "scan.pdf" and not result.documents
    assert not (library.folder / "scan.pdf").exists()
    assert "scan.pdf" in documents.report_html(result)


def test_questions_keep_working_while_another_user_ingests(library):
    errors, answers = [], []

    def asker():
        try:
            for _ in range(15):
                answers.append(library.assistant.ask("كم عدد المشاركين في المنتدى؟"))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=asker) for _ in range(2)]
    for t in threads:
        t.start()
    result = library.add([(f"doc{i}.txt", io.BytesIO(f"Document {i} says the number is {i * 7}.\n".encode()))
                          for i in range(4)])
    for t in threads:
        t.join()
    assert not errors and len(answers) == 30 and all("150" in a.text for a in answers)
    for d in result.documents:
        library.remove(d["id"])
