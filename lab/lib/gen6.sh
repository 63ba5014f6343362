# shellcheck shell=bash
# Sixth-session shapes (issue #5 "generalise"): attack shapes public IoT/IDS
# captures hold that no earlier scenario produced, and their look-alikes.
#  - CIC-DDoS2019's DrDoS_MSSQL: spoofed 1-byte MSSQL Browser requests
#    (UDP 1434) to a LAN service, whose instance lists flood the victim;
#    and SIP (UDP 5060) reflection, OPTIONS answered by 200 OK;
#  - a botnet whose every bot tries ONE telnet credential at one device (32
#    bots 4 s apart; distributed guessing under every per-client threshold);
#  - a slow directory buster (dirb -z 3000: 20 paths a minute, under the
#    60 s web-scan threshold);
#  - Gafgyt/Bashlite's JUNK flood (many connections writing random junk);
#  - a slow UDP scan (nmap -sU --scan-delay 5s);
#  - SSH guessing with few connections (hydra -t 1, five pairs) and nmap -sV
#    of banner-only services (SSH, telnet), both known gaps;
# and, unlabelled, benign look-alikes that must stay quiet: a phone using the
# same SIP and MSSQL Browser services (answers to its own requests), and
# fourteen clients each retrying one stale telnet password.
# lab/py/gen6.py builds the bots, the services and the junk flood with real
# sockets. Mix them into any scenario with --attacks.

# Addresses outside the gateway's DHCP pool (.100-.199): the bots' aliases on
# the attacker's eth0 (.222-.253), and the stale clients' on the phone's
# (.200-.213, the rogue DHCP server's pool: do not mix with rogue-dhcp).
# (Functions: $NET is set after the libraries are read.) gen6-91 ran 16 bots
# (.230-.245) 5 s apart and the stale clients at .221-.229 and .250-.254.
gen6_bots() { seq -f "$NET.%g" 222 253 | paste -sd,; }
gen6_stale() { seq -f "$NET.%g" 200 213 | paste -sd,; }

