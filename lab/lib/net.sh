# shellcheck shell=bash
# Namespaces, the bridge, isolation checks and teardown.
#
# Every namespace is named "$PREFIX<node>" with PREFIX unique per run, so
# parallel runs never collide, and cleanup only ever touches its own.

ns() { printf '%s%s' "$PREFIX" "$1"; }

# Run a command inside node $1's namespace with hostname $HOSTNAME_OF[$1]:
# a private UTS namespace, so busybox login prompts and DHCP see the device's name.
nsx() {
    local node=$1; shift
    ip netns exec "$(ns "$node")" unshare --uts sh -c 'hostname "$0"; exec "$@"' \
        "${HOSTNAME_OF[$node]:-$node}" "$@"
}

# The same without a private hostname (cheap; for ip/sysctl/ethtool).
# Offloads are switched off on both veth ends (make_node) so the capture holds
# real frames with real checksums, not 64 KB super-frames.
nsq() { local node=$1; shift; ip netns exec "$(ns "$node")" "$@"; }

make_switch() {
    ip netns add "$(ns sw)"
    NODES+=(sw)
    nsq sw sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    nsq sw ip link set lo up
    # STP off and no forward delay: ports forward at once; snooping off so
    # multicast (mDNS/SSDP) floods like on a home switch without a querier.
    nsq sw ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    nsq sw ip link set br0 up
}

# make_node NODE MAC: a namespace whose eth0 is one end of a veth pair, the
# other end being port p-NODE on the bridge. The pair is created directly in
# the two namespaces, so it never exists in the host's namespace.
make_node() {
    local node=$1 mac=$2
    ip netns add "$(ns "$node")"
    NODES+=("$node")
    mkdir -p "/etc/netns/$(ns "$node")"
    # ip netns exec bind-mounts these over /etc in the device's namespace:
    # the resolver asks the lab gateway, and the device has its own accounts.
    printf 'nameserver %s\nsearch home.lan\n' "$GW_IP" >"/etc/netns/$(ns "$node")/resolv.conf"
    ip link add name eth0 address "$mac" netns "$(ns "$node")" type veth \
        peer name "p-$node" netns "$(ns sw)"
    nsq sw ip link set "p-$node" master br0 up
    nsq sw ethtool -K "p-$node" tx off rx off tso off gso off gro off >/dev/null
    nsq "$node" ethtool -K eth0 tx off rx off tso off gso off gro off >/dev/null
    nsq "$node" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_echo_ignore_broadcasts=1
    nsq "$node" ip link set lo up
    nsq "$node" ip link set eth0 up
    # No default route anywhere: only the lab subnet and multicast are reachable.
    nsq "$node" ip route add 224.0.0.0/4 dev eth0
}

# Fails (non-zero) if any of this run's namespaces has a default route or a
# route outside the lab subnet and multicast.
check_isolation() {
    local node bad=0 routes
    for node in "${NODES[@]}"; do
        routes=$(nsq "$node" ip -4 route show table all 2>/dev/null |
            grep -vE "^(local|broadcast|multicast) " |
            grep -vE "^($LAB_NET_RE|224\.0\.0\.0/4) " || true)
        # $(...) rather than "| grep -q": under pipefail an early grep exit
        # could SIGPIPE ip and turn a found route into "no route".
        if [[ -n $(nsq "$node" ip -4 route show default) ||
            -n $(nsq "$node" ip -6 route show default 2>/dev/null) || -n $routes ]]; then
            echo "isolation: $(ns "$node") has a route out: $(nsq "$node" ip route show default) $routes" >&2
            bad=1
        fi
    done
    return $bad
}

kill_ns_procs() {
    local sig=$1 node pids
    for node in "${NODES[@]}"; do
        pids=$(ip netns pids "$(ns "$node")" 2>/dev/null || true)
        [[ -n $pids ]] && kill "-$sig" $pids 2>/dev/null
    done
    return 0
}

teardown_namespaces() {
    local node i
    kill_ns_procs TERM
    for i in 1 2 3 4 5 6 7 8 9 10; do
        local left=0
        for node in "${NODES[@]}"; do
            [[ -n $(ip netns pids "$(ns "$node")" 2>/dev/null) ]] && left=1
        done
        ((left)) || break
        sleep 0.3
    done
    kill_ns_procs KILL
    for node in "${NODES[@]}"; do
        ip netns del "$(ns "$node")" 2>/dev/null
        rm -rf "/etc/netns/$(ns "$node")"
    done
    # Belt and braces: anything with our prefix that a failed setup left behind.
    ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX" | while read -r n; do
        pids=$(ip netns pids "$n" 2>/dev/null); [[ -n $pids ]] && kill -9 $pids 2>/dev/null
        ip netns del "$n" 2>/dev/null; rm -rf "/etc/netns/$n"
    done
    return 0
}
