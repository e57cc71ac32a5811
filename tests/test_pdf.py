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


def harbour_pdf(path, title: str | None = None):
    """Two pages: a large heading and an introduction, then the fact on page 2 (no title unless given)."""
    from fpdf import FPDF

    from tests.fixtures.make_pdfs import FIXED_DATE

    pdf = FPDF(format=(148, 210))
    pdf.set_creation_date(FIXED_DATE)
    if title is not None:
        pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", size=22)
    pdf.cell(w=0, h=12, text="Harbour Survey 2023", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(w=0, h=6, text="The survey of the old harbour of Essaouira ran through one summer. Volunteers "
                                  "counted the boats that came in every morning and wrote down their kind.")
    pdf.add_page()
    pdf.multi_cell(w=0, h=6, text="In August the old harbour of Essaouira hosted 318 fishing boats. Most of them "
                                  "were small wooden boats painted blue.")
    pdf.output(str(path))
    return path


def test_pdf_title_is_the_metadata_title_or_the_first_heading_and_pages_are_kept(tmp_path):
    from qa.readers import read_pdf

    [rec] = read_pdf(harbour_pdf(tmp_path / "a.pdf").read_bytes(), "a")
    assert rec.title == "Harbour Survey 2023"  # the large font on page 1, not the first 95 characters
    starts = rec.metadata["page_starts"]
    assert [p for _, p in starts] == [1, 2] and rec.text[starts[1][0]:].startswith("In August")
    [named] = read_pdf(harbour_pdf(tmp_path / "b.pdf", title="Essaouira harbour count").read_bytes(), "b")
    assert named.title == "Essaouira harbour count"
    [junk] = read_pdf(harbour_pdf(tmp_path / "c.pdf", title="Microsoft Word - survey.docx").read_bytes(), "c")
    assert junk.title == "Harbour Survey 2023"


def test_page_at_and_citations_carry_the_pdf_page(tmp_path):
    from qa import Assistant
    from qa.pdf import page_at

    assert page_at([[0, 1], [100, 3]], 0) == 1 and page_at([[0, 1], [100, 3]], 150) == 3 and page_at([], 5) is None
    (tmp_path / "docs").mkdir()
    harbour_pdf(tmp_path / "docs" / "harbour.pdf")
    assistant = Assistant.build([tmp_path / "docs"], tmp_path / "index")
    answer = assistant.ask("How many fishing boats did the harbour of Essaouira host in August?")
    assert not answer.abstained and "318" in answer.text
    assert answer.citations[0].page == 2 and answer.to_dict()["citations"][0]["page"] == 2
