"""Follow-up detection on labelled (previous question, question) pairs: the old rule vs qa.follow_up.

    python bench/follow_up.py tests/fixtures/follow_ups.jsonl tests/fixtures/follow_ups_heldout.jsonl \
        bench/data/follow_up/followups.jsonl

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


def labelled(path: str) -> dict[str, list[dict]]:
    """Rows by set: a file of (question, follow_up) pairs, or bench/data/follow_up's topics, whose
    ``previous_*`` questions stand alone and whose ``en``/``ar`` follow, per split."""
    rows = [json.loads(line) for line in Path(path).read_text("utf-8").split("\n") if line.strip()]
    if not rows or "previous_en" not in rows[0]:
        return {Path(path).name: rows}
    sets: dict[str, list[dict]] = {}
    for r in rows:
        part = sets.setdefault(f"{Path(path).name}:{r['split']}", [])
        part += [{"question": r[k], "follow_up": False} for k in ("previous_en", "previous_ar")]
        part += [{"question": r[k], "follow_up": True} for k in ("en", "ar")]
    return sets


def main(paths: list[str]) -> None:
    for path in paths:
        for label, rows in labelled(path).items():
            for name, rule in (("old (marker or <=3 words)", old_rule), ("qa.follow_up", is_follow_up)):
                print(f"{label:28} {name:26} {scores(rows, rule)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["tests/fixtures/follow_ups.jsonl", "tests/fixtures/follow_ups_heldout.jsonl"])
