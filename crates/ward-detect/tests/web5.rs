//! Web vulnerability scans and web injection attempts (issue #5, fifth
//! session), whole engine, frames built in code: the shapes dirb, gobuster,
//! wfuzz, nikto and sqlmap produce against a camera's web server, and the
//! benign look-alikes that must stay quiet (a browser loading the UI, an app
//! polling one API, a UPnP control point, a client retrying a missing file,
//! ordinary form posts and searches).

mod common;

use common::lan50::*;
use common::{ip, tcp, End, Run};
use ward_core::{Alert, AlertCategory};

/// One keep-alive HTTP connection from `c` to `s`: handshake, then each
/// (request, status) pair as a request segment and a response segment,
/// `gap_us` apart, starting at `t`. Returns the time after the last one.
fn conversation(
    run: &mut Run,
    c: End,
    s: End,
    t: i64,
    gap_us: i64,
    exchanges: &[(Vec<u8>, u16)],
) -> i64 {
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    run.at(t, &tcp(c, s, cseq, "S", b""));
    run.at(t + 100, &tcp(s, c, sseq, "SA", b""));
    cseq += 1;
    sseq += 1;
    run.at(t + 200, &tcp(c, s, cseq, "A", b""));
    let mut now = t + 300;
    for (req, status) in exchanges {
        run.at(now, &tcp(c, s, cseq, "PA", req));
        cseq = cseq.wrapping_add(req.len() as u32);
        let body = b"<html>x</html>";
        let resp = format!(
            "HTTP/1.1 {status} X\r\nServer: httpd\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut r = resp.into_bytes();
        r.extend_from_slice(body);
        run.at(now + 500, &tcp(s, c, sseq, "PA", &r));
        sseq = sseq.wrapping_add(r.len() as u32);
        now += gap_us;
    }
    now
}

fn get(path: &str, ua: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: cam\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n")
        .into_bytes()
}

fn post(path: &str, ua: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: cam\r\nUser-Agent: {ua}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";
const ATK_END: End = (ATK_MAC, ATK, 40000);
const PHONE_END: End = (PHONE_MAC, PHONE, 41000);
const CAM_WEB: End = (CAM_MAC, CAM, 80);

/// Words from dirb's small list, as paths.
const WORDS: &[&str] = &[
    "admin",
    "backup",
    "cgi-bin",
    "config",
    "data",
    "db",
    "debug",
    "dev",
    "download",
    "files",
    "images",
    "include",
    "install",
    "lib",
    "log",
    "logs",
    "old",
    "private",
    "scripts",
    "setup",
    "sql",
    "src",
    "stats",
    "system",
    "temp",
    "test",
    "tmp",
    "upload",
    "uploads",
    "user",
    "web",
    "webadmin",
    "wp-admin",
    "xml",
    "phpmyadmin",
    "server-status",
    ".git",
    ".env",
    "api",
    "shell",
];

fn webscans(alerts: &[Alert]) -> Vec<&Alert> {
    alerts
        .iter()
        .filter(|a| a.signature == "web-vulnerability-scan")
        .collect()
}

#[test]
fn dir_buster_with_a_browser_user_agent_is_a_web_vulnerability_scan() {
    let mut run = Run::new();
    let reqs: Vec<(Vec<u8>, u16)> = WORDS
        .iter()
        .map(|w| {
            (
                get(&format!("/{w}"), FIREFOX),
                if *w == "cgi-bin" { 403 } else { 404 },
            )
        })
        .collect();
    conversation(&mut run, ATK_END, CAM_WEB, 0, 20_000, &reqs);
    let alerts = run.alerts();
    let scans = webscans(&alerts);
    assert_eq!(scans.len(), 1, "{alerts:#?}");
    let a = scans[0];
    assert_eq!(a.category, AlertCategory::Recon);
    assert_eq!(a.attacker, Some(ip(ATK)));
    assert_eq!(a.victims, vec![ip(CAM)]);
    assert!(!a.evidence.contains_key("tool"), "{a:?}");
    assert!(a.evidence["distinct_paths"].as_u64().unwrap() >= 25);
}

#[test]
fn a_scanner_that_names_itself_needs_half_the_evidence() {
    let mut run = Run::new();
    let reqs: Vec<(Vec<u8>, u16)> = WORDS[..14]
        .iter()
        .map(|w| (get(&format!("/{w}"), "Wfuzz/3.1.0"), 404))
        .collect();
    conversation(&mut run, ATK_END, CAM_WEB, 0, 20_000, &reqs);
    let alerts = run.alerts();
    let scans = webscans(&alerts);
    assert_eq!(scans.len(), 1, "{alerts:#?}");
    assert_eq!(scans[0].evidence["tool"], "wfuzz");
    // The same 14 guesses from a browser are not enough.
    let mut run = Run::new();
    let reqs: Vec<(Vec<u8>, u16)> = WORDS[..14]
        .iter()
        .map(|w| (get(&format!("/{w}"), FIREFOX), 404))
        .collect();
    conversation(&mut run, ATK_END, CAM_WEB, 0, 20_000, &reqs);
    assert!(webscans(&run.alerts()).is_empty());
}

#[test]
fn a_browser_loading_a_camera_ui_is_not_a_scan() {
    // 60 distinct assets in 3 s, nearly all 200/304, two missing files.
    let mut run = Run::new();
    let mut reqs: Vec<(Vec<u8>, u16)> = (0..60)
        .map(|i| {
            let p = format!("/doc/ui/{}.{}", i, ["js", "css", "png"][i % 3]);
            (get(&p, FIREFOX), if i % 4 == 0 { 304 } else { 200 })
        })
        .collect();
    reqs.push((get("/favicon.ico", FIREFOX), 404));
    reqs.push((get("/doc/i18n/zh.json", FIREFOX), 404));
    conversation(&mut run, PHONE_END, CAM_WEB, 0, 50_000, &reqs);
    assert!(webscans(&run.alerts()).is_empty());
}

#[test]
fn pollers_retries_and_upnp_control_points_are_not_scans() {
    let mut run = Run::new();
    // An app polling one API with a cache-buster, every answer an error
    // (the API moved): one path.
    let poll: Vec<(Vec<u8>, u16)> = (0..120)
        .map(|i| {
            (
                get(
                    &format!("/ISAPI/Event/notification/alertStream?t={i}"),
                    "okhttp/4.9.2",
                ),
                404,
            )
        })
        .collect();
    let t = conversation(&mut run, PHONE_END, CAM_WEB, 0, 200_000, &poll);
    // A broken client retrying one missing file.
    let retry: Vec<(Vec<u8>, u16)> = (0..60)
        .map(|_| (get("/favicon.ico", "curl/7.88.1"), 404))
        .collect();
    let t = conversation(
        &mut run,
        (PHONE_MAC, PHONE, 41001),
        CAM_WEB,
        t,
        500_000,
        &retry,
    );
    // A UPnP control point fetching descriptions and control URLs, some
    // of them missing, again and again.
    let upnp: Vec<(Vec<u8>, u16)> = (0..80)
        .map(|i| {
            let p = [
                "/description.xml",
                "/upnpdevicedesc.xml",
                "/rootDesc.xml",
                "/upnp/control/basicevent1",
                "/eventservice.xml",
            ][i % 5];
            (
                get(p, "UPnP/1.0 DLNADOC/1.50 Platinum/1.0.5.13"),
                if i % 5 >= 2 { 404 } else { 200 },
            )
        })
        .collect();
    let t = conversation(
        &mut run,
        (PHONE_MAC, PHONE, 41002),
        CAM_WEB,
        t,
        100_000,
        &upnp,
    );
    // An NVR app asking for the thumbnails of 60 recordings that were
    // deleted: 60 distinct paths, every answer a 404, but one shape.
    let thumbs: Vec<(Vec<u8>, u16)> = (0..60)
        .map(|i| {
            (
                get(
                    &format!("/rec/thumb/20261127_{:04}.jpg", 1000 + i * 7),
                    "okhttp/4.9.2",
                ),
                404,
            )
        })
        .collect();
    conversation(
        &mut run,
        (PHONE_MAC, PHONE, 41003),
        CAM_WEB,
        t,
        50_000,
        &thumbs,
    );
    let alerts = run.alerts();
    assert!(webscans(&alerts).is_empty(), "{alerts:#?}");
    assert!(
        alerts.iter().all(|a| a.category != AlertCategory::Exploit),
        "{alerts:#?}"
    );
}

/// The exploit signatures raised when a client sends `head` in one segment
/// and `body` in the next, `gap_us` later, on an established connection.
fn head_then_body(head: &str, body: &str, gap_us: i64) -> Vec<String> {
    let mut run = Run::new();
    let (c, s) = (ATK_END, CAM_WEB);
    run.at(0, &tcp(c, s, 1000, "S", b""));
    run.at(100, &tcp(s, c, 5000, "SA", b""));
    run.at(200, &tcp(c, s, 1001, "A", b""));
    run.at(300, &tcp(c, s, 1001, "PA", head.as_bytes()));
    run.at(
        300 + gap_us,
        &tcp(c, s, 1001 + head.len() as u32, "PA", body.as_bytes()),
    );
    run.alerts()
        .into_iter()
        .filter(|a| a.category == AlertCategory::Exploit)
        .map(|a| a.signature)
        .collect()
}

fn exploit_signatures(exchanges: &[(Vec<u8>, u16)]) -> Vec<String> {
    let mut run = Run::new();
    conversation(&mut run, ATK_END, CAM_WEB, 0, 300_000, exchanges);
    let mut s: Vec<String> = run
        .alerts()
        .into_iter()
        .filter(|a| a.category == AlertCategory::Exploit)
        .inspect(|a| {
            assert_eq!(a.attacker, Some(ip(ATK)));
            assert_eq!(a.victims, vec![ip(CAM)]);
        })
        .map(|a| a.signature)
        .collect();
    s.sort();
    s
}

#[test]
fn each_injection_kind_is_one_exploit_incident_per_attacker_and_victim() {
    let sqli: Vec<(Vec<u8>, u16)> = [
        "/index.html?id=1%20AND%204521%3D4521",
        "/index.html?id=1%27%20AND%20%27Xyzq%27%3D%27Xyzq",
        "/index.html?id=1%20UNION%20ALL%20SELECT%20NULL%2CNULL--%20-",
        "/index.html?id=1%20AND%20(SELECT%207531%20FROM%20(SELECT(SLEEP(1)))abc)",
        "/login.php?user=admin'+or+'1'='1&pass=x",
    ]
    .iter()
    .map(|p| (get(p, FIREFOX), 404))
    .collect();
    assert_eq!(exploit_signatures(&sqli), ["web-sql-injection"]);

    let cmdi: Vec<(Vec<u8>, u16)> = [
        "/cgi-bin/ping.cgi?ip=127.0.0.1;id",
        "/cgi-bin/ping.cgi?ip=127.0.0.1%3Bcat%20/etc/passwd",
        "/cgi-bin/ping.cgi?ip=%24(id)",
        "/cgi-bin/ping.cgi?ip=%60id%60",
        "/api/ping?addr=127.0.0.1%0aid",
        "/cgi-bin/test.cgi?q=1;sleep+5",
        "/cgi-bin/status?x=()%20%7B%20%3A%3B%20%7D%3B%20/bin/id",
    ]
    .iter()
    .map(|p| (get(p, FIREFOX), 404))
    .collect();
    assert_eq!(exploit_signatures(&cmdi), ["web-command-injection"]);
    // In a form body and as Shellshock in the User-Agent.
    assert_eq!(
        exploit_signatures(&[(
            post(
                "/cgi-bin/ping.cgi",
                FIREFOX,
                "ipaddr=127.0.0.1%3Bcat+%2Fetc%2Fpasswd&submit=Ping"
            ),
            200
        )]),
        ["web-command-injection"]
    );
    assert_eq!(
        exploit_signatures(&[(
            get(
                "/cgi-bin/status",
                "() { :;}; echo; /bin/bash -c 'cat /etc/passwd'"
            ),
            404
        )]),
        ["web-command-injection"]
    );

    let traversal: Vec<(Vec<u8>, u16)> = [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/cgi-bin/..%2f..%2f..%2fetc/passwd",
        "/img/..%5c..%5c..%5cwindows/win.ini",
        "/view.php?page=....//....//....//etc/passwd",
        "/download?file=../etc/shadow",
    ]
    .iter()
    .map(|p| (get(p, FIREFOX), 404))
    .collect();
    assert_eq!(exploit_signatures(&traversal), ["web-path-traversal"]);

    let xss: Vec<(Vec<u8>, u16)> = [
        "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
        "/login?user=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
        "/index.html?lang=%22%3E%3Csvg/onload=alert(1)%3E",
        "/page?redirect=javascript:alert(1)",
    ]
    .iter()
    .map(|p| (get(p, FIREFOX), 404))
    .collect();
    assert_eq!(exploit_signatures(&xss), ["web-xss"]);

    let upload = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shell.php\"\r\nContent-Type: application/x-php\r\n\r\n<?php if(isset($_REQUEST[\"cmd\"])){ system($_REQUEST[\"cmd\"]); } ?>\r\n--x--\r\n";
    assert_eq!(
        exploit_signatures(&[(post("/upload.php", FIREFOX, upload), 404)]),
        ["web-shell-upload"]
    );
}

#[test]
fn ordinary_queries_and_forms_are_not_injections() {
    let benign: Vec<(Vec<u8>, u16)> = [
        get("/search?q=cats%3B%20dogs%20and%20more", FIREFOX),
        get("/api/list?sort=name&order=desc&id=3&ls=1", FIREFOX),
        get("/search?q=it%27s+fine+and+1+more", FIREFOX),
        get("/ISAPI/System/time?format=json&tz=CST-8:00:00", FIREFOX),
        get("/static/js/app.js?v=3.2.1&cache=1", FIREFOX),
        get("/cgi-bin/luci/admin/status?x=a|b", FIREFOX),
        get("/docs/select-from-list.html?sleep=10", FIREFOX),
        get("/api/v1/script?name=onload", FIREFOX),
        get("/index.html?redirect=/doc/page/login.asp%3F_1700000000", FIREFOX),
        post("/api/comment", FIREFOX, "comment=I+like+dogs%3B+cat+lovers+too%2C+and+1+%3D+1+is+true&name=O%27Brien"),
        post("/api/login", FIREFOX, "user=admin&password=p%40ss%3Bword%7C1"),
        post("/soap", FIREFOX, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"x\"><s:Body><u:GetStatus/></s:Body></s:Envelope>"),
        get("/api/ping?host=example.com&count=4", FIREFOX),
        // Devices write "---" for a reading they do not have.
        post("/api/v1/telemetry", "okhttp/4.9.2", "{\"temp\":\"---\",\"humidity\":\"----\",\"name\":\"Kitchen\"}"),
        get("/cgi-bin/status?label=%22---%22", FIREFOX),
        // A home-automation hub's flow deploy: JavaScript with an empty
        // function, `function () {};`, is not Shellshock's `() { :;};`.
        post("/flows", FIREFOX, "[{\"id\":\"a1\",\"type\":\"function\",\"func\":\"var noop = function () {};\\nreturn msg;\"}]"),
    ]
    .into_iter()
    .map(|r| (r, 200))
    .collect();
    for one in benign {
        let sigs = exploit_signatures(std::slice::from_ref(&one));
        assert!(
            sigs.is_empty(),
            "{sigs:?}: {}",
            String::from_utf8_lossy(&one.0)
        );
    }
}

/// curl -F, browsers and most tools write a form's head and its body
/// separately: the body arrives in the next segment, with no HTTP event.
#[test]
fn a_web_shell_in_a_body_sent_after_its_head_is_found() {
    let upload = "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shell.php\"\r\nContent-Type: application/x-php\r\n\r\n<?php if(isset($_REQUEST[\"cmd\"])){ system($_REQUEST[\"cmd\"]); } ?>\r\n--x--\r\n";
    let head = format!(
        "POST /upload.php HTTP/1.1\r\nHost: gw\r\nUser-Agent: curl/7.88.1\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n",
        upload.len()
    );
    let run_with = |gap_us: i64| head_then_body(&head, upload, gap_us);
    assert_eq!(run_with(400), ["web-shell-upload"]);
    // The HTTP parser's framing ties the body to its head (the bytes after
    // a head announcing Content-Length are its body, however slowly they
    // come), so a slow upload is read too; the detector once guessed the
    // body as the next client payload within 5 s, with no framing.
    assert_eq!(run_with(30_000_000), ["web-shell-upload"]);
}

/// Only bytes the head announced are its body: after a POST without
/// Content-Length (no body, RFC 9112 §6.3) the next client segment is not
/// read as one.
#[test]
fn a_segment_after_a_head_without_a_body_is_not_its_body() {
    let upload = "<?php system($_REQUEST[\"cmd\"]); ?>";
    let run_with = |length: &str| {
        let head = format!(
            "POST /upload.php HTTP/1.1\r\nHost: gw\r\nUser-Agent: curl/7.88.1\r\n{length}\r\n"
        );
        head_then_body(&head, upload, 400)
    };
    let announced = format!("Content-Length: {}\r\n", upload.len());
    assert_eq!(run_with(&announced), ["web-shell-upload"]);
    assert!(run_with("").is_empty());
    assert!(run_with("Content-Length: 0\r\n").is_empty());
}

/// A request the HTTP parser rejects (a space in its target, which
/// lenient embedded servers accept) is read leniently from its own
/// payload only: its body is matched when it came in that payload.
#[test]
fn a_rejected_request_is_matched_with_the_body_in_its_payload() {
    let upload = "<?php system($_REQUEST[\"cmd\"]); ?>";
    let head = format!(
        "POST /upload.php?a b HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n",
        upload.len()
    );
    let mut run = Run::new();
    let (c, s) = (ATK_END, CAM_WEB);
    run.at(0, &tcp(c, s, 1000, "S", b""));
    run.at(100, &tcp(s, c, 5000, "SA", b""));
    run.at(200, &tcp(c, s, 1001, "A", b""));
    let whole = [head.as_bytes(), upload.as_bytes()].concat();
    run.at(300, &tcp(c, s, 1001, "PA", &whole));
    let sigs: Vec<_> = run
        .alerts()
        .into_iter()
        .filter(|a| a.category == AlertCategory::Exploit)
        .map(|a| a.signature)
        .collect();
    assert_eq!(sigs, ["web-shell-upload"]);
}

/// A rejected request whose body comes in a later segment: the parser gave
/// up on the flow, so the detector reads the next client payload within
/// 5 s as its body (6faa411 lost this when it left bodies to the parser).
#[test]
fn a_rejected_request_whose_body_comes_later_is_matched() {
    let upload = "<?php system($_REQUEST[\"cmd\"]); ?>";
    let head = format!(
        "POST /upload.php?a b HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n",
        upload.len()
    );
    let run_with = |gap_us: i64| head_then_body(&head, upload, gap_us);
    assert_eq!(run_with(400), ["web-shell-upload"]);
    // The wait is bounded: only time ties a later payload to the head.
    assert!(run_with(6_000_000).is_empty());
}

/// A browser's or curl's multipart form: every field's value ends in CRLF
/// before the next `--boundary` line (browsers' and curl's boundaries begin
/// with dashes), so an empty field is a quote, blank lines and `---`, and a
/// field whose value is a word like `id` sits between two line breaks.
/// Neither is an SQL comment or a shell separator.
#[test]
fn multipart_forms_with_empty_or_one_word_fields_are_not_injections() {
    let firmware = |boundary: &str, fields: &[(&str, &str)]| {
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"fw_v1.2.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x27\x05\x19\x56firmware\r\n--{boundary}--\r\n"
        ));
        let head = format!(
            "POST /cgi-bin/luci/admin/system/flashops/sysupgrade HTTP/1.1\r\nHost: gw\r\nUser-Agent: {FIREFOX}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        (head + &body).into_bytes()
    };
    for boundary in [
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        "------------------------d74496d66958873e",
    ] {
        for fields in [
            &[("token", ""), ("keep", "")][..],
            &[("sort", "id"), ("mode", "hostname")][..],
            &[("title", "\"quoted\""), ("cmd", "ls")][..],
        ] {
            let one = (firmware(boundary, fields), 200);
            let sigs = exploit_signatures(std::slice::from_ref(&one));
            assert!(
                sigs.is_empty(),
                "{sigs:?}: {}",
                String::from_utf8_lossy(&one.0)
            );
        }
    }
}

/// A request with the given Content-Type (none when `None`) and body.
fn send(method: &str, path: &str, ctype: Option<&str>, body: &str) -> Vec<u8> {
    let ct = ctype
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: hub\r\nUser-Agent: {FIREFOX}\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn assert_quiet(reqs: Vec<Vec<u8>>) {
    for r in reqs {
        let one = (r, 200);
        let sigs = exploit_signatures(std::slice::from_ref(&one));
        assert!(
            sigs.is_empty(),
            "{sigs:?}: {}",
            String::from_utf8_lossy(&one.0)
        );
    }
}

fn assert_each(reqs: Vec<Vec<u8>>, want: &str) {
    for r in reqs {
        let one = (r, 404);
        let sigs = exploit_signatures(std::slice::from_ref(&one));
        assert_eq!(sigs, [want], "{}", String::from_utf8_lossy(&one.0));
    }
}

/// `sh` is a shell command only as a word after a separator: a list value
/// such as `plug|shelf` or `a;shade` is no dropper, `;sh /tmp/x` and a
/// trailing `|sh` are.
#[test]
fn a_pipe_or_semicolon_before_a_word_starting_with_sh_is_no_dropper() {
    assert_quiet(vec![
        post("/api/rooms", FIREFOX, "tags=plug%7Cshelf&room=kitchen"),
        post("/api/rooms", FIREFOX, "tags=plug|shelf|lamp&x=1"),
        get("/api/list?filter=lamp;shade&sort=name", FIREFOX),
        get("/api/list?filter=lamp%7C%20shower", FIREFOX),
        get("/api/scenes?names=cozy;%20sharp", FIREFOX),
        get("/api/files?path=refresh%20/tmp/cache", FIREFOX),
    ]);
    assert_each(
        vec![
            get("/cgi-bin/x.cgi?a=1;sh%20.x", FIREFOX),
            get("/cgi-bin/x.cgi?u=http://h/x%7Csh", FIREFOX),
            get("/cgi-bin/x.cgi?u=/x%20|%20sh", FIREFOX),
            post("/cgi-bin/x.cgi", FIREFOX, "host=1.2.3.4%3Bsh+/tmp/x&go=1"),
            post("/cgi-bin/x.cgi", FIREFOX, "u=/x|sh&go=1"),
        ],
        "generic-shell-download",
    );
}

/// HTML, JavaScript and shell scripts posted as content (a dashboard
/// template or a flow deployed as JSON, a script uploaded as a file or
/// PUT as text) are not injections: XSS and command injection are looked
/// for in the target and in url-encoded form bodies only.
#[test]
fn markup_and_scripts_posted_as_content_are_not_injections() {
    let template = r#"[{"id":"t1","type":"ui_template","format":"<div ng-click=\"send({payload: 1})\">On</div>\n<script>(function(scope){ scope.$watch('msg', function(m){}); })(scope);</script>"}]"#;
    let lovelace = r#"{"type":"lovelace/config/save","config":{"views":[{"cards":[{"type":"markdown","content":"<div onclick=\"toggle()\">Lights</div>"}]}]}}"#;
    let script =
        "#!/bin/sh\nset -e\necho installing\nsleep 1\nrm -rf /tmp/x\ncat /etc/os-release\nreboot\n";
    let multipart = format!(
        "--------------------------d74496d66958873e\r\nContent-Disposition: form-data; name=\"file\"; filename=\"install.sh\"\r\nContent-Type: application/x-sh\r\n\r\n{script}\r\n--------------------------d74496d66958873e--\r\n"
    );
    assert_quiet(vec![
        send("POST", "/flows", Some("application/json"), template),
        // Without a Content-Type, JSON is told by its first byte.
        send("POST", "/flows", None, template),
        send(
            "POST",
            "/api/websocket/save",
            Some("application/json; charset=utf-8"),
            lovelace,
        ),
        send(
            "POST",
            "/cgi-bin/upgrade",
            Some("multipart/form-data; boundary=------------------------d74496d66958873e"),
            &multipart,
        ),
        send("POST", "/cgi-bin/upgrade", None, &multipart),
        send(
            "PUT",
            "/scripts/install.sh",
            Some("text/x-shellscript"),
            script,
        ),
        send("PUT", "/scripts/install.sh", None, script),
    ]);
    // The same payloads in a target or a url-encoded form are attacks,
    // with or without a Content-Type.
    assert_each(
        vec![
            post(
                "/comment",
                FIREFOX,
                "text=%3Cscript%3Ealert(1)%3C%2Fscript%3E&go=1",
            ),
            send(
                "POST",
                "/comment",
                None,
                "text=<div onclick=\"alert(1)\">x</div>",
            ),
            send(
                "POST",
                "/comment",
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                "name=x&text=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
            ),
        ],
        "web-xss",
    );
    assert_each(
        vec![
            // curl --data sends it as typed (the lab's web-cmd-injection).
            post(
                "/cgi-bin/ping.cgi",
                FIREFOX,
                "ipaddr=127.0.0.1;cat /etc/passwd&submit=Ping",
            ),
            send(
                "POST",
                "/cgi-bin/ping.cgi",
                None,
                "ipaddr=127.0.0.1%0asleep+5",
            ),
            get("/api/ping?addr=127.0.0.1%0aid", FIREFOX),
        ],
        "web-command-injection",
    );
}

/// A JSON or multipart body whose head came in an earlier segment is told
/// apart the same way (curl -F, browsers).
#[test]
fn a_script_upload_whose_body_follows_its_head_is_not_an_injection() {
    let script = "#!/bin/sh\nsleep 1\nrm -rf /tmp/x\n";
    let run_with = |ctype: &str, body: &str| {
        let head = format!(
            "POST /cgi-bin/upgrade HTTP/1.1\r\nHost: gw\r\nUser-Agent: curl/7.88.1\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        head_then_body(&head, body, 400)
    };
    assert!(run_with("text/plain", script).is_empty());
    assert!(run_with("application/octet-stream", script).is_empty());
    assert_eq!(
        run_with("application/x-www-form-urlencoded", "ip=1.2.3.4%0aid"),
        ["web-command-injection"]
    );
}

/// The classic login bypass: a quote and `--` closing the value, at its
/// end or before the next field.
#[test]
fn a_quote_and_comment_at_the_end_of_a_value_is_sql_injection() {
    assert_each(
        vec![
            get("/login.php?user=admin'--&pass=x", FIREFOX),
            get("/login.php?user=admin%27--", FIREFOX),
            post("/login.php", FIREFOX, "user=admin%27--&pass=x"),
            post("/login.php", FIREFOX, "pass=x&user=admin'--"),
        ],
        "web-sql-injection",
    );
    // Dashes after a quote that do not end the value stay quiet.
    assert_quiet(vec![
        get("/api/notes?t=%27--%27", FIREFOX),
        post(
            "/api/v1/telemetry",
            "okhttp/4.9.2",
            "{\"temp\":\"--\",\"unit\":\"C\"}",
        ),
        post("/api/notes", FIREFOX, "text=it%27s---fine&x=1"),
    ]);
}
