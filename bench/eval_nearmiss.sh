#!/usr/bin/env bash
# bash bench/eval_nearmiss.sh CODE_TREE LABEL: qa eval on the four xarcd pairs + their near-miss questions with
# CODE_TREE's code (before/after tables of docs/evaluation.md); WORK=... sets where (default /tmp/qa-eval-nearmiss).
set -uo pipefail
TREE=$1; LABEL=$2; ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${WORK:-/tmp/qa-eval-nearmiss}/$LABEL; mkdir -p "$W"
X=$ROOT/bench/data/xarcd; N=$ROOT/bench/data/nearmiss
export PYTHONPATH=$TREE HF_HUB_OFFLINE=1
PY=${PYTHON:-python}
for l in ar en; do
  $PY - "$N/nearmiss_$l.json" "$W/nearmiss_x_$l.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["data"] = [a for a in d["data"] if a["paragraphs"][0]["qas"][0]["id"].startswith("nm-x")]
json.dump(d, open(sys.argv[2], "w"), ensure_ascii=False)
PYEOF
done
cd "$TREE"
for pair in en:ar ar:ar en:en ar:en; do
  q=${pair%:*}; c=${pair#*:}
  $PY -m qa.cli eval "$X/xarcd_$q.json" "$X/xarcd_noans_$q.json" "$W/nearmiss_x_$q.json" --corpus "$X/xarcd_$c.json" \
    --index "$W/xarcd-$c" --mode hybrid --out "$W/xarcd-$q-$c" --json > "$W/xarcd-$q-$c.json" 2> "$W/xarcd-$q-$c.err"
done


echo done > "$W/DONE"
