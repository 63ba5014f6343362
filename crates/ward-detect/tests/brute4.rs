//! Regression tests for the fourth session's guessing shapes (issue #5
//! "generalise"): guessing spread over several sources at one device, and
//! the look-alike a house of devices with one stale password makes.

use ward_core::{Alert, AlertCategory};

mod common;
use common::{ip, tcp, End, Mac, Run, V4};

const DVR_MAC: Mac = [0xbc, 0x32, 0x5f, 0x00, 0x00, 0x50];
const DVR: V4 = [192, 168, 50, 153];
const S: i64 = 1_000_000;

fn client(i: u8) -> (Mac, V4) {
    ([0x02, 0, 0, 0, 0, i], [10, 20, 30, i])
}

/// One FTP login on its own connection: banner, USER, PASS, 530.
fn ftp_login(r: &mut Run, t: i64, c: End, user: &str, pass: &str) {
    let s: End = (DVR_MAC, DVR, 21);
    r.at(t, &tcp(c, s, 1000, "S", b""));
    r.at(t + 100, &tcp(s, c, 5000, "SA", b""));
    r.at(t + 200, &tcp(c, s, 1001, "A", b""));
    let banner = b"220 DVR FTP ready\r\n";
    r.at(t + 300, &tcp(s, c, 5001, "PA", banner));
    let mut ss = 5001 + banner.len() as u32;
    let mut cs = 1001u32;
    let user = format!("USER {user}\r\n");
    r.at(t + 400, &tcp(c, s, cs, "PA", user.as_bytes()));
    cs += user.len() as u32;
    let more = b"331 Password required\r\n";
    r.at(t + 500, &tcp(s, c, ss, "PA", more));
    ss += more.len() as u32;
    let pass = format!("PASS {pass}\r\n");
    r.at(t + 600, &tcp(c, s, cs, "PA", pass.as_bytes()));
    cs += pass.len() as u32;
    r.at(t + 700, &tcp(s, c, ss, "PA", b"530 Login incorrect\r\n"));
    r.at(t + 800, &tcp(c, s, cs, "FA", b""));
}

fn bruteforce(a: &[Alert]) -> Vec<&Alert> {
    a.iter()
        .filter(|a| a.category == AlertCategory::Bruteforce)
        .collect()
}

/// Five bots, each trying three passwords a few minutes apart (under the
/// per-client threshold of six), at one DVR's FTP login.
#[test]
fn slow_guessing_spread_over_five_sources_is_bruteforce() {
    let mut r = Run::new();
    let passwords = [
        "admin",
        "12345",
        "888888",
        "vizxv",
        "xc3511",
        "hi3518",
        "jvbzd",
        "anko",
        "7ujMko0admin",
        "default",
        "1111",
        "54321",
        "root",
        "user",
        "pass",
    ];
    for (i, pw) in passwords.iter().enumerate() {
        let bot = (i % 5) as u8 + 1;
        let (mac, a) = client(bot);
        let t = S + i as i64 * 100 * S; // one guess every 100 s in all
        ftp_login(&mut r, t, (mac, a, 40000 + i as u16), "root", pw);
    }
    let a = r.alerts();
    let b = bruteforce(&a);
    let d = b
        .iter()
        .find(|a| a.signature == "distributed-bruteforce")
        .unwrap_or_else(|| panic!("{a:?}"));
    assert_eq!(d.victims, vec![ip(DVR)]);
    // No single bot crossed the per-client threshold.
    assert!(
        b.iter().all(|a| a.signature == "distributed-bruteforce"),
        "{b:?}"
    );
}

/// Twelve cameras recording to the DVR's FTP, each with its own account,
/// keep retrying after the DVR's passwords were reset: each repeats its one
/// stale credential every 30 s for an hour.
#[test]
fn devices_each_repeating_one_stale_password_are_quiet() {
    let mut r = Run::new();
    for round in 0..120i64 {
        for cam in 1..=12u8 {
            let (mac, a) = client(cam);
            let t = S + round * 30 * S + i64::from(cam) * 10_000;
            ftp_login(
                &mut r,
                t,
                (mac, a, 30000 + (round as u16) * 16 + u16::from(cam)),
                &format!("cam{cam}"),
                "oldpassword",
            );
        }
    }
    let a = r.alerts();
    assert!(
        a.iter().all(|a| a.signature != "distributed-bruteforce"),
        "{a:?}"
    );
}

/// distributed_clients = 0 turns the check off.
#[test]
fn distributed_clients_zero_turns_it_off() {
    let cfg = serde_json::json!({ "bruteforce": { "distributed_clients": 0 } });
    let mut r = Run::with(Some(&cfg));
    for i in 0..15u16 {
        let (mac, a) = client((i % 5) as u8 + 1);
        ftp_login(
            &mut r,
            S + i64::from(i) * 100 * S,
            (mac, a, 40000 + i),
            "root",
            &format!("pw{i}"),
        );
    }
    let a = r.alerts();
    assert!(bruteforce(&a).is_empty(), "{a:?}");
}