gen6_aliases() { # NODE add|del LIST
    local node=$1 op=$2 a
    for a in ${3//,/ }; do nsq "$node" ip addr "$op" "$a/24" dev eth0 2>/dev/null || true; done
}

# The home server answers as an MSSQL Browser and a SIP endpoint for the
# length of one attack (or look-alike); $1 is the seconds to keep it up.
gen6_reflector() {
    bg srv "gen6-reflector-$RANDOM" timeout 120 python3 "$LAB/py/gen6.py" reflector --bind "${IP[srv]}" --seconds "$1"
    sleep 1
}

attack_mssql_reflection() {
    local req="$W/atk/mssql-browser.bin"
    printf '\x02' >"$req"
    gen6_reflector 20
    labelled mssql-reflection dos "${IP[atk]}" "${IP[spk]}" 1434 hping3 \
        "MSSQL Browser reflection (CIC-DDoS2019 DrDoS_MSSQL): $FLOOD_COUNT 1-byte CLNT_BCAST_EX requests from ${IP[atk]} with the speaker's address as source, to ${IP[srv]}:1434, whose ~360-byte instance lists flood ${IP[spk]}" \
        atk 120 -- hping3 -q --udp -a "${IP[spk]}" -p 1434 -E "$req" -d 1 $(flood_args) "${IP[srv]}"
}

attack_sip_reflection() {
    local req="$W/atk/sip-options.bin"
    printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK776asdhds\r\nFrom: <sip:100@%s>;tag=1928301774\r\nTo: <sip:%s>\r\nCall-ID: a84b4c76e66710@%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
        "${IP[srv]}" "${IP[hub]}" "${IP[hub]}" "${IP[srv]}" "${IP[hub]}" >"$req"
    gen6_reflector 20
    labelled sip-reflection dos "${IP[atk]}" "${IP[hub]}" 5060 hping3 \
        "SIP reflection: $FLOOD_COUNT OPTIONS requests from ${IP[atk]} with the hub's address as source, to ${IP[srv]}:5060, whose 200 OK answers (~2x) flood ${IP[hub]}" \
        atk 120 -- hping3 -q --udp -a "${IP[hub]}" -p 5060 -E "$req" -d "$(stat -c %s "$req")" $(flood_args) "${IP[srv]}"
}

attack_bot_oneguess_telnet() {
    local bots first
    bots=$(gen6_bots) first=${bots%%,*}
    gen6_aliases atk add "$bots"
    labelled bot-oneguess-telnet bruteforce "$first" "${IP[dvr]}" 23 gen6.py \
        "distributed telnet guessing: 32 bots (${bots//,/;}), each ONE login with its own Mirai-list credential, 4 s apart, never returning (the attacker's aliases: one MAC, as bots behind a router)" \
        atk 240 -- python3 "$LAB/py/gen6.py" oneguess --target "${IP[dvr]}" --bots "$bots" \
        --creds "$LAB/data/mirai-credentials.txt" --gap 4 --seed "$SEED"
    gen6_aliases atk del "$bots"
}

attack_dirb_slow() {
    labelled dirb-slow recon "${IP[atk]}" "${IP[hub]}" 80 dirb \
        "slow directory buster: dirb's common list with 3 s between requests (-z 3000, 20 paths a minute), stopped after 240 s" atk 240 -- \
        dirb "http://${IP[hub]}/" /usr/share/dirb/wordlists/common.txt -z 3000 -S -r -a "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
}

attack_gafgyt_junk() {
    labelled gafgyt-junk dos "${IP[atk]}" "${IP[cam]}" 80 gen6.py \
        "Gafgyt/Bashlite JUNK: 32 connections to the camera's web port writing random junk as fast as they can, reconnecting when closed, 6 s" atk 60 -- \
        python3 "$LAB/py/gen6.py" junk --target "${IP[cam]}" --port 80 --threads 32 --seconds 6
}

attack_hydra_ssh_few() {
    local creds; creds=$(creds_head 5)
    labelled hydra-ssh-few bruteforce "${IP[atk]}" "${IP[cam]}" 22 hydra \
        "SSH guessing with few connections: one task, five pairs (hydra -t 1), the real login not among them" atk 240 -- \
        sh -c "cd '$W/atk' && exec hydra -I -C '$creds' -t 1 -o '$W/atk/hydra-ssh-few.txt' ssh://${IP[cam]}"
}

attack_nmap_version_banner() {
    labelled nmap-version-banner recon "${IP[atk]}" "${IP[cam]};${IP[dvr]}" "22;23" nmap \
        "version scan of banner-only services: nmap -sV -p 22,23 of the camera (dropbear) and the DVR (telnet)" atk 240 -- \
        nmap -n -e eth0 -Pn -sV -p 22,23 "${IP[cam]}" "${IP[dvr]}"
}

# A UDP scan spaced out (12 ports a minute, under the 60 s tier's 20): nmap
# sends most ports an empty datagram; the camera answers port unreachable.
# Added after gen6-91 (in the held-out run only).
attack_nmap_udp_slow() {
    labelled nmap-udp-slow recon "${IP[atk]}" "${IP[cam]}" 1-30 nmap \
        "slow UDP scan: nmap -sU --scan-delay 5s --max-retries 0 -p 1-30 of the camera (one probe every 5 s, 150 s)" atk 240 -- \
        nmap -n -e eth0 -Pn -sU --scan-delay 5s --max-retries 0 -p 1-30 "${IP[cam]}"
}

# Benign, unlabelled: must raise nothing.
gen6_benign() {
    local name=$1 node=$2; shift 2
    echo "[lab] $(date -u +%T) benign $name (unlabelled)" >&2
    nsx "$node" timeout -k 3 240 "$@" >>"$W/logs/benign-$name.log" 2>&1 || true
}

attack_sip_poll() {
    gen6_reflector 70
    gen6_benign sip-poll phone python3 "$LAB/py/gen6.py" sippoll --target "${IP[srv]}" --seconds 60 --interval 0.25
}

attack_stale_telnet_clients() {
    local stale; stale=$(gen6_stale)
    gen6_aliases phone add "$stale"
    gen6_benign stale-telnet-clients phone python3 "$LAB/py/gen6.py" oneguess --target "${IP[dvr]}" \
        --bots "$stale" --creds "$LAB/data/mirai-credentials.txt" --gap 1 --rounds 5 --seed 600
    gen6_aliases phone del "$stale"
}
