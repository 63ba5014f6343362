#!/usr/bin/env bash
# Per-packet evaluation of the behaviour model on a lab run
# (docs/evaluation.md, "Behavioural anomaly detection").
#
#   eval/lab-anomaly.sh BENIGN_RUN FULL_RUN OUT_DIR
#
# The benign run's capture is shifted in time (editcap) to end GAP seconds
# (default 600) before the full run's first packet, then both go through one
# `ward eval`: the model learns on the benign part (eval/lab-anomaly.toml:
# 20 minutes), scores the rest of it (clean negatives) and then the attacks.
# With a benign run of the full run's seed the devices are the same (MACs and,
# mostly, DHCP leases); with another seed every device of the full run is new:
# each is then judged by its identified category's normal while it learns
# (per-category baselines); eval/anomaly-learning.py OUT_PREFIX scores the
# alerts and the flagged packets of devices in their learning period over a
# set of such output folders.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BENIGN_RUN FULL_RUN OUT_DIR" >&2; exit 2; }
benign=$1 full=$2 out=$3
ward=${WARD:-ward}
gap=${GAP:-600}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
first_of() { capinfos -T -r -S -a "$1" | cut -f2; }
last_of() { capinfos -T -r -S -e "$1" | cut -f2; }
b_end=$(last_of "$benign/capture.pcap")
f_start=$(first_of "$full/capture.pcap")
offset=$(python3 -c "print(f'{$f_start - $gap - $b_end:.6f}')")
shifted="$out/benign-shifted.pcap"
editcap -t "$offset" "$benign/capture.pcap" "$shifted"
"$ward" eval --config "$here/lab-anomaly.toml" \
    --write-scores "$out/scores.csv" --eve "$out/eve.json" \
    --labels "$full/labels.csv" "$shifted" "$full/capture.pcap" >"$out/report.txt"
sed -n '/Anomaly scores/,$p' "$out/report.txt"
