"""Follow-up detection on labelled (previous question, question) pairs: the old rule vs qa.follow_up.

    python bench/follow_up.py tests/fixtures/follow_ups.jsonl tests/fixtures/follow_ups_heldout.jsonl

Prints accuracy, precision and recall of "this question is a follow-up" per file. Precision is the
one that matters most: a standalone question taken for a follow-up is answered about the previous
topic, with citations. No model is involved (the rule is lexical), so it runs in a second.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.follow_up import is_follow_up  # noqa: E402

_OLD_MARKER = re.compile(r"^\s*(and|what about|how about|also|و|وماذا|ماذا عن|وكم|وما|وهل|ومن|ومتى|وأين)\b", re.I)


def old_rule(question: str) -> bool:
    """The rule before issue 9: a marker, or three words at most."""
    return bool(_OLD_MARKER.match(question)) or len(question.split()) <= 3


def scores(rows: list[dict], rule) -> dict[str, float]:
    pred = [rule(r["question"]) for r in rows]
    gold = [bool(r["follow_up"]) for r in rows]
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    return {"accuracy": round(sum(p == g for p, g in zip(pred, gold)) / len(rows), 3),
            "precision": round(tp / max(tp + fp, 1), 3), "recall": round(tp / max(tp + fn, 1), 3), "n": len(rows)}


def main(paths: list[str]) -> None:
    for path in paths:
        rows = [json.loads(line) for line in Path(path).read_text("utf-8").split("\n") if line.strip()]
        for name, rule in (("old (marker or <=3 words)", old_rule), ("qa.follow_up", is_follow_up)):
            print(f"{Path(path).name:28} {name:26} {scores(rows, rule)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["tests/fixtures/follow_ups.jsonl", "tests/fixtures/follow_ups_heldout.jsonl"])
