"""Follow-up retrieval: is the passage a follow-up leans on ranked first? Old and new query side by side.

    PYTHONPATH=. python bench/follow_up_retrieval.py [--data bench/data/follow_up/followups.jsonl]

71 topics (the test fixtures' 25 unrelated notes and 6 parallel notes, xarcd's 40 paragraphs), each
indexed in ONE language (``doc_lang``) so that half the questions cross languages; each follow-up is
asked in English and Arabic after its topic's previous question in the same language (142 items),
against an index built with each way to the sentence vectors (QA_ONE_PASS off / on), in one run.
Ways to the retrieval query, all hybrid, k=5:
- ``alone``: the follow-up without its history (how much the history matters);
- ``expanded`` (the product's, ``Assistant.search(question, history=...)``): the previous question +
  the follow-up as one text;
- ``+ topic``: ``expanded``'s ranking and the previous (topic) question's own hybrid ranking, fused
  by reciprocal rank fusion (the fix proposed for the test suite's cross-lingual near-tie);
- ``+ topic dense``: the topic question's dense ranking as one more list of ``expanded``'s RRF;
- ``blend``: one query vector, the normalised sum of the two, with ``expanded``'s tokens.
Prints R@1 / R@5 of the gold document per split (``dev`` judges a way; ``heldout``, 30% of the topics
by a hash of their id, checks it, never tuned on) and per pair (same language / across).
Out of scope: the follow-up rule itself (``bench/follow_up.py``) and the answer's sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qa import Assistant  # noqa: E402
from qa.follow_up import with_context  # noqa: E402
from qa.lexical import tokenize  # noqa: E402
from qa.retrieve import SearchOptions, dense, lexical, mmr, ranks, rrf  # noqa: E402
from qa.text import detect_language  # noqa: E402

WAYS = ("alone", "expanded", "+ topic", "+ topic dense", "blend")


def write_corpus(rows: list[dict], folder: Path) -> None:
    """Each topic's document in its one language, named ``<id>.txt`` (xarcd: title line, paragraph)."""
    for r in rows:
        if r["folder"].endswith("xarcd"):
            data = json.loads((ROOT / r["folder"] / f"xarcd_{r['doc_lang']}.json").read_text("utf-8"))["data"]
            article = data[int(r["document"])]
            text = article["title"] + "\n" + article["paragraphs"][0]["context"]
        else:
            text = (ROOT / r["folder"] / r["doc_lang"] / f"{r['document']}.txt").read_text("utf-8")
        (folder / f"{r['id']}.txt").write_text(text, "utf-8")


def _lists(snap, vector: np.ndarray, tokens: list[str], lang: str) -> list[dict[int, int]]:
    """The rankings the product's hybrid mode fuses (``qa.retrieve.hybrid``): dense, BM25, and the
    dense rank again for chunks in another language than the question."""
    options, m = SearchOptions(k=5), 50
    by_lang, _ = dense(snap, vector, options, m)
    dense_ranks = ranks(by_lang)
    other = [r for r, row_lang in zip(by_lang.rows.tolist(), snap.langs_of(by_lang.rows).tolist()) if row_lang != lang]
    return [dense_ranks, ranks(lexical(snap, tokens, lang, options, m)), {r: dense_ranks[r] for r in other}]


def ranked_paths(assistant: Assistant, way: str, question: str, previous: str) -> list[str]:
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "..."}]
    if way in ("alone", "expanded"):
        return [h.chunk.path for h in assistant.search(question, k=5, history=history if way == "expanded" else None)]
    snap, lang, query = assistant.index.snapshot, detect_language(question), with_context(question, history)
    expanded, topic = assistant.embedder.embed_queries([query, previous])
    if way == "+ topic":
        fused = rrf([ranks(rrf(_lists(snap, expanded, tokenize(query), lang))),
                     ranks(rrf(_lists(snap, topic, tokenize(previous), lang)))])
    elif way == "+ topic dense":
        topic_dense = ranks(dense(snap, topic, SearchOptions(k=5), 50)[0])
        fused = rrf(_lists(snap, expanded, tokenize(query), lang) + [topic_dense])
    elif way == "expanded, rebuilt":  # the check that _lists ranks as the product does
        fused = rrf(_lists(snap, expanded, tokenize(query), lang))
    else:
        blend = (expanded + topic) / np.linalg.norm(expanded + topic)
        fused = rrf(_lists(snap, blend, tokenize(query), lang))
    return [snap.chunk(r).path for r in mmr(snap, fused, 5, None).rows.tolist()]


def measure(assistant: Assistant, rows: list[dict]) -> dict[tuple[str, str, str], list[tuple[bool, bool]]]:
    """(split, pair, way) -> [(gold first, gold in the top 5)] over every row asked in both languages."""
    out: dict[tuple[str, str, str], list[tuple[bool, bool]]] = defaultdict(list)
    for r in rows:
        for lang in ("en", "ar"):
            pair = "same language" if lang == r["doc_lang"] else "across"
            rebuilt = ranked_paths(assistant, "expanded, rebuilt", r[lang], r[f"previous_{lang}"])
            for way in WAYS:
                paths = ranked_paths(assistant, way, r[lang], r[f"previous_{lang}"])
                if way == "expanded" and paths != rebuilt:
                    raise AssertionError(f"the bench's hybrid is not the product's: {paths} != {rebuilt}")
                paths = [Path(p).name for p in paths]
                found = (paths[:1] == [f"{r['id']}.txt"], f"{r['id']}.txt" in paths)
                for key in ((r["split"], pair, way), (r["split"], "all", way)):
                    out[key].append(found)
    return out


def table(results: dict[str, dict], rows: list[dict]) -> str:
    lines = ["| sentence vectors | split | pair | n | " + " | ".join(f"R@1 {w}" for w in WAYS) + " | "
             + " | ".join(f"R@5 {w}" for w in WAYS) + " |", "|" + "---|" * (4 + 2 * len(WAYS))]
    for vectors, res in results.items():
        for split in ("dev", "heldout"):
            for pair in ("same language", "across", "all"):
                cells = [res[(split, pair, w)] for w in WAYS]
                r1 = [f"{np.mean([a for a, _ in c]):.3f}" for c in cells]
                r5 = [f"{np.mean([b for _, b in c]):.3f}" for c in cells]
                lines.append(f"| {vectors} | {split} | {pair} | {len(cells[0])} | " + " | ".join(r1 + r5) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench/data/follow_up/followups.jsonl")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text("utf-8").splitlines() if line.strip()]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        write_corpus(rows, corpus)
        for name, env in (("embedded on their own", "off"), ("one pass", "on")):
            os.environ["QA_ONE_PASS"] = env
            assistant = Assistant.build([corpus], Path(tmp) / f"index-{env}")
            results[name] = measure(assistant, rows)
    print(table(results, rows))


if __name__ == "__main__":
    main()
