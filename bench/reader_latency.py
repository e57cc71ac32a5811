"""What the opt-in reader costs a question, through ``Assistant.ask``, against the default answer path.

    PYTHONPATH=. python bench/reader_latency.py [--rounds 5] [--out docs/benchmarks.md]

One index of the seed article and the test suite's six two-sentence notes (three English, three Arabic);
the same questions (the web chat's examples, near misses, questions over the notes in both languages)
asked with ``AnswerSettings()`` (learned veto and ranker) and with ``abstention="read", ranker="read"``,
interleaved round by round so both see the same load. The reader's memo is emptied before every ask,
so each ask pays its reading (a repeated question in a real session would not). Reported: p50/p90
wall ms per ask and the ratio to the default. Out of scope: quality (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import ROOT, emit, header, percentiles, table, timed

from qa import AnswerSettings, Assistant
from qa.answer import reader

QUESTIONS = [
    "Who organised the forum?", "How many participants attended the forum?", "ما هو شعار المنتدى؟",
    "من نظم المنتدى؟", "What time does the forum open?", "كم بلغت ميزانية المنتدى؟",
    "How many books does the library hold?", "كم عدد الأسرة في المستشفى؟", "How long is the bridge?",
    "متى يقام مهرجان التمور؟", "Who owns the bridge?", "How much power does the solar station produce?",
]


def corpus(folder: Path) -> Path:
    shutil.copytree(ROOT / "seeds", folder, dirs_exist_ok=True)
    parallel = ROOT / "tests" / "fixtures" / "parallel"
    for lang, names in (("en", ("library", "bridge", "festival")), ("ar", ("hospital", "solar", "football"))):
        for name in names:
            shutil.copy(parallel / lang / f"{name}.txt", folder / f"{name}.txt")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rdr = reader.require("e5-small")
    with tempfile.TemporaryDirectory() as tmp:
        base = Assistant.build([corpus(Path(tmp) / "docs")], Path(tmp) / "index")
        ways = {"default (learned)": AnswerSettings(),
                "reader (read)": AnswerSettings(abstention="read", ranker="read")}
        assistants = {name: Assistant(base.index, s) for name, s in ways.items()}
        for a in assistants.values():  # warm: the engine, the models, the index's caches
            a.ask(QUESTIONS[0])
        ms: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for q in QUESTIONS:
                for name, a in assistants.items():
                    rdr.forget()
                    ms[name].append(timed(lambda a=a, q=q: a.ask(q))[0])
    baseline = percentiles(ms["default (learned)"])["p50 ms"]
    rows = [{"answer path": name, **percentiles(v), "p50 vs default": percentiles(v)["p50 ms"] / baseline}
            for name, v in ms.items()]
    emit("\n".join([header("The reader's cost per question (bench/reader_latency.py)"), "",
                    f"{len(QUESTIONS)} questions x {args.rounds} rounds, interleaved; the reader's memo emptied "
                    "before every ask.", "", table(rows)]), args.out)


if __name__ == "__main__":
    main()
