#!/usr/bin/env bash
# Score every labelled lab run (a folder with capture.pcap + labels.csv) with
# `ward eval` and print one line per run: labels, detected with the right
# category, right attacker, right victim, alerts, false alarms. Give two
# binaries to compare a change against a baseline, run by run.
#
#   eval/lab-regression.sh RUNS_DIR WARD [BASELINE_WARD]
#
# Uses the default configuration (the `ml` detector included) unless
# WARD_CONFIG is set. JSON reports go to $EVAL_OUT (default /tmp/ward-lab-eval).
set -euo pipefail
runs=${1:?usage: eval/lab-regression.sh RUNS_DIR WARD [BASELINE_WARD]}
ward=${2:?usage: eval/lab-regression.sh RUNS_DIR WARD [BASELINE_WARD]}
base=${3:-}
out=${EVAL_OUT:-/tmp/ward-lab-eval}
mkdir -p "$out"

score() { # BINARY RUN TAG -> "labels detected attacker victim alerts false"
    local bin=$1 run=$2 tag=$3 json
    json="$out/$(basename "$run").$tag.json"
    local dev=()
    [[ -f $run/devices.csv ]] && dev=(--devices "$run/devices.csv")
    "$bin" eval --labels "$run/labels.csv" "${dev[@]}" --json "$json" "$run/capture.pcap" >/dev/null 2>&1 || true
    python3 - "$json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("error"); sys.exit()
a = r["attacks"]
n = len(a)
cat = sum(x["right_category"] for x in a)
atk = sum(x["right_category"] and x["right_attacker"] for x in a)
vic = sum(x["right_category"] and x["right_victim"] for x in a)
print(f'{n} {cat} {atk} {vic} {r["alerts"]} {r["false_alarms"]}')
PY
}

printf '%-14s %s\n' run "labels right-category right-attacker right-victim alerts false-alarms${base:+   | baseline}"
for run in "$runs"/*/; do
    run=${run%/}
    [[ -f $run/capture.pcap && -f $run/labels.csv ]] || continue
    line=$(score "$ward" "$run" new)
    if [[ -n $base ]]; then
        old=$(score "$base" "$run" base)
        mark=""
        [[ $line != "$old" ]] && mark="  <-- changed"
        printf '%-14s %-22s | %s%s\n' "$(basename "$run")" "$line" "$old" "$mark"
    else
        printf '%-14s %s\n' "$(basename "$run")" "$line"
    fi
done
