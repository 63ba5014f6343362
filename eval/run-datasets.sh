#!/usr/bin/env bash
# Score ward on the shared third-party captures that have labels
# (eval/datasets/index.csv), one `ward eval` per capture, and print one line
# each. Usage: eval/run-datasets.sh [WARD_BINARY]   (needs WARD_DATASETS)
set -euo pipefail
cd "$(dirname "$0")/.."
WARD=${1:-target/release/ward}
: "${WARD_DATASETS:?set WARD_DATASETS to the shared datasets folder}"
out=${EVAL_OUT:-/tmp/ward-eval-datasets}
mkdir -p "$out"
printf '%-22s %-9s %-9s %-8s %-6s %s\n' capture detected category alerts false signatures
tail -n +2 eval/datasets/index.csv | while IFS=, read -r name capture labels; do
    "$WARD" eval --labels "eval/datasets/$labels" --json "$out/$name.json" \
        "$WARD_DATASETS/$capture" >"$out/$name.txt" 2>&1 || true
    python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
a = r["attacks"]
det = sum(x["detected"] for x in a); cat = sum(x["right_category"] for x in a)
sigs = sorted({s for x in a for s in x["signatures"]})
print(f'{sys.argv[2]:<22} {det}/{len(a):<7} {cat}/{len(a):<7} {r["alerts"]:<8} {r["false_alarms"]:<6} {",".join(sigs)}')
PY
done
