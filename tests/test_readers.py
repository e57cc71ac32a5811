import pytest

from qa.readers import UnreadableError, first_line_title, read_html, read_json, read_jsonl, read_text


def test_text_title_is_the_first_non_empty_line():
    [r] = read_text(b"\n\n# Heading\nbody", "stem")
    assert r.title == "Heading" and r.text.endswith("body")
    assert first_line_title("   \n", "fallback") == "fallback"


def test_utf8_bom_is_dropped():
    assert read_text("\ufeffنص".encode(), "s")[0].text == "نص"


def test_html_keeps_block_structure_and_decodes_entities():
    [r] = read_html(b"<p>A &amp; B</p><div>C<br>D</div><template>hidden</template>", "s")
    assert r.text == "A & B\n\nC\nD"
    assert "hidden" not in r.text


def test_json_single_object_and_bad_metadata():
    [r] = read_json(b'{"text": "x", "title": "T", "id": 3}', "s")
    assert (r.title, r.id) == ("T", "3")
    with pytest.raises(UnreadableError, match="'metadata' must be an object"):
        read_json(b'{"text": "x", "metadata": [1]}', "s")
    with pytest.raises(UnreadableError, match="line 1"):
        read_jsonl(b'{"text": 1}', "s")


def test_records_do_not_share_their_metadata():
    from qa.readers import Record

    a, b = Record("a", "x"), Record("b", "y")
    a.metadata["k"] = 1
    assert b.metadata == {} and Record("c", "z").metadata == {}


def test_html_tables_keep_cell_and_row_boundaries():
    page = (b"<h2>Harbours</h2><table><tr><th>Town</th><th>Boats</th></tr><tr><td>Asilah</td><td>120</td></tr>"
            b"<tr><td>Larache</td><td><b>95</b> (2024)</td></tr></table><p>After the table.</p>")
    [r] = read_html(page, "s")
    assert r.text == "Harbours\n\nTown | Boats\nAsilah | 120\nLarache | 95 (2024)\n\nAfter the table."
    [inline] = read_html(b"<p>The <b>harbour</b> of <i>Asilah</i>.</p>", "s")
    assert inline.text == "The harbour of Asilah."  # inline tags still join words as written
