from qa.pdf import _looks_visual, pdf_text
from tests.conftest import FIXTURES
from tests.fixtures.make_pdfs import ARABIC, ENGLISH

DOCS = FIXTURES / "docs"


def test_visual_order_is_recognised_from_word_shapes():
    logical = "افتتحت المكتبة العامة في المدينة"
    assert not _looks_visual(logical)
    assert _looks_visual(" ".join(w[::-1] for w in logical.split()))


def test_arabic_pdf_in_logical_order_with_base_letters():
    text = pdf_text(DOCS / "arabic.pdf")
    assert text == "\n".join(ARABIC)
    assert not any("\ufb50" <= c <= "\ufeff" for c in text)  # no presentation forms


def test_english_pdf_is_unchanged_and_a_scan_has_no_text():
    assert pdf_text((DOCS / "english.pdf").read_bytes()) == "\n".join(ENGLISH)
    assert pdf_text(DOCS / "scanned.pdf") == ""
