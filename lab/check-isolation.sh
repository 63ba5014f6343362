#!/usr/bin/env bash
# Isolation check for lab namespaces (lab/run also checks after setup, after
# DHCP and after every attack).
#   lab/check-isolation.sh PREFIX          every namespace named PREFIX* has no
#                                         default route (IPv4 or IPv6) and no
#                                         route outside 192.168.50.0/24 and 224/4
#   lab/check-isolation.sh --none-left PREFIX   no namespace named PREFIX* exists
# Exit 0 when the property holds.
set -uo pipefail
if [[ ${1:-} == --none-left ]]; then
    left=$(ip netns list | awk '{print $1}' | grep "^${2:?prefix}" || true)
    [[ -z $left ]] && { echo "no namespace with prefix $2"; exit 0; }
    echo "left behind: $left" >&2; exit 1
fi
prefix=${1:?usage: check-isolation.sh PREFIX | --none-left PREFIX}
rc=0 n=0
for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix"); do
    n=$((n + 1))
    if [[ -n $(ip -n "$ns" route show default) || -n $(ip -n "$ns" -6 route show default) ]]; then
        echo "$ns: default route present" >&2; rc=1
    fi
    extra=$(ip -n "$ns" -4 route show | grep -vE '^(192\.168\.50\.0/24|224\.0\.0\.0/4) ' || true)
    [[ -n $extra ]] && { echo "$ns: unexpected routes: $extra" >&2; rc=1; }
done
echo "checked $n namespaces with prefix $prefix: $([[ $rc == 0 ]] && echo isolated || echo NOT isolated)"
exit $rc
