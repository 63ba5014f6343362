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
    let run_with = |gap_us: i64| {
        let mut run = Run::new();
        let (c, s) = (ATK_END, CAM_WEB);
        run.at(0, &tcp(c, s, 1000, "S", b""));
        run.at(100, &tcp(s, c, 5000, "SA", b""));
        run.at(200, &tcp(c, s, 1001, "A", b""));
        run.at(300, &tcp(c, s, 1001, "PA", head.as_bytes()));
        run.at(
            300 + gap_us,
            &tcp(c, s, 1001 + head.len() as u32, "PA", upload.as_bytes()),
        );
        run.alerts()
            .into_iter()
            .filter(|a| a.category == AlertCategory::Exploit)
            .map(|a| a.signature)
            .collect::<Vec<_>>()
    };
    assert_eq!(run_with(400), ["web-shell-upload"]);
    // A body that never belonged to the head (long after it) is not read.
    assert!(run_with(30_000_000).is_empty());
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
