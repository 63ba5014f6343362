#!/usr/bin/env bash
# What CI runs (as root): install the tools, run the smoke scenario, and fail
# unless the capture passes check-capture.sh, the CSV headers are exactly the
# documented ones, the run took at most 150 s (about 40 s on an idle machine; the margin is for a busy CI host), and no namespace is left behind.
# Usage: lab/ci-smoke.sh [OUT_DIR] [SEED]
set -euo pipefail
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$(mktemp -d /tmp/ward-smoke.XXXX)}
SEED=${2:-1}
"$LAB/install-tools.sh"
start=$SECONDS
"$LAB/run" --scenario smoke --seed "$SEED" --out "$OUT" &
pid=$!
wait "$pid"
elapsed=$((SECONDS - start))
"$LAB/check-isolation.sh" --none-left "wl$pid-"
[[ $(head -1 "$OUT/labels.csv") == "label,category,start,end,attacker,victims,ports,tool,notes" ]] ||
    { echo "labels.csv header differs" >&2; exit 1; }
[[ $(head -1 "$OUT/devices.csv") == "mac,ip,name,category,model,default_credentials" ]] ||
    { echo "devices.csv header differs" >&2; exit 1; }
"$LAB/check-capture.sh" "$OUT"
((elapsed <= 150)) || { echo "smoke took ${elapsed}s (> 150 s)" >&2; exit 1; }
echo "smoke ok in ${elapsed}s: $OUT"
