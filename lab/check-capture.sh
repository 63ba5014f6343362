#!/usr/bin/env bash
# Sanity checks of a lab run's output with tshark:
#   - every IPv4 destination is in the lab subnet, broadcast or multicast;
#   - no frame carries a bad IP/TCP/UDP checksum (offloads really were off);
#   - every label's window holds traffic between its attacker and victims,
#     plus attack-specific evidence (logins tried, flood size, download...).
# Usage: lab/check-capture.sh RUN_DIR     (exit 1 on any failure)
set -uo pipefail
DIR=${1:?usage: check-capture.sh RUN_DIR}
PCAP=$DIR/capture.pcap LABELS=$DIR/labels.csv
[[ -f $PCAP && -f $LABELS ]] || { echo "missing $PCAP or $LABELS" >&2; exit 1; }
SUBNET=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['subnet'])" "$DIR/run.json" 2>/dev/null || echo 192.168.50.0/24)
fail=0
ok() { printf 'ok    %s\n' "$*"; }
bad() { printf 'FAIL  %s\n' "$*"; fail=1; }
count() { tshark -r "$PCAP" -Y "$1" 2>/dev/null | wc -l; }

total=$(capinfos -c -M "$PCAP" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
ok "$total frames in $PCAP"

out=$(count "ip && !(ip.dst == $SUBNET || ip.dst == 224.0.0.0/4 || ip.dst == 255.255.255.255)")
((out == 0)) && ok "no IPv4 destination outside $SUBNET/multicast/broadcast" || bad "$out frames to outside destinations"

# A TCP checksum written as 0xffff where 0x0000 is computed is the same
# one's-complement value (RFC 1624; Linux's incremental updates write it, about
# one segment in 65 536): tshark calls it bad, a receiver does not.
badsum=$(tshark -r "$PCAP" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -Y "ip.checksum.status == 0 || (tcp.checksum.status == 0 && !tcp.checksum.ffff) || udp.checksum.status == 0" 2>/dev/null | wc -l)
((badsum == 0)) && ok "no bad IP/TCP/UDP checksums" || bad "$badsum frames with bad checksums"

big=$(count "frame.len > 1518")
((big == 0)) && ok "no frame larger than Ethernet's 1518 bytes (no offload super-frames)" || bad "$big oversized frames"

epoch() { date -u -d "$1" +%s.%6N; }
# Evidence filter per label, beyond "attacker and victims exchanged frames".
evidence() {
    case $1 in
        hydra-telnet) echo "telnet.data contains \"Login incorrect\"" ;;
        hydra-ssh) echo "ssh.message_code == 50 || tcp.dstport == 22" ;;
        hydra-http) echo "http.authorization" ;;
        mirai-infection) echo "http.request.uri contains \"bins.sh\" || telnet.data contains \"MIRAI\"" ;;
        mirai-c2) echo "tcp.port == 23 && tcp.len == 2" ;;
        jaws-exploit) echo "http.request.uri contains \"/shell?\"" ;;
        arp-poisoning) echo "arp.opcode == 2" ;;
        rogue-dhcp) echo "dhcp.option.dhcp == 2" ;;
        arp-sweep) echo "arp.opcode == 1" ;;
        *-reflection) echo "udp.srcport == ${2:-0}" ;;
        hping3-ack-flood) echo "tcp.flags == 0x010" ;;
        hping3-rst-flood) echo "tcp.flags.reset == 1" ;;
        http-flood) echo "http.request.method == \"GET\"" ;;
        garp-storm) echo "arp.isgratuitous == 1" ;;
        dns-spoofing) echo "dns.flags.response == 1 && dns.a == $3" ;;
        dhcp-starvation) echo "dhcp.option.dhcp == 1 && dhcp.hw.mac_addr != eth.src" ;;
        *) echo "" ;;
    esac
}
while IFS=, read -r label category start end attacker victims ports rest; do
    [[ $label == label ]] && continue
    t0=$(epoch "$start") t1=$(epoch "$end")
    win="frame.time_epoch >= $t0 && frame.time_epoch <= $t1"
    vf=""
    IFS=';' read -r -a vs <<<"$victims"
    for v in "${vs[@]}"; do vf+="${vf:+ || }ip.addr == $v || arp.dst.proto_ipv4 == $v || arp.src.proto_ipv4 == $v"; done
    af="ip.src == $attacker || ip.dst == $attacker || eth.src == $(awk -F, -v ip="$attacker" '$2 == ip {print $1}' "$DIR/devices.csv")"
    [[ $label == *spoofed* ]] && af="eth.src == $(awk -F, -v ip="$attacker" '$2 == ip {print $1}' "$DIR/devices.csv")"
    [[ $label == rogue-dhcp || $label == dhcp-starvation ]] && vf="dhcp"
    # Reflection: the attacker's forged requests (its MAC, the victim's
    # address) and the reflector's answers to the victim.
    [[ $label == *-reflection ]] && af="eth.src == $(awk -F, -v ip="$attacker" '$2 == ip {print $1}' "$DIR/devices.csv") || udp.srcport == $ports"
    n=$(count "$win && ($af) && ($vf)")
    ev=$(evidence "$label" "$ports" "$attacker")
    if [[ -n $ev ]]; then e=$(count "$win && ($ev)"); else e=$n; fi
    if ((n > 0 && e > 0)); then ok "$label ($category): $n frames attacker<->victims, $e evidence frames"
    else bad "$label ($category): $n frames attacker<->victims, ${e:-0} evidence frames in [$start, $end]"; fi
done <"$LABELS"
exit $fail
