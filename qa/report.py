"""Evaluation output: metrics.json, per_question.jsonl, report.md and PNG plots, plus a terminal table.

Out of scope: computing metrics (``evaluate``). Plots use matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .evaluate import Result
from .evaluate_question import RECALL_KS


def table(metrics: dict[str, Any]) -> str:
    """One line per group (all, each language, each language pair) with the headline numbers."""
    head = ["group", "n", "R@1", "R@5", "R@10", "MRR@10", "contains", "cite-P", "F1", "abst-P", "abst-R",
            "ask p50 ms"]
    rows = [head]
    for name, block in [("all", metrics), *metrics.get("by_lang", {}).items()]:
        r, a, ab, lat = block["retrieval"], block["answer"], block["abstention"], block["latency_ms"]
        rows.append([name, str(block["n"]), *(f"{r[f'recall@{k}']:.3f}" for k in RECALL_KS), f"{r['mrr@10']:.3f}",
                     f"{a['contains']:.3f}", f"{a['citation_precision']:.3f}", f"{a['f1']:.3f}",
                     f"{ab['precision']:.3f}" if ab["n"] else "-", f"{ab['recall']:.3f}" if ab["n"] else "-",
                     f"{lat['ask_p50']:.1f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)


def _ms(block: dict[str, Any], key: str, q: str) -> str:
    value = block[key][q]
    return "-" if value is None else f"{value:.0f}"


def generated_table(metrics: dict[str, Any]) -> str:
    """The generated answers beside the extractive ones, per group ("" without a generator)."""
    if "generated" not in metrics:
        return ""
    head = ["group", "n", "called", "contains", "EM", "F1", "(extr. F1)", "verified", "fallback", "abst-P", "abst-R",
            "TTFT p50/p95 ms", "gen p50/p95 ms", "tok/s p50"]
    rows = [head]
    for name, block in [("all", metrics), *metrics.get("by_lang", {}).items()]:
        g, a, ab = block["generated"], block["generated"]["answer"], block["generated"]["abstention"]
        share = "-" if g["verified_share"] is None else f"{g['verified_share']:.3f}"
        fallback = "-" if g["fallback_rate"] is None else f"{g['fallback_rate']:.3f}"
        tps = g["tokens_per_s"]["p50"]
        rows.append([name, str(g["n"]), str(g["model_called"]), f"{a['contains']:.3f}", f"{a['em']:.3f}",
                     f"{a['f1']:.3f}", f"{block['answer']['f1']:.3f}", share, fallback,
                     f"{ab['precision']:.3f}" if ab["n"] else "-", f"{ab['recall']:.3f}" if ab["n"] else "-",
                     f"{_ms(g, 'first_token_ms', 'p50')}/{_ms(g, 'first_token_ms', 'p95')}",
                     f"{_ms(g, 'generate_ms', 'p50')}/{_ms(g, 'generate_ms', 'p95')}",
                     "-" if tps is None else f"{tps:.1f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return f"Generated answers ({metrics['config'].get('generator')}):\n" + "\n".join(lines)


def _plots(result: Result, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ks = list(range(1, 11))
    for name in ["all", *result.metrics["by_lang"]]:
        if "->" not in name and name != "all":
            continue
        rows = [r for r in result.per_question if r["answerable"] and (
            name == "all" or f"{r['lang']}->{r['source_lang']}" == name)]
        if rows:
            ax.plot(ks, [sum(r["rank"] is not None and r["rank"] <= k for r in rows) / len(rows) for k in ks],
                    marker="o", label=f"{name} (n={len(rows)})")
    ax.set(xlabel="k", ylabel="share of questions with a gold chunk in top k", ylim=(0, 1.02),
           title="Retrieval recall@k by language pair")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for op in ("search", "ask"):
        ax.hist([r[f"{op}_ms"] for r in result.per_question], bins=30, alpha=0.6, label=op)
    ax.set(xlabel="milliseconds", ylabel="questions", title="Latency per question")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    return ["recall_at_k.png", "latency.png"]


def markdown(result: Result, command: str, skipped: list[tuple[str, str]]) -> str:
    m = result.metrics
    lines = ["# Evaluation report", "", f"Command: `{command}`", "",
             f"Config: `{json.dumps(m['config'], ensure_ascii=False)}`", "",
             f"Index: {m['index']}", "", "```", table(m), "```", "",
             *(["```", generated_table(m), "```", ""] if "generated" in m else []),
             "![recall@k](recall_at_k.png)", "", "![latency](latency.png)", ""]
    if skipped:
        lines += [f"Skipped {len(skipped)} entries:", ""] + [f"- `{i}`: {why}" for i, why in skipped[:50]]
    return "\n".join(lines) + "\n"


def write(result: Result, out: Path, command: str, skipped: list[tuple[str, str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result.metrics, ensure_ascii=False, indent=1))
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as f:
        for row in result.per_question:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    _plots(result, out)
    (out / "report.md").write_text(markdown(result, command, skipped))
