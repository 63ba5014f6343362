# shellcheck shell=bash
# The devices' real software: dnsmasq, SNTP, mosquitto, busybox httpd and
# telnetd, dropbear, udhcpc, and each device's benign schedule.

# Start a long-running process in a node's namespace; its pid goes to PIDS.
# ip netns exec, unshare and sh all exec in place, so $! is the tool's own pid
# (a function run with & would leave a subshell's pid instead). Background
# commands ignore SIGINT in a script: stop them with SIGTERM.
bg() {
    local node=$1 logname=$2; shift 2
    ip netns exec "$(ns "$node")" unshare --uts sh -c 'hostname "$0"; exec "$@"' \
        "${HOSTNAME_OF[$node]:-$node}" "$@" >>"$W/logs/$logname.log" 2>&1 &
    PIDS[$logname]=$!
}

# A crypt(3) SHA-512 hash, the format /etc/shadow uses on these firmwares.
hash_pw() { busybox mkpasswd -m sha512 "$1"; }

# Accounts for one device: /etc/netns/NS/{passwd,shadow} are bind-mounted over
# /etc by `ip netns exec`, so dropbear and login see them and the host's don't change.
device_accounts() {
    local node=$1; shift
    local dir="/etc/netns/$(ns "$node")" user pw home
    : >"$dir/passwd"; : >"$dir/shadow"
    while (($#)); do
        user=$1 pw=$2 home=$3; shift 3
        printf '%s:x:0:0:%s:%s:/bin/sh\n' "$user" "$user" "$home" >>"$dir/passwd"
        printf '%s:%s:19000:0:99999:7:::\n' "$user" "$(hash_pw "$pw")" >>"$dir/shadow"
    done
    chmod 600 "$dir/shadow"
}

start_gateway() {
    mkdir -p "$W/gw/www"
    nsq gw ip addr add "$GW_IP/24" dev eth0
    printf '%s gateway\n' "$GW_IP" >"$W/gw/hosts"
    local host_records=() i=10 name
    # Vendor-cloud names the devices look up. The lab has no internet, so the
    # gateway answers them itself with TEST-NET-3 addresses (RFC 5737), which
    # nothing routes; the lookups are real, no connection can follow.
    for name in deb.debian.org archive.raspberrypi.org dev.hik-connect.com time.windows.com \
        www.easy4ipcloud.com n-devs.tplinkcloud.com use1-api.tplinkra.com ws.meethue.com \
        diag.meethue.com connectivitycheck.gstatic.com clients3.google.com mtalk.google.com \
        www.apple.com; do
        host_records+=("--host-record=$name,203.0.113.$i"); i=$((i + 1))
    done
    bg gw gw-dnsmasq dnsmasq -k --conf-file=/dev/null --user=root --group=root \
        --interface=eth0 --bind-interfaces --no-resolv --no-hosts --addn-hosts="$W/gw/hosts" \
        --domain=home.lan --local=/home.lan/ --expand-hosts \
        --dhcp-range="$NET.100,$NET.199,255.255.255.0,5m" --dhcp-authoritative --no-ping \
        --dhcp-leasefile="$W/gw/leases" \
        --dhcp-option=option:router,"$GW_IP" --dhcp-option=option:dns-server,"$GW_IP" \
        --dhcp-option=option:ntp-server,"$GW_IP" "${host_records[@]}" \
        --log-queries --log-dhcp --log-facility=-
    bg gw gw-ntpd python3 "$LAB/py/ntpd.py" "$GW_IP"
    cat >"$W/gw/www/index.html" <<'HTML'
<html><head><title>EdgeRouter X</title></head><body><h1>EdgeOS</h1><form action="/login" method="post">
<input name="username"><input type="password" name="password"></form></body></html>
HTML
    bg gw gw-httpd busybox httpd -f -p "$GW_IP:80" -h "$W/gw/www"
}

# DHCP on every node but the gateway: busybox udhcpc sending the device's
# hostname (option 12) and vendor class (option 60); lab/lib/udhcpc.script
# applies the address and never a default route.
start_dhcp_clients() {
    local node vc
    for node in "${DEVICE_NODES[@]}"; do
        vc=${VENDOR_CLASS[$node]}
        local args=(-f -i eth0 -s "$LAB/lib/udhcpc.script" -x "hostname:${HOSTNAME_OF[$node]}" -t 10 -T 2 -A 3)
        [[ $vc != - ]] && args+=(-V "${vc//_/ }")
        bg "$node" "dhcp-$node" env LAB_LEASE_FILE="$W/leases/$node" busybox udhcpc "${args[@]}"
    done
}

wait_for_leases() {
    local deadline=$((SECONDS + 30)) node missing
    while ((SECONDS < deadline)); do
        missing=()
        for node in "${DEVICE_NODES[@]}"; do [[ -s $W/leases/$node ]] || missing+=("$node"); done
        ((${#missing[@]} == 0)) && break
        sleep 0.5
    done
    ((${#missing[@]} == 0)) || die "no DHCP lease for: ${missing[*]}"
    : >"$W/addresses"
    printf 'gw %s\n' "$GW_IP" >>"$W/addresses"
    for node in "${DEVICE_NODES[@]}"; do
        IP[$node]=$(cat "$W/leases/$node")
        printf '%s %s\n' "$node" "${IP[$node]}" >>"$W/addresses"
    done
    IP[gw]=$GW_IP
}

start_broker() {
    mkdir -p "$W/srv"
    tr ' ' ':' <"$W/cfg/mqtt-users.txt" >"$W/srv/passwd"
    mosquitto_passwd -U "$W/srv/passwd"
    cat >"$W/srv/mosquitto.conf" <<EOF2
user root
listener 1883 0.0.0.0
allow_anonymous false
password_file $W/srv/passwd
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
EOF2
    bg srv srv-mosquitto mosquitto -c "$W/srv/mosquitto.conf"
}

start_camera() {
    local www="$W/cam/www"
    mkdir -p "$www/ISAPI/System" "$www/ISAPI/Streaming/channels/101" "$W/cam/home"
    cat >"$www/index.html" <<'HTML'
<!DOCTYPE html><html><head><title>HIKVISION</title></head><body><script>location.href="/doc/page/login.asp"</script></body></html>
HTML
    cat >"$www/upnpdevicedesc.xml" <<XML
<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType><friendlyName>DS-2CD2042WD - C12345678</friendlyName>
<manufacturer>Hikvision</manufacturer><modelName>DS-2CD2042WD</modelName><serialNumber>C12345678</serialNumber></device></root>
XML
    cat >"$www/ISAPI/System/deviceInfo" <<'XML'
<?xml version="1.0" encoding="UTF-8"?><DeviceInfo version="1.0"><deviceName>IP CAMERA</deviceName><model>DS-2CD2042WD</model><firmwareVersion>V5.4.5</firmwareVersion></DeviceInfo>
XML
    # A snapshot-sized body so the phone's polling looks like image fetches.
    python3 -c "import random,sys; r=random.Random($SEED); sys.stdout.buffer.write(b'\xff\xd8\xff\xe0'+bytes(r.randrange(256) for _ in range(24000))+b'\xff\xd9')" \
        >"$www/ISAPI/Streaming/channels/101/picture"
    printf '/ISAPI:admin:12345\n/doc:admin:12345\n' >"$W/cam/httpd.conf"
    bg cam cam-httpd busybox httpd -f -p 80 -h "$www" -c "$W/cam/httpd.conf" -r "DS-2CD2042WD"
    device_accounts cam root "Cam-r00t-$SEED" /root admin 12345 "$W/cam/home"
    dropbearkey -t ecdsa -s 256 -f "$W/cam/hostkey" >/dev/null 2>&1
    bg cam cam-dropbear dropbear -F -E -p 22 -r "$W/cam/hostkey" -P "$W/cam/dropbear.pid"
    # SNMP agent with the factory community "public", as on many cameras: the
    # reflector for snmp-reflection (nothing in the benign schedule polls it).
    bg cam cam-snmpd python3 "$LAB/py/snmpd.py" "${IP[cam]}" hikvision-cam "Hikvision DS-2CD2042WD V5.4.5 build 170124"
}

start_dvr() {
    mkdir -p "$W/dvr/root"
    printf '\r\nDahua DVR\r\n\r\n' >"$W/dvr/issue"
    # One login attempt per connection, as on many DVR firmwares; this is also
    # what Mirai does, and hydra's telnet module garbles a second attempt on one
    # connection. No '/ # $ % >' before login: hydra would read them as a shell.
    cat >"$W/dvr/login" <<EOF2
#!/bin/busybox sh
printf '%s login: ' "\$(hostname)"
read -r user
printf 'Password: '
stty -echo 2>/dev/null
read -r pass
stty echo 2>/dev/null
printf '\r\n'
if [ "\$user" = root ] && [ "\$pass" = vizxv ]; then
    cd "$W/dvr/root"
    export HOME="$W/dvr/root" PS1='# ' PATH=/usr/sbin:/usr/bin:/sbin:/bin
    exec /bin/busybox sh
fi
sleep 1
printf 'Login incorrect\r\n'
exit 1
EOF2
    chmod 755 "$W/dvr/login"
    bg dvr dvr-telnetd busybox telnetd -F -p 23 -l "$W/dvr/login" -f "$W/dvr/issue"
}

start_hub() {
    mkdir -p "$W/hub/www"
    cat >"$W/hub/www/description.xml" <<XML
<?xml version="1.0" encoding="UTF-8" ?><root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<URLBase>http://${IP[hub]}:80/</URLBase><device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>
<friendlyName>Philips hue (${IP[hub]})</friendlyName><manufacturer>Signify</manufacturer><modelName>Philips hue bridge 2015</modelName>
<modelNumber>BSB002</modelNumber><serialNumber>0017886a1b2c</serialNumber></device></root>
XML
    bg hub hub-httpd busybox httpd -f -p 80 -h "$W/hub/www"
}

start_benign() {
    local node
    for node in "${DEVICE_NODES[@]}"; do
        [[ -f $W/cfg/$node.json ]] || continue
        bg "$node" "benign-$node" env PYTHONPATH="$LAB/py" python3 -u "$LAB/py/benign.py" "$W/cfg/$node.json"
    done
}
