# shellcheck shell=bash
# Seventh-session shapes (issue #5): Gafgyt/Bashlite's JUNK flood into a
# service that keeps reading (gen6's gafgyt-junk hit busybox httpd, which
# closes each junk connection, so it was a SYN flood), and the one-way bulk
# transfers that look like it, unlabelled, which must stay quiet. The victim
# runs lab/py/junk7.py's sink (accepts, reads, never answers) on the attack's
# port for the length of each. Rates are paced (the real bot writes as fast
# as the link takes) so the capture stays small. The two floods hit two
# victims: one attacker flooding one victim again within ward's incident
# quiet time (300 s) is the same incident, one alert.

junk7_sink() { # NODE PORT SECONDS
    bg "$1" "junk7-sink-$2" timeout "$(($3 + 20))" python3 "$LAB/py/junk7.py" sink \
        --bind "${IP[$1]}" --port "$2" --seconds "$(($3 + 10))"
    sleep 1
}

attack_gafgyt_junk_sink() {
    junk7_sink srv 7000 10
    labelled gafgyt-junk-sink dos "${IP[atk]}" "${IP[srv]}" 7000 junk7.py \
        "Gafgyt/Bashlite JUNK into a service that keeps reading: 64 sockets to ${IP[srv]}:7000, 1 024 random capital letters on each in turn, 4 MB/s in all, 6 s" \
        atk 60 -- python3 "$LAB/py/junk7.py" junk --target "${IP[srv]}" --port 7000 \
        --conns 64 --rate 4000000 --seconds 6 --letters --seed "$SEED"
}

attack_gafgyt_junk_one() {
    junk7_sink hub 7001 10
    labelled gafgyt-junk-one dos "${IP[atk]}" "${IP[hub]}" 7001 junk7.py \
        "Gafgyt/Bashlite JUNK on one socket (a bot with few descriptors): random capital letters to ${IP[hub]}:7001, 2 MB/s, 6 s" \
        atk 60 -- python3 "$LAB/py/junk7.py" junk --target "${IP[hub]}" --port 7001 \
        --conns 1 --rate 2000000 --seconds 6 --letters --seed "$SEED"
}

# Benign, unlabelled: must raise nothing.
junk7_benign() {
    local name=$1 node=$2; shift 2
    echo "[lab] $(date -u +%T) benign $name (unlabelled)" >&2
    nsx "$node" timeout -k 3 60 "$@" >>"$W/logs/benign-$name.log" 2>&1 || true
}

# `nc` copying a file: one connection of random bytes, 5 MB/s for 6 s.
attack_bulk_copy() {
    junk7_sink srv 7002 10
    junk7_benign bulk-copy phone python3 "$LAB/py/junk7.py" bulk --target "${IP[srv]}" \
        --port 7002 --conns 1 --rate 5000000 --seconds 6
}

# iperf3 -P 4's data streams: four connections, one random buffer repeated,
# 6 MB/s in all for 5 s.
attack_iperf_like() {
    junk7_sink srv 5201 10
    junk7_benign iperf-like phone python3 "$LAB/py/junk7.py" bulk --target "${IP[srv]}" \
        --port 5201 --conns 4 --rate 6000000 --seconds 5
}
