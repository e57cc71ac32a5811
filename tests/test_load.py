import json
import os
import zipfile

import pytest

from qa.load import LoadError, discover, load_file, load_paths
from tests.conftest import FIXTURES, SEEDS

DOCS = FIXTURES / "docs"


def test_seed_article_loads_as_arabic_with_its_headline_as_title():
    [doc] = load_file(next(SEEDS.glob("*.txt")))
    assert doc.lang == "ar"
    assert doc.title.startswith("الدعوة إلى جعل الدبلوماسية الوقائية")
    assert "150 مشارك" in doc.text
    assert len(doc.id) == 16 and doc.id == load_file(next(SEEDS.glob("*.txt")))[0].id


def test_arabic_pdf_comes_out_in_logical_order():
    from tests.fixtures.make_pdfs import ARABIC

    [doc] = load_file(DOCS / "arabic.pdf")
    assert doc.lang == "ar"
    assert doc.text == "\n".join(ARABIC)


def test_english_pdf_text():
    from tests.fixtures.make_pdfs import ENGLISH

    [doc] = load_file(DOCS / "english.pdf")
    assert doc.text == "\n".join(ENGLISH) and doc.lang == "en"


def test_pdf_without_text_layer_is_reported():
    with pytest.raises(LoadError, match="no text layer"):
        load_file(DOCS / "scanned.pdf")


def test_html_drops_scripts_and_styles_and_keeps_title(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Museum &amp; Gardens</title><style>p{color:red}</style></head>"
                    "<body><h1>Opening</h1><p>The museum opened in <b>1998</b>.</p>"
                    "<script>alert('x')</script><p>Entry is free.</p></body></html>")
    [doc] = load_file(page)
    assert doc.title == "Museum & Gardens"
    assert "alert" not in doc.text and "color" not in doc.text
    assert "The museum opened in 1998." in doc.text and "Entry is free." in doc.text


def test_docx_paragraphs(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "تقرير"
    d.add_paragraph("افتتح المتحف عام 1998.")
    d.add_paragraph("الدخول مجاني.")
    d.save(tmp_path / "r.docx")
    [doc] = load_file(tmp_path / "r.docx")
    assert doc.title == "تقرير" and doc.text == "افتتح المتحف عام 1998.\n\nالدخول مجاني." and doc.lang == "ar"


def test_json_and_jsonl_records(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([
        {"id": "n1", "title": "Note", "text": "First note text.", "metadata": {"k": 1}},
        {"text": "Second note without id."}]))
    (tmp_path / "b.jsonl").write_text('{"text": "نص عربي قصير."}\n\n{"text": "Another.", "id": 7}\n')
    docs = load_file(tmp_path / "a.json") + load_file(tmp_path / "b.jsonl")
    assert docs[0].metadata == {"k": 1, "record_id": "n1"} and docs[3].metadata == {"record_id": "7"}
    assert docs[1].title == "Second note without id." and "record_id" not in docs[1].metadata
    assert docs[2].lang == "ar" and len({d.id for d in docs}) == 4


def test_record_ids_are_scoped_by_their_file(tmp_path):
    """Two files that both number their records 0..2 are six documents, not one file skipped as a copy."""
    for name, topic in (("a.jsonl", "harbour"), ("b.jsonl", "market")):
        (tmp_path / name).write_text("".join(json.dumps({"id": i, "text": f"The {topic} note number {i}."}) + "\n"
                                             for i in range(3)))
    (tmp_path / "c.json").write_text(json.dumps([{"id": 0, "text": "The museum note."}]))
    a, b, c = (load_file(tmp_path / n) for n in ("a.jsonl", "b.jsonl", "c.json"))
    assert len({d.id for d in a + b + c}) == 7 and [d.metadata["record_id"] for d in a] == ["0", "1", "2"]
    assert [d.id for d in load_file(tmp_path / "a.jsonl")] == [d.id for d in a]  # stable for the same file


def test_jsonl_lines_end_at_newline_only(tmp_path):
    """U+2028, U+2029, U+0085 and form feeds are valid raw inside JSON strings (json.dumps(ensure_ascii=False)
    writes them); only "\\n" ends a JSONL line."""
    texts = ["First\u2028line separator.", "Next\x85line and \u2029paragraph.", "Form\x0cfeed \x1c\x1d\x1e."]
    (tmp_path / "u.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\r\n" for t in texts),
                                      "utf-8")
    assert [d.text for d in load_file(tmp_path / "u.jsonl")] == texts


@pytest.mark.parametrize("name, content, reason", [
    ("bad.jsonl", b'{"text": "ok"}\nnot json\n', "line 2 is not valid JSON"),
    ("bad.json", b'{"title": "no text"}', "string 'text' field"),
    ("empty.txt", b"", "empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary content"),
    ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
    ("corrupt.pdf", b"%PDF-1.4\n1 0 obj <<>> garbage", "PDF is damaged"),
    ("fake.docx", b"this is not a zip", "not a valid .docx"),
])
def test_unreadable_files_raise_a_reason(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LoadError, match=reason) as err:
        load_file(tmp_path / name)
    assert err.value.path.endswith(name)


def test_truncated_pdf_is_reported(tmp_path):
    data = (DOCS / "english.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 3])
    with pytest.raises(LoadError):
        load_file(tmp_path / "cut.pdf")


def test_size_limit_and_zip_bomb(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    with pytest.raises(LoadError, match="over the"):
        load_file(tmp_path / "big.txt", max_bytes=1000)
    with zipfile.ZipFile(tmp_path / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"0" * (300 * 1024 * 1024))
    with pytest.raises(LoadError, match="zip bomb"):
        load_file(tmp_path / "bomb.docx")


def test_a_path_that_cannot_be_read_is_reported(tmp_path):
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(LoadError, match="cannot read"):
        load_file(tmp_path / "folder.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_permission(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("hidden")
    p.chmod(0)
    with pytest.raises(LoadError, match="cannot read"):
        load_file(p)


def test_a_bad_file_is_skipped_and_the_others_load(tmp_path):
    (tmp_path / "good.txt").write_text("A good English file.")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    (tmp_path / "ignored.xyz").write_text("not a supported type")
    (tmp_path / ".hidden.txt").write_text("hidden files are skipped")
    report = load_paths([tmp_path, tmp_path / "missing.txt", tmp_path / "ignored.xyz"])
    assert [d.title for d in report.documents] == ["A good English file."]
    reasons = {os.path.basename(e.path): e.reason for e in report.errors}
    assert set(reasons) == {"bad.pdf", "missing.txt", "ignored.xyz"}
    assert "no such file" in reasons["missing.txt"] and "unsupported" in reasons["ignored.xyz"]


def test_discover_is_sorted_and_deduplicated(tmp_path):
    for n in ("b.txt", "a.md", "sub/c.html"):
        (tmp_path / n).parent.mkdir(exist_ok=True)
        (tmp_path / n).write_text("x")
    files, _ = discover([tmp_path, tmp_path / "a.md"])
    assert [f.name for f in files] == ["a.md", "b.txt", "c.html"]
