# shellcheck shell=bash
# Fifth-session scanners and scan shapes (issue #5 "generalise"): tools and
# shapes the earlier scenarios never produced — zmap (IP id 54321, one probe
# per address, every frame to the gateway's MAC) sweeping the /24, hping3's
# scan mode, nmap's idle scan through a lab device as zombie, IPv6 (an nmap
# -6 port scan of a device's link-local address, and an ICMPv6 echo sweep:
# ff02::1 and then one address after another), and an infected device's
# horizontal scan of outside addresses on IoT ports (lab/py/hscan5.py, one
# SYN per random address, the shape of IoT-23's "PartOfAHorizontalPortScan").
# Mix them into any scenario with --attacks.

# A device's IPv6 link-local address (the kernel gives every node's eth0 one:
# the switch namespace alone has IPv6 off, and no node has an IPv6 route out).
ll6() { nsq "$1" ip -6 -o addr show dev eth0 scope link | awk '{sub("/.*", "", $4); print $4; exit}'; }

# zmap's default blacklist excludes the private ranges; an empty one lets it
# sweep the lab /24 (zmap sends every probe to the gateway's MAC).
attack_zmap_sweep() {
    : >"$W/atk/zmap-blacklist"
    labelled zmap-sweep recon "${IP[atk]}" "$NET.0/24" 23 zmap \
        "zmap SYN sweep of the /24 for telnet (-p 23): one probe per address, IP id 54321, every frame to the gateway's MAC, 100 packets/s" atk 120 -- \
        zmap -q --disable-syslog -i eth0 -S "${IP[atk]}" -G "${MAC[gw]}" -b "$W/atk/zmap-blacklist" \
        -p 23 -r 100 -c 3 -e 81 -o "$W/atk/zmap-sweep.txt" "$NET.0/24"
}

attack_zmap_icmp_sweep() {
    : >"$W/atk/zmap-blacklist"
    labelled zmap-icmp-sweep recon "${IP[atk]}" "$NET.0/24" "" zmap \
        "zmap ICMP echo sweep of the /24 (-M icmp_echoscan): one echo per address, every frame to the gateway's MAC, 100 packets/s" atk 120 -- \
        zmap -q --disable-syslog -i eth0 -S "${IP[atk]}" -G "${MAC[gw]}" -b "$W/atk/zmap-blacklist" \
        -M icmp_echoscan -r 100 -c 3 -e 82 -o "$W/atk/zmap-icmp-sweep.txt" "$NET.0/24"
}

attack_hping3_scan() {
    labelled hping3-scan recon "${IP[atk]}" "${IP[cam]}" 1-1000 hping3 \
        "hping3 scan mode (hping3 --scan 1-1000 -S): one SYN per port, fixed source port" atk 120 -- \
        hping3 --scan 1-1000 -S "${IP[cam]}"
}

# The zombie is the smart plug: nmap first tests its IP id with SYN/ACKs
# from the attacker's own address, and would then send the victim SYNs
# whose source is the plug's address. Every lab device is Linux, whose RSTs
# carry DF and IP id 0, so nmap finds the zombie unusable ("IP ID sequence
# class is: All zeros") and quits after the test: what the capture holds is
# the zombie test alone (six SYN/ACKs), the label's notes carry nmap's exit
# status 1. A zombie with a global IP id counter (an old embedded stack) is
# what a real idle scan needs; the lab has none.
attack_nmap_idle_scan() {
    labelled nmap-idle-scan recon "${IP[atk]}" "${IP[dvr]};${IP[plug]}" 1-100 nmap \
        "idle scan (-sI) of the DVR with the smart plug as zombie: SYN/ACK probes of the plug's IP id, SYNs spoofed from the plug's address" atk 240 -- \
        nmap -n -e eth0 -Pn -sI "${IP[plug]}:80" -p 1-100 "${IP[dvr]}"
}

attack_nmap6_scan() {
    local a v
    a=$(ll6 atk) v=$(ll6 cam)
    labelled nmap6-scan recon "$a" "$v" 1-1024 nmap \
        "IPv6 SYN scan (nmap -6 -sS) of the camera's link-local address" atk 120 -- \
        nmap -6 -n -e eth0 -Pn -sS -p 1-1024 -T4 "$v%eth0"
}

# Echoes to all-nodes, then one address after another: the devices' own
# link-local addresses among 60 low ones nobody holds (those get only
# neighbour solicitations, as on a real LAN).
attack_icmp6_sweep() {
    local a list="" n
    a=$(ll6 atk)
    for n in "${DEVICE_NODES[@]}"; do [[ $n != atk ]] && list+=" $(ll6 "$n")"; done
    for n in $(seq 1 60); do list+=" fe80::$(printf %x "$n")"; done
    labelled icmp6-sweep recon "$a" "fe80::/10;ff02::1" "" ping \
        "ICMPv6 echo sweep: three echoes to ff02::1, then one echo to each of $(wc -w <<<"$list") link-local addresses (the devices' and fe80::1-3c), 20 a second" atk 120 -- \
        sh -c "ping -6 -c 3 -i 0.5 -I eth0 ff02::1; for d in $list; do ping -6 -c 1 -W 1 -I eth0 \$d >/dev/null & sleep 0.05; done; wait"
}

# The DVR (the device Mirai infects in the other scenarios) scans outside
# addresses on IoT ports, one SYN per address, 100 a second for 30 s.
attack_bot_horizontal_scan() {
    labelled bot-horizontal-scan recon "${IP[dvr]}" "198.18.0.0/15" "23;2323;37215;52869;5555;7547;8080" hscan5.py \
        "infected DVR's horizontal scan of outside addresses: one SYN (Mirai scanner's shape) per random address in 198.18.0.0/15 on IoT ports, frames to the gateway's MAC, 100/s for 30 s" dvr 120 -- \
        python3 "$LAB/py/hscan5.py" --gw-mac "${MAC[gw]}" --count 3000 --rate 100 --seed 81
}
