#!/usr/bin/env bash
# Install what lab/run needs (Debian/Ubuntu, as root). Idempotent: installs
# only missing packages, then checks the few facts the lab depends on.
set -euo pipefail
((EUID == 0)) || { echo "run as root" >&2; exit 1; }

# package:command-it-provides
NEED=(
    iproute2:ip ethtool:ethtool util-linux:unshare python3:python3 curl:curl
    tcpdump:tcpdump tshark:tshark wireshark-common:reordercap
    nmap:nmap hydra:hydra hping3:hping3 dsniff:arpspoof
    mosquitto:mosquitto mosquitto-clients:mosquitto_pub
    busybox-static:busybox dropbear-bin:dropbear dnsmasq-base:dnsmasq
    ntpsec-ntpdig:ntpdig
    vsftpd:vsftpd lighttpd:lighttpd
    # scenario variants
    masscan:masscan memcached:memcached slowhttptest:slowhttptest
    # lib/web5.sh (web scanners)
    dirb:dirb gobuster:gobuster wfuzz:wfuzz sqlmap:sqlmap
    # lib/scan5.sh (scanners)
    zmap:zmap
)
missing=()
for item in "${NEED[@]}"; do
    command -v "${item#*:}" >/dev/null 2>&1 || missing+=("${item%%:*}")
done
# Debian's dynamic busybox has no telnetd applet; busybox-static has.
# (The applet list goes through a variable: grep -q exiting early would
# SIGPIPE busybox and fail the pipeline under pipefail.)
applets=$(busybox --list 2>/dev/null || true)
grep -qx telnetd <<<"$applets" || missing+=(busybox-static)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Daemon packages (mosquitto, vsftpd, lighttpd, memcached) start their services on
    # install where an init system runs; the lab and the tests start their
    # own copies inside namespaces, so forbid that (policy-rc.d exit 101)
    # unless the machine already has its own policy.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
applets=$(busybox --list)
for applet in telnetd httpd udhcpc mkpasswd; do
    grep -qx "$applet" <<<"$applets" || { echo "busybox lacks $applet" >&2; exit 1; }
done
echo "lab tools ready"
