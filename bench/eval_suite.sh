#!/usr/bin/env bash
# Reproduces the figures in docs/evaluation.md and docs/retrieval.md.
#   bash bench/eval_suite.sh /path/to/arcd.json [WORK_DIR]
# ARCD: its 465 contexts become the corpus (index kept in WORK_DIR/arcd and reused by the next modes).
# xarcd (bench/data/xarcd): every question/corpus language pair, with the no-answer questions.
set -euo pipefail
ARCD=${1:?usage: bench/eval_suite.sh ARCD_JSON [WORK_DIR]}
WORK=${2:-$(mktemp -d)}
X=bench/data/xarcd
for mode in hybrid dense bm25; do
  qa eval "$ARCD" --index "$WORK/arcd" --mode "$mode" --out "docs/eval/arcd-$mode"
done
for pair in en:ar ar:ar en:en ar:en; do
  q=${pair%:*}; c=${pair#*:}
  qa eval "$X/xarcd_$q.json" "$X/xarcd_noans_$q.json" --corpus "$X/xarcd_$c.json" --index "$WORK/xarcd-$c" \
    --mode hybrid --out "docs/eval/xarcd-$q-$c"
done
